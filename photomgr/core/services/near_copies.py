"""The library's near-copy check and duplicate groups: photos compared by their cached thumbnails.

`library_duplicates` is the one implementation of "Duplicates" for the GUI and the CLI: the
threshold, which photos take part, the fingerprints and the verification all live here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from PIL import Image

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library import gallery
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.search.duplicate_threshold import DUPLICATE_THRESHOLD
from photomgr.core.search.duplicates import duplicate_groups
from photomgr.core.search.fingerprint import KIND, from_signed, phash, to_signed
from photomgr.core.search.near_copy import METHOD, NearCopyCheck

__all__ = ["DUPLICATE_THRESHOLD", "library_copy_check", "library_duplicates", "library_fingerprints"]


def _load_thumbnail(cache: ThumbnailCache, content_hash: str | None) -> Image.Image | None:
    if not content_hash:
        return None
    try:
        return cache.load(content_hash)
    except ValueError:  # not a hex hash: nothing of ours
        return None


def library_copy_check(conn: sqlite3.Connection, thumbnails_root: Path) -> NearCopyCheck:
    """A NearCopyCheck that reads each photo's thumbnail (made at indexing, keyed by content
    hash). A photo without one (the cache was cleared, the photo could not be read) is not
    verified: Find similar then keeps its embedding order for it."""
    cache = ThumbnailCache(thumbnails_root)
    photos = PhotoStore(conn)

    def load(photo_id: int) -> Image.Image | None:
        row = photos.by_id(int(photo_id))
        if row is None or row.missing:
            return None
        return _load_thumbnail(cache, row.content_hash)

    return NearCopyCheck(load)


def library_fingerprints(conn: sqlite3.Connection, thumbnails_root: Path,
                         hashes: dict[int, str]) -> dict[int, int]:
    """Fingerprint (unsigned 64-bit) by photo id for these photos; those not stored yet are made
    from their thumbnails and stored (a photo without a thumbnail has none)."""
    store = FingerprintStore(conn)
    known = store.get(KIND)
    cache = ThumbnailCache(thumbnails_root)
    made: dict[str, int] = {}
    for content_hash in sorted(set(hashes.values()) - known.keys() - {""}):
        image = _load_thumbnail(cache, content_hash)
        if image is not None:
            made[content_hash] = to_signed(phash(image))
    store.put_many(KIND, made.items())
    known.update(made)
    return {pid: from_signed(known[h]) for pid, h in hashes.items() if h in known}


def library_duplicates(conn: sqlite3.Connection, thumbnails_root: Path | None, ids: np.ndarray,
                       vectors: np.ndarray, index: VectorIndex | None,
                       threshold: float = DUPLICATE_THRESHOLD) -> list[list[int]]:
    """Groups of duplicate photo ids (see duplicate_groups) among the photos with these image
    vectors that are present and readable. Without `thumbnails_root`, only identical and
    near-identical photos are grouped (no fingerprints, no verification)."""
    hashes_by_id = gallery.content_hashes(conn)
    ids = np.asarray(ids, np.int64)
    keep = np.array([int(i) in hashes_by_id for i in ids], bool)
    ids, vectors = ids[keep], np.asarray(vectors)[keep]
    hashes = [hashes_by_id[int(i)] or "" for i in ids]
    if thumbnails_root is None or len(ids) == 0:
        return duplicate_groups(ids, hashes, vectors, threshold, index)
    by_id = library_fingerprints(conn, thumbnails_root, {int(i): h for i, h in zip(ids, hashes, strict=True)})
    fingerprints = np.array([by_id.get(int(i), 0) for i in ids], np.uint64)
    instances = None
    if index is not None:
        got = index.instance_rows(ids)
        if got is not None:
            instances = got[0]
    check = library_copy_check(conn, thumbnails_root)
    store = FingerprintStore(conn)
    known = store.checks(METHOD)
    made: list[tuple[str, str, float]] = []
    hash_of = {int(i): h for i, h in zip(ids, hashes, strict=True)}

    def verify(a: int, b: int) -> bool:
        key = tuple(sorted((hash_of[a], hash_of[b])))
        score = known.get(key)  # type: ignore[arg-type]
        if score is None:
            got = check.similarity(a, b)
            if got is None:
                return False
            score = got
            if key[0]:
                made.append((key[0], key[1], score))
        return score >= check.threshold

    try:
        return duplicate_groups(ids, hashes, vectors, threshold, index, fingerprints=fingerprints,
                                instances=instances, verify=verify)
    finally:
        store.put_checks(METHOD, made)
