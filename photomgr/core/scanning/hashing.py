"""Content hashes: a moved or renamed file keeps its hash, so its photo keeps its row."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def hash_file(path: Path) -> str:
    """BLAKE2b-128 of the whole file (fast, and collisions are not a practical concern)."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_head(path: Path, size: int = 64) -> bytes:
    """The first bytes of a file: enough to recognise an image format by its content."""
    with path.open("rb") as fh:
        return fh.read(size)
