"""The library's vectors held in memory for instant re-scoring."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

_tokens = itertools.count(1)


def unit_rows(a: np.ndarray) -> np.ndarray:
    """Contiguous float32 with unit rows; copies only when the input needs changing."""
    arr = np.ascontiguousarray(a, dtype=np.float32)
    if arr.size == 0:
        return arr
    norms = np.sqrt(np.einsum("ij,ij->i", arr, arr))
    if np.all(np.abs(norms - 1.0) < 1e-3):
        return arr  # the usual case (vectors come normalised): no copy of a large matrix
    out = arr.copy()
    np.divide(out, norms[:, None], out=out, where=norms[:, None] > 0)
    return out


def _as_matrix(a: np.ndarray, n: int, what: str) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=np.float32)
    if arr.ndim != 2:
        arr = arr.reshape(n, -1) if arr.size else np.zeros((n, 0), np.float32)
    if arr.shape[0] != n:
        raise ValueError(f"{n} ids but {arr.shape[0]} rows of {what} vectors")
    return arr


class PhotoMatrix:
    """Row i of `image` (and `label`) belongs to photo ids[i]. Treat as immutable: build a new
    one when photos or vectors change (scorers cache per-matrix results under `token`).

    label None means the label space is the image space (CLIP): one matrix serves both.
    Image rows are made unit length (cosines), float32 and contiguous for BLAS.
    """

    def __init__(self, ids: np.ndarray, image: np.ndarray, label: np.ndarray | None) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        self.image = unit_rows(_as_matrix(image, len(self.ids), "image"))
        self.label = None if label is None else _as_matrix(label, len(self.ids), "label")
        self.token = next(_tokens)
        self._order: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def shared(self) -> bool:
        return self.label is None

    @property
    def label_space(self) -> np.ndarray:
        return self.image if self.label is None else self.label

    def rows_of(self, photo_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row numbers of the given photo ids, in their order; unknown ids are dropped."""
        want = np.asarray(photo_ids, dtype=np.int64).reshape(-1)
        if len(self.ids) == 0 or len(want) == 0:
            return np.zeros(0, np.int64)
        if self._order is None:
            self._order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[self._order]
        pos = np.minimum(np.searchsorted(sorted_ids, want), len(sorted_ids) - 1)
        found = sorted_ids[pos] == want
        return self._order[pos[found]]
