"""The library's near-copy check and duplicate groups: photos compared by their cached thumbnails.

`library_duplicates` is the one implementation of "Duplicates" for the GUI and the CLI: the
threshold, which photos take part, the fingerprints and the verification all live here.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library import gallery
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.search.duplicate_threshold import DUPLICATE_THRESHOLD
from photomgr.core.search.duplicates import DuplicateStats, duplicate_groups
from photomgr.core.search.fingerprint import KIND, from_signed, phash, to_signed
from photomgr.core.search.near_copy import METHOD, NearCopyCheck

__all__ = ["DUPLICATE_THRESHOLD", "DuplicateStats", "library_copy_check", "library_duplicates",
           "library_fingerprints"]

# Threads for the near-copy checks of a first run (numpy's FFTs and Pillow release the GIL).
CHECK_WORKERS = max(1, min(4, os.cpu_count() or 1))


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
    """Fingerprint (unsigned 64-bit) by photo id for these photos. The scanner stores one with
    every thumbnail it writes; those of older libraries are made here from the cached
    thumbnails, once, and stored (a photo without a thumbnail has none)."""
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
                       threshold: float = DUPLICATE_THRESHOLD, *, workers: int = CHECK_WORKERS,
                       stats: DuplicateStats | None = None) -> list[list[int]]:
    """Groups of duplicate photo ids (see duplicate_groups) among the photos with these image
    vectors that are present and readable. Without `thumbnails_root`, only identical and
    near-identical photos are grouped (no fingerprints, no verification). `index`: the
    library's FAISS index, searched for a big library's neighbours. Every near-copy check made
    is stored: a later run checks only pairs it has not seen (`workers` threads check them).
    `stats`, when given, gets the phases' seconds ("fingerprints" among them) and counts."""
    stats = stats if stats is not None else DuplicateStats()
    started = stats.start()
    hashes_by_id = gallery.content_hashes(conn)
    ids = np.asarray(ids, np.int64)
    keep = np.array([int(i) in hashes_by_id for i in ids], bool)
    ids, vectors = ids[keep], np.asarray(vectors)[keep]
    hashes = [hashes_by_id[int(i)] or "" for i in ids]
    if thumbnails_root is None or len(ids) == 0:
        return duplicate_groups(ids, hashes, vectors, threshold, index, stats=stats)
    hash_of = {int(i): h for i, h in zip(ids, hashes, strict=True)}
    by_id = library_fingerprints(conn, thumbnails_root, hash_of)
    fingerprints = np.array([by_id.get(int(i), 0) for i in ids], np.uint64)
    instances = None
    if index is not None:
        got = index.instance_rows(ids)
        if got is not None:
            instances = got[0]
    check = library_copy_check(conn, thumbnails_root)
    store = FingerprintStore(conn)
    known = store.checks(METHOD)
    stats.timed("fingerprints", started)
    made: list[tuple[str, str, float]] = []
    made_lock = threading.Lock()

    def verify(a: int, b: int) -> bool:  # called from `workers` threads
        key = tuple(sorted((hash_of[a], hash_of[b])))
        score = known.get(key)  # type: ignore[arg-type]
        if score is None:
            got = check.similarity(a, b)
            if got is None:
                return False
            score = got
            if key[0]:
                with made_lock:
                    made.append((key[0], key[1], score))
        return score >= check.threshold

    try:
        return duplicate_groups(ids, hashes, vectors, threshold, index, fingerprints=fingerprints,
                                instances=instances, verify=verify, workers=workers, stats=stats)
    finally:
        stats.checked = len(made)
        stats.screened_out = check.screened_out
        store.put_checks(METHOD, made)
