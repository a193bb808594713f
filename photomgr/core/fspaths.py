"""File paths byte for byte: how they are stored as database text, and how they are shown.

On POSIX a file name is bytes, not text. Python hands names that are not valid UTF-8 to us as
`str` with lone surrogates (PEP 383 "surrogateescape": byte 0xE9 becomes U+DCE9), and every
`open()` turns them back into the same bytes. SQLite text must be valid UTF-8, so such a path
cannot be stored as it is. `path_to_db` writes each escaped byte as U+FFFD plus two hex digits
(and a real U+FFFD as two of them), so the stored text is valid and `path_from_db` gives back
the exact path. Every path that is valid UTF-8 (almost all) is stored unchanged, so SQL range
queries on folders and other readers of the `path` column keep working as they are.

`display_path` is for people: names can hold terminal escape sequences or bidi overrides, and
printing them raw lets a file name recolour, move or rewrite what the terminal shows.
"""

from __future__ import annotations

import os

_MARK = "\ufffd"  # REPLACEMENT CHARACTER: what a reader of the raw column sees for a bad byte
_LOW, _HIGH = 0xDC80, 0xDCFF  # the lone surrogates surrogateescape produces for bytes 0x80..0xFF

# Characters that change how a terminal or a text view lays out what follows them.
_BIDI_AND_SEPARATORS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def path_to_db(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """The text stored in the database for a file-system path (see the module docstring)."""
    text = os.fsdecode(path)
    if text.isascii():
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if _LOW <= code <= _HIGH:
            out.append(f"{_MARK}{code - 0xDC00:02X}")
        elif ch == _MARK:
            out.append(_MARK + _MARK)
        else:
            out.append(ch)
    return "".join(out)


def path_from_db(text: str) -> str:
    """The exact file-system path (surrogateescape `str`) for text made by `path_to_db`."""
    if _MARK not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != _MARK:
            out.append(ch)
            i += 1
        elif text[i + 1:i + 2] == _MARK:
            out.append(_MARK)
            i += 2
        else:
            digits = text[i + 1:i + 3]
            try:
                out.append(chr(0xDC00 + int(digits, 16)) if len(digits) == 2 else ch)
            except ValueError:  # text not written by path_to_db: keep it as it is
                out.append(ch)
                i += 1
                continue
            i += 1 + len(digits)
    return "".join(out)


def display_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """A path as one safe line of text: bytes that are not UTF-8 as \\xNN, control characters
    (escape sequences, newlines, DEL, C1) and bidi overrides as \\xNN / \\uNNNN."""
    text = os.fsdecode(path)
    if text.isprintable() and text.isascii():
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if _LOW <= code <= _HIGH:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif ch in _BIDI_AND_SEPARATORS or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
