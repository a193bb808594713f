"""Find similar on crops, resizes and re-saves: constants fitted on FIT pairs, results on REPORT.

    python -m bench.bench_near_copy [--workdir DIR] [--fit] [--queries 200]

Indexes ../shared/photos/caltech101-dev plus synthetic copies of 150 of its photos (made in
--workdir, a temporary folder by default; see bench/copy_pairs.py) with the offline default
model through the app's `index_folders`, then:
  --fit   prints the constants of photomgr/core/search/similar.py and near_copy.py as fitted on
          the FIT half of the pairs (and the FIT half of the ordinary queries): the candidate
          pool, how many candidates are verified, and the copy threshold;
  always  reports, on the REPORT half, with the shipped constants and the app's `find_similar`
          (k = 10): is the copy's original the first result, with and without the near-copy
          check; ordinary queries (photos with no known copy): how many show a photo that is
          not a copy at "1.000", how many have a photo promoted as a copy; median latencies.
Skips with a message when the test photos are absent.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench.common import machine, shared_photos
from bench.copy_pairs import Pair, build_library, caltech_root, copy_components, ordinary_queries, split
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library.vectors import VectorStore
from photomgr.core.search import near_copy, similar
from photomgr.core.search.coarse_copy import coarse_similarity
from photomgr.core.search.near_copy import CopyProbe, NearCopyCheck, copy_similarity, screened_check
from photomgr.core.search.similar import find_similar, instance_cosines, rerank
from photomgr.core.services.near_copies import library_copy_check
from photomgr.core.services.vector_index import load_or_build_index

K = 10
POOL_MARGIN = 4  # the pool is this many times the worst FIT twin's rank (as a library fraction)
SCREEN_MARGIN = 0.05  # the coarse screen rejects this far under the lowest FIT copy
WINDOW_TOLERANCE = 0.02  # the windowed full check may lower a FIT copy's similarity by this much


class Bench:
    def __init__(self, workdir: Path) -> None:
        shared = shared_photos()
        self.root = caltech_root(shared)
        self.library, self.pairs, self.classes = build_library(shared, workdir)
        conn = self.library.conn
        self.model_id = next(iter(VectorStore(conn).models()))
        index = load_or_build_index(conn, self.library.paths.index_dir, self.model_id)
        assert index is not None
        self.index: VectorIndex = index
        self.matrix = VectorStore(conn).matrix(self.model_id)
        self.unit = self.matrix.image / np.linalg.norm(self.matrix.image, axis=1, keepdims=True)
        self.id_of = {p: int(i) for i, p in conn.execute("SELECT id, path FROM photos")}
        self.path_of = {i: p for p, i in self.id_of.items()}
        self.copies_of = copy_components(self.root, self.pairs)

    def vector(self, pid: int) -> np.ndarray:
        return self.matrix.image[np.searchsorted(self.matrix.ids, pid)]

    def semantic_rank(self, query: int, twin: int) -> int:
        """Rank of `twin` among every other photo by image-vector cosine (1 = nearest)."""
        sims = self.unit @ self.unit[np.searchsorted(self.matrix.ids, query)]
        sims[np.searchsorted(self.matrix.ids, query)] = -np.inf
        return int((sims > sims[np.searchsorted(self.matrix.ids, twin)]).sum()) + 1

    def check(self) -> NearCopyCheck:
        return library_copy_check(self.library.conn, self.library.paths.thumbnails)

    def is_copy(self, query: int, other: int) -> bool:
        return self.path_of[other] in self.copies_of.get(self.path_of[query], set())

    def name(self, pid: int) -> str:
        path = Path(self.path_of[pid])
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else path.name


def verify_lists(b: Bench, query: int, pool: int, top: int) -> tuple[list[int], list[int]]:
    """Find similar's two lists of candidates (rank key, instance cosine), each cut at `top`."""
    candidates = b.index.search(b.vector(query), pool, exclude={query})
    ids = np.array([c[0] for c in candidates], np.int64)
    own = b.index.instance_rows(np.array([query], np.int64))
    assert own is not None
    cosines = instance_cosines(b.index, own[0][0], ids)
    assert cosines is not None
    ranked = [pid for pid, _ in rerank(b.index, own[0][0], candidates, len(candidates), cosines=cosines)]
    values, found = cosines
    by_instance = [int(ids[i]) for i in np.argsort(-np.where(found, values, -np.inf), kind="stable")]
    return ranked[:top], by_instance[:top]


def fit(b: Bench, pairs: list[Pair], ordinary: list[str]) -> None:
    n = len(b.index)
    ranks = [b.semantic_rank(b.id_of[p.copy], b.id_of[p.original]) for p in pairs]
    fraction = POOL_MARGIN * max(ranks) / n
    print(f"FIT: {len(pairs)} pairs, library {n:,} photos; worst semantic rank of an original "
          f"{max(ranks)} -> POOL_FRACTION = {POOL_MARGIN} x {max(ranks)} / {n} = {fraction:.4f}")
    saved = similar.POOL_FRACTION
    similar.POOL_FRACTION = fraction
    pool = similar.candidate_pool(n, K)
    similar.POOL_FRACTION = saved
    needs = []
    for p in pairs:
        q, t = b.id_of[p.copy], b.id_of[p.original]
        ranked, by_instance = verify_lists(b, q, pool, pool)
        need = min(ranked.index(t) + 1 if t in ranked else 10**6,
                   by_instance.index(t) + 1 if t in by_instance else 10**6)
        needs.append(need)
    verify_top = max(similar.VERIFY_TOP, max(needs))
    print(f"  pool {pool} at this size; the original is within the first n of one list, worst "
          f"n = {max(needs)} -> VERIFY_TOP = max({similar.VERIFY_TOP}, {max(needs)}) = {verify_top}")
    check = b.check()
    positives, negatives = [], []
    queries = [b.id_of[p.copy] for p in pairs] + [b.id_of[p] for p in ordinary]
    for q in queries:
        ranked, by_instance = verify_lists(b, q, pool, verify_top)
        for c in dict.fromkeys(ranked + by_instance):
            pq, pc = check.probe(q), check.probe(c)
            if pq is not None and pc is not None:  # the exhaustive search: the reference
                (positives if b.is_copy(q, c) else negatives).append((copy_similarity(pq, pc), q, c))
    negatives.sort(reverse=True)
    threshold, errors = fewest_errors([s for s, _, _ in positives], [s for s, _, _ in negatives])
    kept = sum(s >= threshold for s, _, _ in positives)
    print(f"  copy similarity of {len(negatives)} candidates that are not known copies: best "
          + ", ".join(f"{s:.3f} ({b.name(q)} ~ {b.name(c)})" for s, q, c in negatives[:6]))
    print(f"  -> COPY_THRESHOLD = {threshold:.3f} (fewest FIT errors: {errors}); FIT copies verified "
          f"at it: {kept}/{len(positives)}, non-copies: {sum(s >= threshold for s, _, _ in negatives)}"
          f" (lowest copies " + ", ".join(f"{s:.3f}" for s, _, _ in sorted(positives)[:5]) + ")")
    fit_screen(check, [(q, c) for s, q, c in positives if s >= threshold], [(q, c) for _, q, c in negatives])


def fit_screen(check: NearCopyCheck, copies: list[tuple[int, int]], others: list[tuple[int, int]]) -> None:
    """near_copy.REJECT_BELOW and WINDOW_STEPS, on the FIT copies verified by the exhaustive
    check: the lowest coarse similarity of a copy minus SCREEN_MARGIN, and the narrowest
    scale window that keeps every copy's similarity within WINDOW_TOLERANCE of the exhaustive
    search's."""
    def probes(pair: tuple[int, int]) -> tuple[CopyProbe, CopyProbe]:
        a, b = check.probe(pair[0]), check.probe(pair[1])
        assert a is not None and b is not None
        return a, b

    coarse = [coarse_similarity(a.coarse(), b.coarse()) for a, b in map(probes, copies)]
    lowest = min(c[0] for c in coarse)
    reject = round(lowest - SCREEN_MARGIN, 3)
    screened = [coarse_similarity(a.coarse(), b.coarse())[0] for a, b in map(probes, others)]
    print(f"  coarse screen: lowest coarse similarity of {len(copies)} FIT copies {lowest:.3f} -> "
          f"REJECT_BELOW = {lowest:.3f} - {SCREEN_MARGIN} = {reject:.3f}; it rejects "
          f"{sum(c < reject for c in screened)}/{len(screened)} FIT candidates that are not copies")
    for steps in range(1, 6):
        worst = max(copy_similarity(a, b) - screened_check(a, b, reject, steps)[0]
                    for a, b in map(probes, copies))
        print(f"  scale window of {steps} coarse step(s): worst drop of a FIT copy's similarity {worst:.3f}")
        if worst <= WINDOW_TOLERANCE:
            print(f"  -> WINDOW_STEPS = {steps}")
            break


def fewest_errors(positives: list[float], negatives: list[float]) -> tuple[float, int]:
    """The threshold with the fewest errors (copies under it + non-copies at or above it),
    in the middle of the widest such gap between observed scores."""
    values = sorted(set(positives) | set(negatives))
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    pos, neg = np.array(positives), np.array(negatives)
    scored = [(int((pos < c).sum() + (neg >= c).sum()), c) for c in cuts]
    best = min(e for e, _ in scored)
    # among the best cuts, the middle of the longest run keeps the largest margin either side
    good = [c for e, c in scored if e == best]
    return round(float(statistics.median(good)), 3), best


def report(b: Bench, pairs: list[Pair], ordinary: list[str]) -> None:
    print(f"REPORT: {len(pairs)} pairs, {len(ordinary)} ordinary queries, library {len(b.index):,} "
          f"photos, candidate pool {similar.candidate_pool(len(b.index), K)}, "
          f"VERIFY_TOP {similar.VERIFY_TOP}, copy threshold {b.check().threshold}, coarse screen "
          f"rejects under {near_copy.REJECT_BELOW}, window {near_copy.WINDOW_STEPS} steps")
    first = {True: Counter(), False: Counter()}
    strict: Counter[str] = Counter()
    total: Counter[str] = Counter()
    times: dict[bool, list[float]] = {True: [], False: []}
    misses = []

    def query(pid: int, with_check: bool) -> list[tuple[int, float]]:
        started = time.perf_counter()
        hits = find_similar(b.index, pid, b.vector(pid), K, copies=b.check() if with_check else None)
        times[with_check].append(1000 * (time.perf_counter() - started))
        return hits

    ranks = []
    for p in pairs:
        q, t = b.id_of[p.copy], b.id_of[p.original]
        total[p.kind] += 1
        ranks.append(b.semantic_rank(q, t))
        for with_check in (False, True):
            hits = query(q, with_check)
            # first is the original, or a photo it is a known copy of (Caltech's own copies)
            ok = bool(hits) and (hits[0][0] == t or b.is_copy(q, hits[0][0]))
            first[with_check][p.kind] += int(ok)
            strict[p.kind] += int(with_check and bool(hits) and hits[0][0] == t)
            if with_check and not ok:
                misses.append(f"{b.name(q)} (semantic rank {ranks[-1]}; first "
                              f"{b.name(hits[0][0]) if hits else '-'})")
    print("| pairs | a copy first, with the check (the original itself) | without the check |")
    print("|---|---:|---:|")
    for kind in sorted(total):
        print(f"| {kind} | {first[True][kind]}/{total[kind]} ({strict[kind]}) | "
              f"{first[False][kind]}/{total[kind]} |")
    print(f"| all | {sum(first[True].values())}/{len(pairs)} ({sum(strict.values())}) | "
          f"{sum(first[False].values())}/{len(pairs)} |")
    print(f"semantic rank of the original: median {statistics.median(ranks)}, worst {max(ranks)}")
    for m in misses:
        print(f"  missed: {m}")

    shown_one = promoted = with_promoted = 0
    for path in ordinary:
        q = b.id_of[path]
        query(q, False)
        hits = query(q, True)
        check = b.check()
        copies = [pid for pid, _ in hits if (check.similarity(q, pid) or -1.0) >= check.threshold]
        shown_one += sum(f"{s:.3f}" == "1.000" and pid not in copies for pid, s in hits)
        promoted += len(copies)
        with_promoted += int(bool(copies))
        for pid in copies:
            print(f"  ordinary query promoted a copy: {b.name(q)} -> {b.name(pid)} "
                  f"(known copy: {b.is_copy(q, pid)})")
    print(f"ordinary queries: {shown_one} results that are not copies shown as 1.000; "
          f"{with_promoted} queries with a photo verified as a copy ({promoted} photos)")
    print(f"latency k={K}, median of {len(times[True])} queries: {statistics.median(times[True]):.1f} ms "
          f"with the check, {statistics.median(times[False]):.2f} ms without")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the copies and the library go (reused when present)")
    ap.add_argument("--fit", action="store_true", help="print the constants fitted on FIT")
    ap.add_argument("--queries", type=int, default=200, help="ordinary queries (half FIT, half REPORT)")
    args = ap.parse_args()
    if not (caltech_root(shared_photos()) / "labels.csv").is_file():
        print(f"SKIP: Caltech-101 dev photos not found under {shared_photos()} (set PHOTOMGR_SHARED_PHOTOS)")
        return 0
    print(f"machine: {machine()}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="photomgr-bench-copy-"))
    b = Bench(workdir)
    fit_pairs, report_pairs = split(b.pairs)
    ordinary_fit, ordinary_report = ordinary_queries(list(b.id_of), b.copies_of, args.queries)
    try:
        if args.fit:
            fit(b, fit_pairs, ordinary_fit)
        report(b, report_pairs, ordinary_report)
    finally:
        b.library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
