"""Duplicate and near-duplicate groups.

Three kinds of pairs join photos into one group:
  1. identical content hashes;
  2. image vectors with cosine >= threshold (near-identical shots): exact up to DENSE_LIMIT
     photos, else among each photo's NEAR_NEIGHBOURS nearest in the library's FAISS index
     (the IVF Find similar keeps; never an N x N matrix for a big library);
  3. crops, resizes and re-saves, found as image-search systems find them: cheap signals
     PROPOSE pairs and the pixel-level near-copy check (near_copy.py) VERIFIES each one.
     Proposals: perceptual-hash fingerprints within PHASH_RADIUS bits (re-saves and resizes;
     fingerprint.py finds them by multi-index hashing, no N x N), and each photo's nearest
     neighbours by image vector when both their semantic and instance cosines are high
     (crops, whose fingerprints differ: a crop's vector cosine is 0.5-0.95, under the cut of 2).
Groups are the connected components of all pairs (union-find), so a burst of A~B~C groups
together even when A and C alone fall just under the threshold.

Cost: the pixel check is the most expensive step. `verify_many` gets SCREEN_BATCH proposals at a
time: the library's check (services/near_copies.py) screens them at 32 px from descriptors
stored at indexing, batched by shape (no thumbnail decoded; ~0.4 CPU ms a pair, ~80 % of pairs
settled there), and only the rest get the full check on decoded thumbnails (~3 ms a pair); a
big batch is split over every core (search/copy_pool.py). A pair is checked once (its result is
stored), so the first Duplicates run of a big library pays for its ~0.2 proposals a photo (~21
CPU s of checks at 100,000 photos, divided by the cores, benchmarks 4c'') and later runs are
the neighbour search alone (seconds).

The proposal constants were fitted on the FIT half of the evaluation pairs, the results are
reported on the REPORT half (bench/bench_duplicates.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import faiss
import numpy as np

from photomgr.core.index.ivf import build_ivf
from photomgr.core.index.vector_index import EXACT, IVF, VectorIndex, normalized
from photomgr.core.search.fingerprint import close_pairs

DENSE_LIMIT = 4096  # up to this many photos, blockwise dense products are cheaper than an index
BLOCK = 1024  # query rows per block: bounds memory of the dense products
SEARCH_BLOCK = 16_384  # queries per batched index search (fewer thread barriers than 1,024)
NEAR_NEIGHBOURS = 8  # neighbours per photo kept for near-identical pairs in a big library
# A big library's neighbours come from one batched search of an IVF index over the image
# vectors: the library's own FAISS index (Find similar keeps it: no second index is built) when
# it is an IVF, else (a library just above DENSE_LIMIT, searched exactly by Find similar) a
# temporary one built by the same code. SEARCH_NPROBE cells per query: a copy sits in its
# original's cell or the next; Find similar's tuned nprobe is for the 10th neighbour, not the
# 1st. Measured at 100,000 x 512 clustered vectors on an idle machine: nprobe 1, 2, 4 found
# the true nearest neighbour for 99.7 %, 99.9 %, 99.9 % of photos in 1.8, 3.0, 5.5 s; an HNSW
# graph (M 16) took 15 s to build and found 92-96 %; the former PCA-128 + IVF took 101 s. On
# Caltech dev's real vectors (an IVF forced at 3,094 photos) nprobe 1, 2, 4 kept 678, 704, 707
# of the 710 exact proposals (bench/bench_duplicates.py prints this for nprobe 2).
SEARCH_NPROBE = 2
# Proposals for the near-copy check, fitted on the FIT pairs (`python -m bench.bench_duplicates
# --fit`): with fingerprints made at indexing (as every new library's are), FIT re-saves and
# resizes were within 4 bits of their originals (crops 14+, unrelated photos ~32; 2 bits when
# they were all made from the JPEG thumbnails), so the radius is 4 + 2 bits of margin; the
# vector rule is the one that found the most FIT crops while proposing at most 0.25 pairs per
# photo (each costs one check, ~2.3 CPU ms with the screen, once: results are stored), 49 of
# the 55 that fingerprints and the 0.95 cut leave.
PHASH_RADIUS = 6
PROPOSE_NEIGHBOURS = 1  # each photo's nearest neighbour by image vector ...
PROPOSE_COSINE = 0.65  # ... with at least this semantic cosine ...
PROPOSE_INSTANCE = 0.60  # ... and this (centred) instance cosine
VERIFY_BATCH = 64  # proposals checked in parallel at a time; pairs joined meanwhile are skipped
# Proposals given to `verify_many` at a time: its coarse screen batches pairs whose photos have
# the same shapes, so the more at once the better, up to memory (descriptors, ~3 KB a photo).
SCREEN_BATCH = 4096

# verify(a, b) -> True when photo ids a and b are copies of each other (the near-copy check)
Verify = Callable[[int, int], bool]
# verify_many(pairs) -> the same for many pairs, in order
VerifyMany = Callable[[list[tuple[int, int]]], list[bool]]


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


def _dense_pairs(vecs: np.ndarray, threshold: float,
                 neighbours: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Exact, by blocks of dense products, in one pass: (k, 2) row pairs i < j with cosine >=
    threshold, and each photo's `neighbours` nearest as _neighbour_pairs gives them."""
    n = len(vecs)
    k = min(neighbours, n - 1)
    found, rows_out, cols_out, sims_out, ranks_out = [], [], [], [], []
    for start in range(0, n, BLOCK):
        sims = vecs[start:start + BLOCK] @ vecs.T
        block = np.arange(len(sims))
        sims[block, block + start] = -np.inf  # a photo is not its own neighbour
        r, c = np.nonzero(sims >= threshold)
        keep = c > r + start
        found.append(np.stack([r[keep] + start, c[keep]], axis=1))
        if k > 0:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top_sims = np.take_along_axis(sims, top, axis=1)
            order = np.argsort(-top_sims, axis=1, kind="stable")
            rows_out.append(np.repeat(block + start, k))
            cols_out.append(np.take_along_axis(top, order, axis=1).reshape(-1))
            sims_out.append(np.take_along_axis(top_sims, order, axis=1).reshape(-1))
            ranks_out.append(np.tile(np.arange(k), len(sims)))
    pairs = np.concatenate(found) if found else np.zeros((0, 2), np.int64)
    if not rows_out:
        return pairs, (np.zeros((0, 2), np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64))
    near = np.stack([np.concatenate(rows_out), np.concatenate(cols_out)], axis=1).astype(np.int64)
    return pairs, (near, np.concatenate(sims_out).astype(np.float32),
                   np.concatenate(ranks_out).astype(np.int64))


def _neighbour_pairs(index: VectorIndex | None, ids: np.ndarray, vecs: np.ndarray,
                     neighbours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """((k, 2) row pairs, (k,) cosines, (k,) ranks from 0): each photo and its `neighbours`
    nearest by image vector; exact up to DENSE_LIMIT photos, else by one batched search of
    `index` with at most SEARCH_NPROBE cells per query (a near-copy sits in its original's cell
    or the next: the tuned nprobe of Find similar is for the 10th neighbour, not the 1st)."""
    n = len(vecs)
    k = min(neighbours, n - 1)
    rows_out, cols_out, sims_out, ranks_out = [], [], [], []
    if k <= 0:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64)
    if index is None:
        for start in range(0, n, BLOCK):
            sims = vecs[start:start + BLOCK] @ vecs.T
            sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top_sims = np.take_along_axis(sims, top, axis=1)
            order = np.argsort(-top_sims, axis=1, kind="stable")
            rows_out.append(np.repeat(np.arange(start, start + len(sims)), k))
            cols_out.append(np.take_along_axis(top, order, axis=1).reshape(-1))
            sims_out.append(np.take_along_axis(top_sims, order, axis=1).reshape(-1))
            ranks_out.append(np.tile(np.arange(k), len(sims)))
    else:
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        params = None
        if index.kind != EXACT:
            params = faiss.SearchParametersIVF()
            params.nprobe = min(max(1, index.nprobe), SEARCH_NPROBE)
        for start in range(0, n, SEARCH_BLOCK):
            queries = vecs[start:start + SEARCH_BLOCK]
            if params is None:
                scores, found = index.index.search(queries, k + 1)
            else:
                scores, found = index.index.search(queries, k + 1, params=params)
            rows = np.repeat(np.arange(start, start + len(found)), found.shape[1])
            hit = found.reshape(-1)
            pos = np.minimum(np.searchsorted(sorted_ids, hit), n - 1)
            known = (hit >= 0) & (sorted_ids[pos] == hit)
            cols = order[pos]
            keep = known & (cols != rows)
            rank = np.cumsum(keep.reshape(found.shape), axis=1).reshape(-1) - 1
            keep &= rank < k
            rows_out.append(rows[keep])
            cols_out.append(cols[keep])
            sims_out.append(scores.reshape(-1)[keep])
            ranks_out.append(rank[keep])
    pairs = np.stack([np.concatenate(rows_out), np.concatenate(cols_out)], axis=1).astype(np.int64)
    return pairs, np.concatenate(sims_out).astype(np.float32), np.concatenate(ranks_out).astype(np.int64)


def search_index(ids: np.ndarray, vecs: np.ndarray, index: VectorIndex | None) -> tuple[VectorIndex, str]:
    """The IVF index a big library's neighbours are searched in, and where it came from: the
    library's own (`index`, when it is an IVF over these vectors' space), else a temporary one
    (untuned: SEARCH_NPROBE is set per search)."""
    if index is not None and index.kind == IVF and index.dim == vecs.shape[1] and len(index):
        return index, "library index"
    built = build_ivf(vecs, np.ascontiguousarray(ids, dtype=np.int64))
    return VectorIndex(built, IVF, "duplicates", "", int(vecs.shape[1]), nprobe=SEARCH_NPROBE,
                       trained_count=len(ids)), "temporary IVF"


def copy_proposals(ids: np.ndarray, vecs: np.ndarray, index: VectorIndex | None,
                   fingerprints: np.ndarray | None, instances: np.ndarray | None,
                   neighbours: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(k, 2) row pairs i < j that may be crops, resizes or re-saves of each other (see the
    module docstring). `fingerprints`: uint64 per row, 0 for none; `instances`: centred
    instance vectors per row (zero rows for none), or None when the backend has none;
    `neighbours`: _neighbour_pairs already computed with at least PROPOSE_NEIGHBOURS."""
    found = []
    if fingerprints is not None:
        fp = np.asarray(fingerprints, np.uint64)
        have = np.flatnonzero(fp != 0)
        pairs = close_pairs(fp[have], PHASH_RADIUS)
        found.append(have[pairs])
    if instances is not None and len(vecs) >= 2:
        pairs, sims, ranks = neighbours or _neighbour_pairs(index, ids, vecs, PROPOSE_NEIGHBOURS)
        pairs = pairs[(ranks < PROPOSE_NEIGHBOURS) & (sims >= PROPOSE_COSINE)]  # cheap filters first
        inst = np.einsum("ij,ij->i", instances[pairs[:, 0]], instances[pairs[:, 1]])
        found.append(np.sort(pairs[inst >= PROPOSE_INSTANCE], axis=1))
    if not found:
        return np.zeros((0, 2), np.int64)
    return np.unique(np.concatenate(found).reshape(-1, 2), axis=0)


@dataclass
class DuplicateStats:
    """What one Duplicates run did: seconds per phase, and how many proposals the near-copy
    check had to look at (the first run's cost; later runs answer from stored checks)."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the process's CPU time over the run: under other jobs' load it
    # says more than wall time (all threads counted, and library_duplicates adds its pixel-check
    # worker processes'; an idle machine runs it over its cores)
    _cpu_started: float | None = field(default=None, repr=False)
    neighbours_from: str = ""  # "exact", "library index" or "temporary IVF"
    proposed: int = 0  # pairs proposed for the near-copy check
    verified: int = 0  # of those, sent to `verify` (the others were already in one group)
    copies: int = 0  # of those, verified as copies
    checked: int = 0  # of those, compared on pixels (not answered from stored checks; library_duplicates)
    screened_out: int = 0  # of those, settled by the coarse screen alone (near_copy.screened_similarity)

    def timed(self, phase: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - started
        return now

    def start(self) -> float:
        """Start counting CPU time (unless a caller already did); returns the wall clock."""
        if self._cpu_started is None:
            self._cpu_started = time.process_time()
        return time.perf_counter()

    def stop(self) -> None:
        if self._cpu_started is not None:
            self.cpu_seconds += time.process_time() - self._cpu_started
            self._cpu_started = None


def _verify_proposals(proposals: np.ndarray, ids: np.ndarray, uf: UnionFind, verify_many: VerifyMany,
                      step: int, stats: DuplicateStats) -> None:
    """Join the proposals that `verify_many` accepts, `step` at a time, skipping pairs already
    in one group when their turn comes."""
    rows = proposals.tolist()
    for start in range(0, len(rows), step):
        batch = [(a, b) for a, b in rows[start:start + step] if uf.find(a) != uf.find(b)]
        results = verify_many([(int(ids[a]), int(ids[b])) for a, b in batch])
        for (a, b), ok in zip(batch, results, strict=True):
            stats.verified += 1
            if ok:
                stats.copies += 1
                uf.union(a, b)


def _one_by_one(verify: Verify, pool: ThreadPoolExecutor | None) -> VerifyMany:
    """A VerifyMany that calls `verify` for each pair, in `pool` when there is one (the pixel
    check spends part of its time in numpy FFTs and Pillow, which release the GIL; `verify`
    must then be thread-safe)."""
    def verify_many(pairs: list[tuple[int, int]]) -> list[bool]:
        if pool is None:
            return [verify(a, b) for a, b in pairs]
        return list(pool.map(lambda p: verify(*p), pairs))
    return verify_many


def duplicate_groups(ids: np.ndarray, hashes: Sequence[str], vectors: np.ndarray, threshold: float,
                     index: VectorIndex | None = None, *, fingerprints: np.ndarray | None = None,
                     instances: np.ndarray | None = None, verify: Verify | None = None,
                     verify_many: VerifyMany | None = None, workers: int = 1,
                     stats: DuplicateStats | None = None) -> list[list[int]]:
    """Groups (size >= 2) of photo ids that are identical (same hash), near-identical (vector
    cosine >= threshold) or, with `verify` (one pair) or `verify_many` (many pairs at once),
    verified copies among the proposals (see `copy_proposals`; pairs already in one group
    are not checked again; with `verify`, `workers` threads check them, see
    _verify_proposals).

    Up to DENSE_LIMIT photos the neighbour search is exact; above, one batched search of
    `index` when it is an IVF over these vectors (the library's FAISS index), else of a
    temporary IVF (see search_index). `stats`, when given, is filled in. Each group is sorted;
    groups by their first id.
    """
    stats = stats if stats is not None else DuplicateStats()
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    n = len(ids)
    if len(hashes) != n or len(vectors) != n:
        raise ValueError(f"{n} ids, {len(hashes)} hashes and {len(vectors)} vectors must match")
    started = stats.start()
    uf = UnionFind(n)
    first_with_hash: dict[str, int] = {}
    for row, h in enumerate(hashes):
        if not h:
            continue  # unknown hash (not yet hashed) is not a match for other unknowns
        other = first_with_hash.setdefault(h, row)
        if other != row:
            uf.union(other, row)
    started = stats.timed("grouping", started)
    if n >= 2:
        vecs = normalized(vectors)
        neighbours = None
        if n <= DENSE_LIMIT:
            stats.neighbours_from = "exact"
            pairs, neighbours = _dense_pairs(vecs, threshold, PROPOSE_NEIGHBOURS)
            search = None
        else:
            search, stats.neighbours_from = search_index(ids, vecs, index)
            started = stats.timed("index", started)
            # One batched search gives both the near-identical pairs and the copy proposals.
            # NEAR_NEIGHBOURS per photo: a bigger burst still joins up through its chains.
            neighbours = _neighbour_pairs(search, ids, vecs, max(NEAR_NEIGHBOURS, PROPOSE_NEIGHBOURS))
            pairs = neighbours[0][neighbours[1] >= threshold]
        started = stats.timed("neighbours", started)
        for a, b in pairs.tolist():
            uf.union(a, b)
        started = stats.timed("grouping", started)
        if verify is not None or verify_many is not None:
            proposals = copy_proposals(ids, vecs, search, fingerprints, instances, neighbours)
            stats.proposed = len(proposals)
            started = stats.timed("proposals", started)
            if verify_many is not None:
                _verify_proposals(proposals, ids, uf, verify_many, SCREEN_BATCH, stats)
            elif verify is not None:
                pool = ThreadPoolExecutor(workers) if workers > 1 else None
                try:
                    _verify_proposals(proposals, ids, uf, _one_by_one(verify, pool),
                                      VERIFY_BATCH if pool else 1, stats)
                finally:
                    if pool is not None:
                        pool.shutdown()
            started = stats.timed("verification", started)
    groups: dict[int, list[int]] = {}
    for row in range(n):
        groups.setdefault(uf.find(row), []).append(int(ids[row]))
    out = [sorted(g) for g in groups.values() if len(g) >= 2]
    stats.timed("grouping", started)
    stats.stop()
    return sorted(out, key=lambda g: g[0])
