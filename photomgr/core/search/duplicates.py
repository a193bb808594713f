"""Duplicate and near-duplicate groups.

Identical content hashes always group. Near-duplicates are photos whose image vectors have
cosine >= threshold; pairs come from a range search on a vector index (never an N x N matrix
for a big library) and groups are the connected components of those pairs (union-find), so a
burst of A~B~C groups together even when A and C alone fall just under the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from photomgr.core.index.vector_index import EXACT, VectorIndex, normalized

DENSE_LIMIT = 4096  # up to this many photos, blockwise dense products are cheaper than an index
BLOCK = 1024  # query rows per block: bounds memory of the dense products and range results


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def _dense_pairs(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """(k, 2) row pairs i < j with cosine >= threshold, by blocks of exact products."""
    found = []
    for start in range(0, len(vectors), BLOCK):
        sims = vectors[start:start + BLOCK] @ vectors[start:].T  # only the upper triangle's columns
        r, c = np.nonzero(sims >= threshold)
        keep = c > r  # c is offset by `start` like r, so this is j > i
        found.append(np.stack([r[keep] + start, c[keep] + start], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), np.int64)


def _index_pairs(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, threshold: float) -> np.ndarray:
    """(k, 2) row pairs from range searches on the index; hits outside `ids` are ignored."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    found = []
    for start in range(0, len(vectors), BLOCK):
        lims, scores, hit_ids = index.range_search(vectors[start:start + BLOCK], threshold)
        counts = np.diff(lims)
        rows = np.repeat(np.arange(start, start + len(counts)), counts)
        pos = np.minimum(np.searchsorted(sorted_ids, hit_ids), max(0, len(sorted_ids) - 1))
        known = (sorted_ids[pos] == hit_ids) & (scores >= threshold) if len(sorted_ids) else \
            np.zeros(len(hit_ids), bool)
        cols = order[pos[known]]
        rows = rows[known]
        keep = rows != cols
        found.append(np.stack([rows[keep], cols[keep]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), np.int64)


def duplicate_groups(ids: np.ndarray, hashes: Sequence[str], vectors: np.ndarray, threshold: float,
                     index: VectorIndex | None = None) -> list[list[int]]:
    """Groups (size >= 2) of photo ids that are identical (same hash) or near-identical.

    `index` is reused for the range searches when it is approximate (IVF); an exact index over
    a big library would make the search N x N, so a temporary size-appropriate index is built
    instead. Each group is sorted; groups are sorted by their first id.
    """
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    n = len(ids)
    if len(hashes) != n or len(vectors) != n:
        raise ValueError(f"{n} ids, {len(hashes)} hashes and {len(vectors)} vectors must match")
    uf = UnionFind(n)
    first_with_hash: dict[str, int] = {}
    for row, h in enumerate(hashes):
        if not h:
            continue  # unknown hash (not yet hashed) is not a match for other unknowns
        other = first_with_hash.setdefault(h, row)
        if other != row:
            uf.union(other, row)
    if n >= 2:
        vecs = normalized(vectors)
        if n <= DENSE_LIMIT:
            pairs = _dense_pairs(vecs, threshold)
        else:
            if index is None or index.kind == EXACT:
                # exact_limit 0: always IVF here; near-duplicates sit in the same or adjacent
                # cells, so the tuned nprobe finds them and the search costs ~1% of N x N
                index = VectorIndex.build(ids, vecs, "duplicates", "", exact_limit=0)
            pairs = _index_pairs(index, ids, vecs, threshold)
        for a, b in pairs.tolist():
            uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for row in range(n):
        groups.setdefault(uf.find(row), []).append(int(ids[row]))
    out = [sorted(g) for g in groups.values() if len(g) >= 2]
    return sorted(out, key=lambda g: g[0])
