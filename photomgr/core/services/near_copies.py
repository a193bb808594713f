"""The library's near-copy check: compares photos by their cached thumbnails."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PIL import Image

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.photos import PhotoStore
from photomgr.core.search.near_copy import NearCopyCheck


def library_copy_check(conn: sqlite3.Connection, thumbnails_root: Path) -> NearCopyCheck:
    """A NearCopyCheck that reads each photo's thumbnail (made at indexing, keyed by content
    hash). A photo without one (the cache was cleared, the photo could not be read) is not
    verified: Find similar then keeps its embedding order for it."""
    cache = ThumbnailCache(thumbnails_root)
    photos = PhotoStore(conn)

    def load(photo_id: int) -> Image.Image | None:
        row = photos.by_id(int(photo_id))
        if row is None or row.missing or not row.content_hash:
            return None
        try:
            return cache.load(row.content_hash)
        except ValueError:  # not a hex hash: nothing of ours
            return None

    return NearCopyCheck(load)
