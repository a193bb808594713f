"""The library's near-copy check and duplicate groups: photos compared by their cached thumbnails.

`library_duplicates` is the one implementation of "Duplicates" for the GUI and the CLI: the
threshold, which photos take part, the fingerprints and the verification all live here.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from photomgr.core.imaging.thumbnails import GreyThumbnails, ThumbnailCache
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library import gallery
from photomgr.core.library.errors import LibraryError
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.search.coarse_copy import DESCRIPTOR_KIND, descriptor, pack, unpack
from photomgr.core.search.copy_pool import CopyPool
from photomgr.core.search.duplicate_threshold import DUPLICATE_THRESHOLD
from photomgr.core.search.duplicates import DuplicateStats, duplicate_groups
from photomgr.core.search.fingerprint import KIND, from_signed, phash, to_signed
from photomgr.core.search.near_copy import METHOD, NearCopyCheck

__all__ = ["DUPLICATE_THRESHOLD", "DuplicateStats", "LibraryDescriptors", "library_copy_check",
           "library_duplicates", "library_fingerprints"]

def _load_thumbnail(cache: ThumbnailCache, content_hash: str | None,
                    grey: bool = False) -> Image.Image | None:
    if not content_hash:
        return None
    try:
        return cache.load(content_hash, grey=grey)
    except ValueError:  # not a hex hash: nothing of ours
        return None

log = logging.getLogger(__name__)

SAVE_EVERY = 8192  # descriptors made for an older library are stored this many at a time (~22 MB)


class LibraryDescriptors:
    """Each photo's coarse near-copy descriptor from the library (stored at indexing); an older
    library's are made from its thumbnails on first use and kept in `made` until `save`. A
    stored row that cannot be a descriptor (damaged) is made again the same way; a photo whose
    thumbnail cannot be read has none (it is not verified). `hashes`: content hash by photo id
    when the caller has them (Duplicates: one query for all), else each is looked up."""

    def __init__(self, conn: sqlite3.Connection, cache: ThumbnailCache,
                 hashes: dict[int, str] | None = None) -> None:
        self._store = FingerprintStore(conn)
        self._photos = PhotoStore(conn)
        self._hashes = hashes
        self.cache = cache
        self._lock = threading.Lock()
        self.made: dict[str, np.ndarray] = {}  # by content hash, until `save`

    def content_hash(self, photo_id: int) -> str | None:
        if self._hashes is not None:
            return self._hashes.get(int(photo_id))
        row = self._photos.by_id(int(photo_id))
        return None if row is None or row.missing else row.content_hash

    def get(self, photo_id: int) -> np.ndarray | None:
        content_hash = self.content_hash(photo_id)
        if not content_hash:
            return None
        stored = self._store.descriptors(DESCRIPTOR_KIND, [content_hash]).get(content_hash)
        desc = None if stored is None else unpack(*stored)
        if desc is None:
            desc = self.made.get(content_hash)
        if desc is None:
            image = _load_thumbnail(self.cache, content_hash)
            if image is None:
                return None
            desc = descriptor(image)
            with self._lock:
                self.made[content_hash] = desc
        return desc

    def save_if_many(self) -> None:
        """`save` once SAVE_EVERY are waiting: an older library's first run at 100,000 photos
        makes ~40,000 (~115 MB held to the end, twice that while packing them), not a cache."""
        if len(self.made) >= SAVE_EVERY:
            _keep_if_possible(self.save)

    def save(self) -> None:
        """Store the descriptors made here (a later run reads them)."""
        with self._lock:
            made, self.made = self.made, {}
        self._store.put_descriptors(DESCRIPTOR_KIND, [(h, *pack(d)) for h, d in made.items()])


def _keep_if_possible(write: Callable[[], None]) -> None:
    try:
        write()
    except (sqlite3.OperationalError, LibraryError) as exc:
        log.info("near-copy data not stored (made again next time): %s", exc)


def library_copy_check(conn: sqlite3.Connection, thumbnails_root: Path,
                       descriptors: LibraryDescriptors | None = None,
                       processes: bool = False) -> NearCopyCheck:
    """A NearCopyCheck on the library's stored descriptors, that reads a photo's thumbnail
    (made at indexing, keyed by content hash) only for the pairs its coarse screen passes. A
    photo without one (the cache was cleared, the photo could not be read) is not verified:
    Find similar then keeps its embedding order for it. Descriptors made for an older library
    are kept in `descriptors` (Duplicates stores them; Find similar makes the few it needs).
    `processes`: a big batch of `similarities` runs over every core (search/copy_pool.py);
    the caller then calls `close` on the check."""
    described = descriptors if descriptors is not None else \
        LibraryDescriptors(conn, ThumbnailCache(thumbnails_root))

    def load(photo_id: int) -> Image.Image | None:  # the full check reads grey levels only
        return _load_thumbnail(described.cache, described.content_hash(photo_id), grey=True)

    pool = CopyPool(GreyThumbnails(described.cache.root)) if processes else None
    return NearCopyCheck(load, describe=described.get, pool=pool, key=described.content_hash)


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
                       threshold: float = DUPLICATE_THRESHOLD, *,
                       stats: DuplicateStats | None = None) -> list[list[int]]:
    """Groups of duplicate photo ids (see duplicate_groups) among the photos with these image
    vectors that are present and readable. Without `thumbnails_root`, only identical and
    near-identical photos are grouped (no fingerprints, no verification). `index`: the
    library's FAISS index, searched for a big library's neighbours. Every near-copy check made
    is stored: a later run checks only pairs it has not seen (duplicates.SCREEN_BATCH at a time,
    see NearCopyCheck.similarities; a big batch runs in worker processes over every core,
    search/copy_pool.py: threads did not help, the small numpy calls hold the GIL).
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
    descriptors = LibraryDescriptors(conn, ThumbnailCache(thumbnails_root), hash_of)
    check = library_copy_check(conn, thumbnails_root, descriptors, processes=True)
    store = FingerprintStore(conn)
    known = store.checks(METHOD)
    stats.timed("fingerprints", started)
    made: list[tuple[str, str, float]] = []

    def verify_many(pairs: list[tuple[int, int]]) -> list[bool]:
        keys = [(hash_of[a], hash_of[b]) if hash_of[a] <= hash_of[b] else (hash_of[b], hash_of[a])
                for a, b in pairs]
        scores = [known.get(key) for key in keys]
        todo = [i for i, score in enumerate(scores) if score is None]
        for i, got in zip(todo, check.similarities([pairs[i] for i in todo]), strict=True):
            scores[i] = got
            if got is not None and keys[i][0]:
                made.append((*keys[i], got))
        descriptors.save_if_many()
        return [score is not None and score >= check.threshold for score in scores]

    try:
        return duplicate_groups(ids, hashes, vectors, threshold, index, fingerprints=fingerprints,
                                instances=instances, verify_many=verify_many, stats=stats)
    finally:
        check.close()  # ends its worker processes, if a batch was big enough to start them
        assert check.pool is not None
        stats.cpu_seconds += check.pool.worker_cpu_seconds  # duplicate_groups counted its own only
        stats.checked = len(made)
        stats.screened_out = check.screened_out
        # Both are a cache: a library that cannot be written now (read-only, another writer)
        # makes them again next time, and Duplicates still answers. Each on its own, so a
        # failed first write does not lose the second.
        _keep_if_possible(lambda: store.put_checks(METHOD, made))
        _keep_if_possible(descriptors.save)
