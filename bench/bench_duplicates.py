"""Duplicates: crops, resizes and re-saves grouped (Caltech dev), and the cost at 100,000 photos.

    python -m bench.bench_duplicates [--workdir DIR] [--fit] [--size 100000] [--skip-photos]

Part 1 (needs ../shared/photos): the Caltech dev library with synthetic copies of 150 photos
(bench/copy_pairs.py, the same library as bench_near_copy), Duplicates through the app's
`library_duplicates`. --fit prints the proposal constants of photomgr/core/search/duplicates.py
as fitted on the FIT pairs; the report (REPORT pairs, shipped constants) gives the pairs that
end up in one group, the groups that are not copies, and the time.

Part 2 (synthetic): --size photos with clustered image vectors (bench_similar.clustered),
instance vectors and fingerprints, 1% of them with a planted copy; times `duplicate_groups`
(proposals, range search, union-find) with a verification that answers from the planted truth,
and counts the verifications the near-copy check would run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench.bench_similar import clustered
from bench.common import machine, shared_photos
from bench.copy_pairs import Pair, build_library, caltech_root, copy_components, split
from photomgr.core.index.vector_index import VectorIndex, normalized
from photomgr.core.library import gallery
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.vectors import VectorStore
from photomgr.core.search import duplicates
from photomgr.core.search.duplicates import _neighbour_pairs, copy_proposals, duplicate_groups
from photomgr.core.search.fingerprint import close_pairs, hamming
from photomgr.core.services.near_copies import (
    DUPLICATE_THRESHOLD,
    library_copy_check,
    library_duplicates,
    library_fingerprints,
)
from photomgr.core.services.vector_index import load_or_build_index

PHASH_MARGIN = 2  # bits above the worst FIT re-save / resize
# Proposals the vector rule may make per photo: each costs one near-copy check (~5-30 ms, once:
# results are stored), so 0.25 per photo is ~25,000 checks the first time at 100,000 photos.
PROPOSAL_BUDGET = 0.25


def photos_part(workdir: Path, do_fit: bool) -> float | None:
    """Part 1; returns the measured verification cost in ms per pair (None when skipped)."""
    shared = shared_photos()
    root = caltech_root(shared)
    if not (root / "labels.csv").is_file():
        print(f"SKIP part 1: Caltech-101 dev photos not found under {shared}")
        return None
    library, pairs, classes = build_library(shared, workdir)
    conn = library.conn
    model_id = next(iter(VectorStore(conn).models()))
    index = load_or_build_index(conn, library.paths.index_dir, model_id)
    assert index is not None
    matrix = VectorStore(conn).matrix(model_id)
    id_of = {p: int(i) for i, p in conn.execute("SELECT id, path FROM photos")}
    path_of = {i: p for p, i in id_of.items()}
    copies_of = copy_components(root, pairs)
    fit_pairs, report_pairs = split(pairs)
    row_of = {int(i): r for r, i in enumerate(matrix.ids)}

    def name(pid: int) -> str:
        path = Path(path_of[pid])
        return str(path.relative_to(root)) if path.is_relative_to(root) else path.name

    started = time.perf_counter()
    hashes = {pid: h for pid, h in gallery.content_hashes(conn).items() if h}
    fps = library_fingerprints(conn, library.paths.thumbnails, hashes)
    print(f"fingerprints of {len(fps):,} photos made and stored in {time.perf_counter() - started:.1f} s "
          "(once; later runs read them)")
    fingerprints = np.array([fps.get(int(i), 0) for i in matrix.ids], np.uint64)
    got = index.instance_rows(matrix.ids)
    assert got is not None
    instances = got[0]
    vecs = normalized(matrix.image)
    if do_fit:
        fit(fit_pairs, id_of, row_of, fingerprints, instances, vecs, index, matrix.ids)

    FingerprintStore(conn).forget_checks()  # time the first run as a user meets it
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        groups = library_duplicates(conn, library.paths.thumbnails, matrix.ids, matrix.image, index)
        timings.append(time.perf_counter() - started)
    proposals = copy_proposals(matrix.ids, vecs, index if len(vecs) > duplicates.DENSE_LIMIT else None,
                               fingerprints, instances)
    check = library_copy_check(conn, library.paths.thumbnails)
    picked = np.random.default_rng(0).choice(len(proposals), min(200, len(proposals)), replace=False)
    sample = proposals[picked]
    started = time.perf_counter()
    for a, b in sample.tolist():
        check.similarity(int(matrix.ids[a]), int(matrix.ids[b]))
    ms_per_pair = 1000 * (time.perf_counter() - started) / max(1, len(sample))

    group_of = {pid: n for n, g in enumerate(groups) for pid in g}
    together: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p in report_pairs:
        a, b = id_of[p.copy], id_of[p.original]
        total[p.kind] += 1
        together[p.kind] += int(a in group_of and group_of.get(a) == group_of.get(b))
    mixed = unknown = 0
    for g in groups:
        members = [path_of[pid] for pid in g]
        if all(set(members) - {m} <= copies_of.get(m, set()) for m in members):
            continue
        if len({classes.get(m) for m in members} - {"Faces", "Faces_easy"} or {"Faces"}) > 1:
            mixed += 1
            print("  group of different classes: " + ", ".join(name(pid) for pid in g))
        else:
            unknown += 1
            print("  group not (only) of known copies: " + ", ".join(name(pid) for pid in g))
    print(f"REPORT: {len(report_pairs)} pairs; library {len(matrix.ids):,} photos; "
          f"{len(groups)} groups, {sum(map(len, groups))} photos")
    print("| pairs | in one group |")
    print("|---|---:|")
    for kind in sorted(total):
        print(f"| {kind} | {together[kind]}/{total[kind]} |")
    print(f"| all | {sum(together.values())}/{len(report_pairs)} |")
    print(f"groups with photos of different classes: {mixed}; other groups not of known copies: {unknown}")
    print(f"Duplicates end to end: {timings[0]:.1f} s, again {timings[1]:.1f} s; {len(proposals)} pairs "
          f"proposed for the near-copy check ({len(proposals) / len(matrix.ids):.3f} per photo), "
          f"{ms_per_pair:.1f} ms per pair checked (mean of {len(sample)} pairs, fresh probes)")
    library.close()
    return ms_per_pair


def fit(pairs: list[Pair], id_of: dict[str, int], row_of: dict[int, int], fingerprints: np.ndarray,
        instances: np.ndarray, vecs: np.ndarray, index: VectorIndex, ids: np.ndarray) -> None:
    rows = np.array([(row_of[id_of[p.copy]], row_of[id_of[p.original]]) for p in pairs])
    dist = hamming(fingerprints[rows[:, 0]], fingerprints[rows[:, 1]])
    close = dist[dist <= 7]
    radius = min(7, int(close.max()) + PHASH_MARGIN) if len(close) else 7
    by_phash = set(map(tuple, np.sort(rows[dist <= radius], axis=1).tolist()))
    proposals = close_pairs(fingerprints, radius)
    print(f"FIT: {len(pairs)} pairs. Fingerprint distance of FIT pairs: within 7 bits "
          f"{len(close)} (worst {int(close.max()) if len(close) else '-'}), others from "
          f"{int(dist[dist > 7].min()) if (dist > 7).any() else '-'} bits -> PHASH_RADIUS = "
          f"{radius}; {len(proposals)} pairs proposed at it in the library")
    cosines = np.einsum("ij,ij->i", vecs[rows[:, 0]], vecs[rows[:, 1]])
    by_vector = {tuple(sorted(r)) for r, c in zip(rows.tolist(), cosines, strict=True)
                 if c >= DUPLICATE_THRESHOLD}
    rest = {tuple(sorted(r)) for r in rows.tolist()} - by_phash - by_vector
    print(f"  FIT pairs left for the vector proposals: {len(rest)}")
    results = []
    pairs_nb, sims, ranks = _neighbour_pairs(None, ids, vecs, 3)
    inst = np.einsum("ij,ij->i", instances[pairs_nb[:, 0]], instances[pairs_nb[:, 1]])
    for neighbours in (1, 2, 3):
        for cos_min in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85):
            for inst_min in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
                keep = (ranks < neighbours) & (sims >= cos_min) & (inst >= inst_min)
                found = {tuple(p) for p in np.unique(np.sort(pairs_nb[keep], axis=1), axis=0).tolist()}
                results.append((len(rest & found), -len(found), neighbours, cos_min, inst_min))
    budget = PROPOSAL_BUDGET * len(ids)
    chosen = max(r for r in results if -r[1] <= budget)
    print(f"  vector rule: the most FIT pairs found with at most {budget:.0f} proposals "
          f"({PROPOSAL_BUDGET} per photo): PROPOSE_NEIGHBOURS = {chosen[2]}, PROPOSE_COSINE = "
          f"{chosen[3]}, PROPOSE_INSTANCE = {chosen[4]}: {chosen[0]}/{len(rest)} with {-chosen[1]} "
          f"proposals (unlimited, the best rule finds {max(r[0] for r in results)})")


def synthetic_part(n: int, ms_per_pair: float | None, rounds: int) -> None:
    rng = np.random.default_rng(0)
    dim = 1280
    started = time.perf_counter()
    vectors = clustered(n, dim)
    copies = rng.choice(n, n // 100, replace=False)
    originals = rng.choice(np.setdiff1d(np.arange(n), copies), len(copies), replace=False)
    # a copy: image vector at cosine ~0.85 to its original, close instance vector, and (half of
    # them, the re-saves) a fingerprint 0-2 bits away; crops get an unrelated fingerprint
    noise = normalized(rng.standard_normal((len(copies), dim)).astype(np.float32))
    vectors[copies] = normalized(vectors[originals] + 0.6 * noise)
    instances = normalized(rng.standard_normal((n, 64)).astype(np.float32))
    instances[copies] = normalized(instances[originals] + 0.3 * normalized(
        rng.standard_normal((len(copies), 64)).astype(np.float32)))
    fingerprints = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * np.uint64(2) + \
        rng.integers(0, 2, n).astype(np.uint64)
    resaves = copies[: len(copies) // 2]
    flips = np.uint64(1) << rng.integers(0, 64, len(resaves)).astype(np.uint64)
    fingerprints[resaves] = fingerprints[originals[: len(resaves)]] ^ flips
    ids = np.arange(1, n + 1, dtype=np.int64)
    truth = {(int(ids[a]), int(ids[b])) for a, b in zip(copies, originals, strict=True)}
    print(f"\nsynthetic: {n:,} photos, {len(copies):,} planted copies, data in "
          f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    index = VectorIndex.build(ids, vectors, "bench", "", instance=instances)
    print(f"  index (the library already has it): {index.kind}, built in "
          f"{time.perf_counter() - started:.1f} s")
    centred = index.instance_rows(ids)
    assert centred is not None
    checked = []

    def verify(a: int, b: int) -> bool:
        checked.append((a, b))
        return (a, b) in truth or (b, a) in truth

    times = []
    for _ in range(rounds):
        checked.clear()
        started = time.perf_counter()
        groups = duplicate_groups(ids, [""] * n, vectors, DUPLICATE_THRESHOLD, index,
                                  fingerprints=fingerprints, instances=centred[0], verify=verify)
        times.append(time.perf_counter() - started)
    found = sum(1 for g in groups for a in g for b in g if (a, b) in truth)
    verify_s = f"{len(checked) * ms_per_pair / 1000:.1f} s" if ms_per_pair else "(part 1 skipped)"
    print(f"| photos | duplicates, without the pixel checks (median of {rounds}) | pairs checked | "
          f"pixel checks at {ms_per_pair or 0:.1f} ms | planted copies grouped |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {n:,} | {statistics.median(times):.1f} s | {len(checked):,} | {verify_s} | "
          f"{found}/{len(truth)} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=None, help="copies and library (reused when present)")
    ap.add_argument("--fit", action="store_true", help="print the proposal constants fitted on FIT")
    ap.add_argument("--size", type=int, default=100_000, help="photos in the synthetic part")
    ap.add_argument("--skip-photos", action="store_true", help="only the synthetic part")
    ap.add_argument("--rounds", type=int, default=1, help="timed runs of the synthetic part (median)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    ms = None
    if not args.skip_photos:
        ms = photos_part(args.workdir or Path(tempfile.mkdtemp(prefix="photomgr-bench-dup-")), args.fit)
    synthetic_part(args.size, ms, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
