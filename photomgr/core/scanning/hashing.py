"""Content hashes: a moved or renamed file keeps its hash, so its photo keeps its row."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from photomgr.core.imaging.files import open_photo_file

CHUNK = 1 << 20


def hash_stream(file: BinaryIO) -> str:
    """BLAKE2b-128 of a whole opened file (fast, and collisions are not a practical concern).

    Its size is bounded by `open_photo_file`'s cap, so this read is bounded too."""
    digest = hashlib.blake2b(digest_size=16)
    file.seek(0)
    while chunk := file.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def hash_file(path: Path) -> str:
    with open_photo_file(path) as fh:
        return hash_stream(fh)
