"""The image-space half of a label's score: similarity to its confirmed and rejected photos.

These terms depend only on the library's image vectors and the user's decisions, not on the
label's text, so they are cached per (PhotoMatrix, decisions): renaming or re-wording a label
that has decisions then costs one text product, and confirming one more photo recomputes
only that label's terms.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.photo_matrix import PhotoMatrix, unit_rows

MAX_NEGATIVES = 16  # rejected photos used per label: the last ones given (the most recent)
# At most this many floats in one (photos x queries) block: bounds memory with many labels while
# keeping the number of BLAS calls small (each call wakes the BLAS threads, which costs
# milliseconds when other processes keep the cores busy).
BLOCK_VALUES = 16 << 20
CACHE_BYTES = 256 << 20
CACHE_MIN_ROWS = 4096  # smaller matrices (one photo's tags) recompute in well under a millisecond


@dataclass(frozen=True)
class ImageTerms:
    """Per-photo image-space similarities for one label (None when it has no such photos)."""

    proto: np.ndarray | None  # (N,) cosine to the unit mean of the confirmed photos
    rejected: np.ndarray | None  # (N,) max cosine to the rejected photos
    n_positives: int = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.proto, self.rejected) if a is not None)


NO_TERMS = ImageTerms(None, None, 0)


def prototype(positives: np.ndarray) -> np.ndarray | None:
    """Unit mean of the confirmed photos' unit vectors (None if they cancel out)."""
    mean = unit_rows(positives).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def skinny_product(a: np.ndarray, q: np.ndarray) -> np.ndarray:
    """a @ q for a tall `a` and a few columns in q.

    OpenBLAS handles 2-3 column products several times slower than as many matrix-vector
    products (measured: 100k x 1280 by 2 columns ~4x one GEMV), so those go column by column.
    """
    if q.shape[1] > 3:
        return a @ q
    out = np.empty((a.shape[0], q.shape[1]), np.float32)
    for j in range(q.shape[1]):
        out[:, j] = a @ np.ascontiguousarray(q[:, j])
    return out


def _digest(a: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(a, dtype=np.float32)
    return hashlib.blake2b(arr.tobytes() + repr(arr.shape).encode(), digest_size=16).digest()


class ImageTermCache:
    """LRU of ImageTerms keyed by (PhotoMatrix token, decisions), bounded in bytes.

    Holds one library matrix at a time: a new (large) matrix means the library changed, so
    the previous matrix's entries are dropped rather than left to age out.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, bytes, bytes], ImageTerms] = OrderedDict()
        self._bytes = 0
        self._token = 0
        self._lock = threading.Lock()

    def terms(self, photos: PhotoMatrix, labels: Sequence[LabelVectors]) -> list[ImageTerms]:
        use_cache = len(photos) >= CACHE_MIN_ROWS
        if use_cache:
            self._switch_to(photos.token)
        out: list[ImageTerms | None] = []
        todo: list[tuple[int, tuple[int, bytes, bytes], LabelVectors]] = []
        for j, lab in enumerate(labels):
            if not lab.n_positives and not lab.n_negatives:
                out.append(NO_TERMS)
                continue
            key = (photos.token, _digest(lab.positives), _digest(lab.negatives[-MAX_NEGATIVES:]))
            hit = self._get(key) if use_cache else None
            out.append(hit)
            if hit is None:
                todo.append((j, key, lab))
        if todo:
            computed = compute_terms(photos, [lab for _, _, lab in todo])
            for (j, key, _), terms in zip(todo, computed, strict=True):
                out[j] = terms
                if use_cache:
                    self._put(key, terms)
        return [t if t is not None else NO_TERMS for t in out]

    def __len__(self) -> int:
        return len(self._items)

    def _switch_to(self, token: int) -> None:
        with self._lock:
            if token != self._token:
                self._items.clear()
                self._bytes = 0
                self._token = token

    def _get(self, key: tuple[int, bytes, bytes]) -> ImageTerms | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def _put(self, key: tuple[int, bytes, bytes], terms: ImageTerms) -> None:
        with self._lock:
            if terms.nbytes > self.max_bytes or key[0] != self._token:
                return
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = terms
            self._bytes += terms.nbytes
            while self._bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes


def compute_terms(photos: PhotoMatrix, labels: Sequence[LabelVectors]) -> list[ImageTerms]:
    """Every label's prototype and rejected-photo columns stacked into one product per block,
    so the image matrix is streamed from memory once for all of them."""
    n, dim = photos.image.shape
    columns: list[np.ndarray] = []
    layout: list[tuple[int, int, int, int]] = []  # (proto col or -1, first rejected col, end, p)
    for lab in labels:
        proto_col = -1
        proto = prototype(lab.positives) if lab.n_positives else None
        if proto is not None:
            proto_col = len(columns)
            columns.append(proto)
        first = len(columns)
        if lab.n_negatives:
            columns.extend(unit_rows(lab.negatives[-MAX_NEGATIVES:]))
        layout.append((proto_col, first, len(columns), lab.n_positives))
    queries = np.ascontiguousarray(np.array(columns, np.float32).reshape(-1, dim).T)
    protos = {j: np.empty(n, np.float32) for j, (c, _, _, _) in enumerate(layout) if c >= 0}
    rejected = {j: np.empty(n, np.float32) for j, (_, a, b, _) in enumerate(layout) if b > a}
    rows = max(1024, BLOCK_VALUES // max(1, queries.shape[1]))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        sims = skinny_product(photos.image[start:stop], queries)
        for j, (proto_col, first, end, _) in enumerate(layout):
            if proto_col >= 0:
                protos[j][start:stop] = sims[:, proto_col]
            if end > first:
                rejected[j][start:stop] = sims[:, first:end].max(axis=1)
    return [ImageTerms(protos.get(j), rejected.get(j), p if j in protos else 0)
            for j, (_, _, _, p) in enumerate(layout)]
