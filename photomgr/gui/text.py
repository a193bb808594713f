"""Words for counts and names, so no label reads "1 photos" or cuts a name where it matters."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 photo", "2 photos", "1,024 photos" ("1 group", "3 groups")."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
