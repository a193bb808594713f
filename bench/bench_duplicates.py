"""Duplicates: crops, resizes and re-saves grouped (Caltech dev), and the cost at 100,000 photos.

    python -m bench.bench_duplicates [--workdir DIR] [--fit] [--size 100000] [--dim 512]
                                     [--rounds 3] [--skip-photos] [--skip-first-run]

Part 1 (needs ../shared/photos): the Caltech dev library with synthetic copies of 150 photos
(bench/copy_pairs.py, the same library as bench_near_copy), Duplicates through the app's
`library_duplicates`. --fit prints the proposal constants of photomgr/core/search/duplicates.py
as fitted on the FIT pairs; the report (REPORT pairs, shipped constants) gives the pairs that
end up in one group, the groups that are not copies, and the phases of a first run (no stored
checks; an older library's, whose descriptors are made from its thumbnails, then one whose
descriptors were stored at indexing) and of repeat runs (medians); then the CPU cost of the
pixel check per pair on the pairs that first run compared: the app's (stored descriptors, the
coarse screen batched), the screened check one pair at a time from decoded thumbnails, and the
exhaustive search (alternating rounds, medians).

Part 2 (synthetic): --size photos with clustered image vectors (bench_similar.clustered),
instance vectors and fingerprints, 1% of them with a planted copy; the phases of
`duplicate_groups` (the library's FAISS index searched for neighbours, proposals, union-find)
with a verification that answers from the planted truth, as a repeat run answers from the
stored checks; the first run's checks are projected from part 1's rate and cost per pair.
Then an actual first run at --size photos on real pixels: planted pairs at part 1's rate of
pixel checks a photo, each shown the thumbnails of a pair part 1 compared (its copies and its
non-copies), checked by the app's NearCopyCheck on the library's stored descriptors
(`real_first_run`).
Every time comes with the load average it was measured at (other jobs share the cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.bench_similar import clustered
from bench.common import machine, shared_photos
from bench.copy_pairs import Pair, build_library, caltech_root, copy_components, split
from photomgr.core.imaging.decode import decode_photo
from photomgr.core.imaging.thumbnails import ThumbnailCache, make_thumbnail
from photomgr.core.index.vector_index import VectorIndex, normalized
from photomgr.core.library import gallery
from photomgr.core.library.database import Library
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.vectors import VectorStore
from photomgr.core.search import duplicates, near_copy
from photomgr.core.search.coarse_copy import DESCRIPTOR_KIND
from photomgr.core.search.duplicates import DuplicateStats, _neighbour_pairs, copy_proposals, duplicate_groups
from photomgr.core.search.fingerprint import KIND, close_pairs, from_signed, hamming, phash, to_signed
from photomgr.core.search.near_copy import CopyProbe, copy_similarity, screened_check
from photomgr.core.services.near_copies import (
    DUPLICATE_THRESHOLD,
    LibraryDescriptors,
    library_copy_check,
    library_duplicates,
    library_fingerprints,
)
from photomgr.core.services.vector_index import load_or_build_index

PHASH_MARGIN = 2  # bits above the worst FIT re-save / resize
# Proposals the vector rule may make per photo: each costs one near-copy check (~5-30 ms, once:
# results are stored), so 0.25 per photo is ~25,000 checks the first time at 100,000 photos.
PROPOSAL_BUDGET = 0.25
PHASES = ("fingerprints", "index", "neighbours", "proposals", "verification", "grouping")


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def phase_line(runs: list[DuplicateStats]) -> str:
    """Median seconds per phase over runs (phases a run did not have are left out)."""
    parts = []
    for phase in PHASES:
        values = [r.seconds[phase] for r in runs if phase in r.seconds]
        if values:
            parts.append(f"{phase} {statistics.median(values):.2f} s")
    total = statistics.median(sum(r.seconds.values()) for r in runs)
    cpu = statistics.median(r.cpu_seconds for r in runs)
    return f"{total:.2f} s (CPU {cpu:.2f} s) = " + ", ".join(parts)


@dataclass
class RealCosts:
    checks_per_photo: float  # pairs a first run compares on pixels, per photo
    check_ms: float  # wall ms per pair compared in a first run
    check_cpu_ms: float  # CPU ms per pair compared in a first run (what an idle machine needs)
    lazy_ms: float  # fingerprint of an older library's photo: thumbnail decode + pHash
    scan_ms: float  # fingerprint made at indexing: pHash of the thumbnail in memory
    thumbnails: Path  # the Caltech library's thumbnails, for part 2's first run on real pixels
    library: Path  # and the library itself (its stored near-copy descriptors)
    copies: list[tuple[str, str]]  # content-hash pairs the first run verified as copies
    others: list[tuple[str, str]]  # and those it compared and found not to be copies


def pixel_costs(library: Library, pairs: list[tuple[str, str]], rounds: int) -> None:
    """CPU ms a pair of the near-copy check with both photos prepared afresh (as at 100,000
    photos, where a photo is in ~0.4 proposals), on the pairs a first run compared, in
    alternating rounds (medians): the app's check (descriptors read from the library, the
    screen batched, thumbnails decoded only past it), the screened check one pair at a time
    from decoded thumbnails (the app before the descriptors were stored), and the exhaustive
    search."""
    cache = ThumbnailCache(library.paths.thumbnails)
    # every pair gets photo ids of its own, each showing the thumbnail of its content hash
    ids = [(2 * k + 1, 2 * k + 2) for k in range(len(pairs))]
    shown = {pid: h for both, pair in zip(ids, pairs, strict=True) for pid, h in zip(both, pair, strict=True)}

    def decoded(h: str) -> CopyProbe | None:
        image = cache.load(h)
        return None if image is None else CopyProbe.of(image)

    app: list[float] = []
    one_by_one: list[float] = []
    exhaustive: list[float] = []
    fully = 0
    for _ in range(rounds):
        check = library_copy_check(library.conn, library.paths.thumbnails,
                                   LibraryDescriptors(library.conn, cache, shown))
        started = time.process_time()
        check.similarities(ids)
        app.append(1000 * (time.process_time() - started) / len(ids))
        fully = check.fully_checked
        for compare, costs in ((screened_check, one_by_one), (copy_similarity, exhaustive)):
            started = time.process_time()
            for a, b in pairs:
                pa, pb = decoded(a), decoded(b)
                if pa is not None and pb is not None:
                    compare(pa, pb)
            costs.append(1000 * (time.process_time() - started) / len(ids))
    m = statistics.median
    print(f"pixel check costs ({load()}, CPU ms a pair with both photos prepared afresh, medians of "
          f"{rounds} alternating rounds, {len(ids)} pairs of the first run, {fully} of them past the "
          f"screen): the app's (stored descriptors, batched screen) {m(app):.2f} ms; the screened check "
          f"one pair at a time from decoded thumbnails {m(one_by_one):.2f} ms "
          f"({m(one_by_one) / m(app):.1f}x); the exhaustive search {m(exhaustive):.2f} ms "
          f"({m(exhaustive) / m(app):.1f}x)")


def fingerprint_costs(library: Library) -> tuple[float, float, str]:
    """(ms per photo lazily from the JPEG thumbnail, ms per photo at indexing from the thumbnail
    in memory, how far apart the two fingerprints are), on 300 photos."""
    cache = ThumbnailCache(library.paths.thumbnails)
    rows = library.conn.execute("SELECT path, content_hash FROM photos WHERE content_hash IS NOT NULL "
                                "ORDER BY id LIMIT 300").fetchall()
    started = time.perf_counter()
    lazy = [phash(im) if (im := cache.load(h)) is not None else 0 for _, h in rows]
    lazy_ms = 1000 * (time.perf_counter() - started) / len(rows)
    thumbs = [make_thumbnail(decode_photo(Path(path)).image) for path, _ in rows]  # as the scanner
    started = time.perf_counter()
    at_scan = [phash(t) for t in thumbs]
    scan_ms = 1000 * (time.perf_counter() - started) / len(rows)
    dist = hamming(np.array(lazy, np.uint64), np.array(at_scan, np.uint64))
    return lazy_ms, scan_ms, (f"made at indexing vs from the JPEG thumbnail: mean {dist.mean():.2f} bits "
                              f"apart, {int((dist == 0).sum())}/{len(dist)} equal, max {dist.max()}")


def photos_part(workdir: Path, do_fit: bool, rounds: int) -> RealCosts | None:
    """Part 1; returns the first run's costs for the projection of part 2 (None when skipped)."""
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
    n = len(matrix.ids)

    def name(pid: int) -> str:
        path = Path(path_of[pid])
        return str(path.relative_to(root)) if path.is_relative_to(root) else path.name

    hashes = {pid: h for pid, h in gallery.content_hashes(conn).items() if h}
    fps = library_fingerprints(conn, library.paths.thumbnails, hashes)
    lazy_ms, scan_ms, agreement = fingerprint_costs(library)
    print(f"fingerprints ({load()}): {scan_ms:.2f} ms a photo at indexing (pHash of the thumbnail "
          f"in memory), {lazy_ms:.2f} ms a photo for an older library (thumbnail decoded, once); "
          f"{agreement}")
    fingerprints = np.array([fps.get(int(i), 0) for i in matrix.ids], np.uint64)
    got = index.instance_rows(matrix.ids)
    assert got is not None
    instances = got[0]
    vecs = normalized(matrix.image)
    if do_fit:
        fit(fit_pairs, id_of, row_of, fingerprints, instances, vecs, index, matrix.ids)
    ivf_agreement(matrix.ids, vecs, fingerprints, instances)

    store = FingerprintStore(conn)
    every_hash = set(hashes.values())
    at_indexing = store.descriptors(DESCRIPTOR_KIND, every_hash)
    first: dict[str, DuplicateStats] = {}
    for kind in ("older library", "app"):
        store.forget_checks()  # time the first run as a user meets it
        if kind == "older library":  # indexed before descriptors were stored: made, then stored
            store.forget_descriptors()
        first[kind] = DuplicateStats()
        at = load()
        groups = library_duplicates(conn, library.paths.thumbnails, matrix.ids, matrix.image, index,
                                    stats=first[kind])
        print(f"first run, {'descriptors stored at indexing' if kind == 'app' else kind} ({at}): "
              f"{phase_line([first[kind]])}; {first[kind].checked} pairs compared on pixels")
        if kind == "older library":  # the ones made at indexing back, for what follows
            print(f"  it made and stored {len(store.descriptors(DESCRIPTOR_KIND, every_hash))} descriptors")
            store.put_descriptors(DESCRIPTOR_KIND, [(h, *row) for h, row in at_indexing.items()])
    repeats = []
    at = load()
    for _ in range(rounds):
        repeats.append(DuplicateStats())
        library_duplicates(conn, library.paths.thumbnails, matrix.ids, matrix.image, index, stats=repeats[-1])
    print(f"repeat run, median of {rounds} ({at}): {phase_line(repeats)}; "
          f"{repeats[-1].checked} pairs compared on pixels")
    run, older = first["app"], first["older library"]
    check_ms = 1000 * run.seconds["verification"] / max(1, run.checked)
    print(f"first run: {run.proposed} pairs proposed ({run.proposed / n:.3f} a photo), "
          f"{run.verified} verified (the others already grouped), {run.checked} compared on pixels "
          f"({run.screened_out} settled by the coarse screen), {run.copies} copies; "
          f"{check_ms:.2f} ms a pair (wall), "
          f"{1000 * older.seconds['verification'] / max(1, older.checked):.2f} ms in an older library")
    checks = store.checks(near_copy.METHOD)
    threshold = near_copy.COPY_THRESHOLD
    pixel_costs(library, sorted(checks), rounds)

    group_of = {pid: k for k, g in enumerate(groups) for pid in g}
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
    print(f"REPORT: {len(report_pairs)} pairs; library {n:,} photos; "
          f"{len(groups)} groups, {sum(map(len, groups))} photos")
    print("| pairs | in one group |")
    print("|---|---:|")
    for kind in sorted(total):
        print(f"| {kind} | {together[kind]}/{total[kind]} |")
    print(f"| all | {sum(together.values())}/{len(report_pairs)} |")
    print(f"groups with photos of different classes: {mixed}; other groups not of known copies: {unknown}")
    library.close()
    cpu_ms = 1000 * run.cpu_seconds / max(1, run.checked)
    return RealCosts(run.checked / n, check_ms, cpu_ms, lazy_ms, scan_ms, library.paths.thumbnails,
                     library.paths.root,
                     [k for k, v in checks.items() if v >= threshold],
                     [k for k, v in checks.items() if v < threshold])


def ivf_agreement(ids: np.ndarray, vecs: np.ndarray, fingerprints: np.ndarray, instances: np.ndarray) -> None:
    """The big-library path (an IVF index searched at SEARCH_NPROBE) on these real vectors:
    how many of the exact path's proposals and near-identical pairs it still finds."""
    index = VectorIndex.build(ids, vecs, "m", "", exact_limit=0)
    exact = copy_proposals(ids, vecs, None, fingerprints, instances)
    approx = copy_proposals(ids, vecs, index, fingerprints, instances)
    same = len({tuple(p) for p in exact.tolist()} & {tuple(p) for p in approx.tolist()})
    near_exact = _neighbour_pairs(None, ids, vecs, 1)
    near_ivf = _neighbour_pairs(index, ids, vecs, 1)
    first = int((near_exact[0][:, 1] == near_ivf[0][:, 1]).sum()) if len(near_ivf[0]) == len(ids) else -1
    print(f"IVF path on these vectors ({index.kind}, nprobe {duplicates.SEARCH_NPROBE} of "
          f"{index.nprobe} tuned): {same}/{len(exact)} exact proposals found ({len(approx)} made); "
          f"nearest neighbour the exact one for {first}/{len(ids)} photos")


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
    frontier = []
    for per_photo in (0.05, 0.1, 0.15, 0.2, 0.25):
        within = [r for r in results if -r[1] <= per_photo * len(ids)]
        best = max(within, default=(0, 0))
        frontier.append(f"{per_photo}: {best[0]} with {-best[1]}")
    print("  FIT pairs found by the best rule within a budget of proposals a photo: " + "; ".join(frontier))
    print(f"  vector rule: the most FIT pairs found with at most {budget:.0f} proposals "
          f"({PROPOSAL_BUDGET} per photo): PROPOSE_NEIGHBOURS = {chosen[2]}, PROPOSE_COSINE = "
          f"{chosen[3]}, PROPOSE_INSTANCE = {chosen[4]}: {chosen[0]}/{len(rest)} with {-chosen[1]} "
          f"proposals (unlimited, the best rule finds {max(r[0] for r in results)})")


def synthetic_part(n: int, dim: int, costs: RealCosts | None, rounds: int) -> None:
    rng = np.random.default_rng(0)
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
    print(f"\nsynthetic: {n:,} photos x {dim}, {len(copies):,} planted copies, data in "
          f"{time.perf_counter() - started:.1f} s")
    at = load()
    started = time.perf_counter()
    index = VectorIndex.build(ids, vectors, "bench", "", instance=instances)
    print(f"  the library's FAISS index (Find similar's, already on disk in a library): {index.kind}, "
          f"built in {time.perf_counter() - started:.1f} s ({at})")
    centred = index.instance_rows(ids)
    assert centred is not None
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "lib") as library:
        store = FingerprintStore(library.conn)
        keys = [f"{i:064x}" for i in range(n)]
        store.put_many(KIND, [(k, to_signed(int(v))) for k, v in zip(keys, fingerprints, strict=True)])
        read = []
        for _ in range(rounds):
            started = time.perf_counter()
            known = store.get(KIND)
            np.array([from_signed(known[k]) for k in keys], np.uint64)
            read.append(time.perf_counter() - started)
    checked: list[tuple[int, int]] = []

    def verify(a: int, b: int) -> bool:
        checked.append((a, b))
        return (a, b) in truth or (b, a) in truth

    runs: dict[str, list[DuplicateStats]] = {}
    found = 0
    at = load()
    for r in range(rounds):
        for given in (index, None):
            checked.clear()
            stats = DuplicateStats()
            stats.seconds["fingerprints"] = read[r]
            groups = duplicate_groups(ids, [""] * n, vectors, DUPLICATE_THRESHOLD, given,
                                      fingerprints=fingerprints, instances=centred[0], verify=verify,
                                      stats=stats)
            offered = "the library's index given" if given is not None else "no index given"
            runs.setdefault(f"{offered}, neighbours from: {stats.neighbours_from}", []).append(stats)
            found = sum(1 for g in groups for a in g for b in g if (a, b) in truth)
    print(f"  ({at} at the start, {load()} at the end; medians of {rounds})")
    for source, stats_list in runs.items():
        print(f"  Duplicates, {source}: {phase_line(stats_list)}")
    print(f"  planted copies grouped: {found}/{len(truth)}; pairs verified: {len(checked):,} "
          f"(the synthetic fingerprints and instance vectors propose only planted pairs)")
    repeat = statistics.median(sum(r.seconds.values()) for r in next(iter(runs.values())))
    if costs is None:
        print("  first run: part 1 skipped, no measured check cost to project it with")
        return
    checks = costs.checks_per_photo * n
    print(f"  projected at 100 % of part 1's rates: a first run compares {checks:,.0f} pairs "
          f"({costs.checks_per_photo:.3f} a photo) at {costs.check_ms:.1f} ms = "
          f"{checks * costs.check_ms / 1000:.0f} s (CPU {costs.check_cpu_ms:.1f} ms a pair = "
          f"{checks * costs.check_cpu_ms / 1000:.0f} CPU s) on top of the {repeat:.1f} s above, once "
          f"(stored); an older library also makes {n:,} fingerprints once at {costs.lazy_ms:.2f} ms = "
          f"{n * costs.lazy_ms / 1000:.0f} s (at indexing: {costs.scan_ms:.2f} ms a photo)")


def real_first_run(n: int, dim: int, costs: RealCosts, processes: bool = True) -> None:
    """A first run at n photos on real pixels: synthetic vectors with planted pairs at part 1's
    rate of pixel checks a photo, each planted pair shown the thumbnails of a pair part 1
    compared (its copies, and the proposals that were not copies), every photo prepared afresh
    (the check caches by photo id), through duplicate_groups and the app's NearCopyCheck on the
    library's stored descriptors. Nothing is stored: this is the run a user meets once.
    `processes`: big batches over every core, as the app (else all in this process)."""
    rng = np.random.default_rng(1)
    planted = round(costs.checks_per_photo * n)
    n_copies = min(planted, n // 100)
    n_pairs = min(planted, n // 2)
    vectors = clustered(n, dim)
    rows = rng.permutation(n)[: 2 * n_pairs].reshape(n_pairs, 2)
    # each planted pair: image vectors at cosine ~0.85 and close instance vectors, so that the
    # app proposes it exactly as it proposes a crop (nearest neighbour, both cosines high)
    noise = normalized(rng.standard_normal((n_pairs, dim)).astype(np.float32))
    vectors[rows[:, 0]] = normalized(vectors[rows[:, 1]] + 0.6 * noise)
    instances = normalized(rng.standard_normal((n, 64)).astype(np.float32))
    instances[rows[:, 0]] = normalized(instances[rows[:, 1]] + 0.3 * normalized(
        rng.standard_normal((n_pairs, 64)).astype(np.float32)))
    fingerprints = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    ids = np.arange(1, n + 1, dtype=np.int64)
    shown: dict[int, str] = {}
    truth = set()
    for k, (a, b) in enumerate(rows.tolist()):
        real = costs.copies[k % len(costs.copies)] if k < n_copies else costs.others[k % len(costs.others)]
        shown[int(ids[a])], shown[int(ids[b])] = real
        if k < n_copies:
            truth.add((int(ids[a]), int(ids[b])))
    index = VectorIndex.build(ids, vectors, "bench", "", instance=instances)
    centred = index.instance_rows(ids)
    assert centred is not None
    with Library(costs.library) as library:
        # the app's check on the library's stored descriptors (each read from SQLite as the app
        # reads it), a photo id showing the thumbnail of the Caltech photo it stands for
        described = LibraryDescriptors(library.conn, ThumbnailCache(costs.thumbnails), shown)
        check = library_copy_check(library.conn, costs.thumbnails, described, processes=processes)

        def verify_many(pairs: list[tuple[int, int]]) -> list[bool]:  # as library_duplicates'
            return [s is not None and s >= check.threshold for s in check.similarities(pairs)]

        stats = DuplicateStats()
        at = load()
        try:
            groups = duplicate_groups(ids, [""] * n, vectors, DUPLICATE_THRESHOLD, index,
                                      fingerprints=fingerprints, instances=centred[0],
                                      verify_many=verify_many, stats=stats)
        finally:  # as library_duplicates: its worker processes end, their CPU time is counted
            check.close()
            stats.cpu_seconds += check.pool.worker_cpu_seconds if check.pool else 0.0
        assert not described.made, "every Caltech photo has a descriptor stored at indexing"
    grouped = {(a, b) for g in groups for a in g for b in g if a < b}
    found = sum((a, b) in grouped or (b, a) in grouped for a, b in truth)
    compared = check.screened_out + check.fully_checked
    print(f"\nfirst run on real pixels: {n:,} photos x {dim}, {n_pairs:,} planted pairs "
          f"({costs.checks_per_photo:.3f} a photo, part 1's rate), {n_copies:,} of them shown a copy "
          f"({len(costs.copies)} real copy pairs) and the rest a real non-copy proposal "
          f"({len(costs.others)} pairs) ({at} at the start, {load()} at the end):")
    print(f"  {phase_line([stats])}; {compared:,} pairs compared on pixels ({check.screened_out:,} "
          f"settled by the screen, {check.fully_checked:,} fully), "
          f"{1000 * stats.seconds.get('verification', 0.0) / max(1, compared):.2f} ms a pair (wall); "
          + (f"{check.pool.used} batches over {check.pool.workers + 1} processes, "
             f"{check.pool.worker_cpu_seconds:.1f} CPU s in workers" if check.pool else "in-process"))
    print(f"  planted copies grouped {found:,}/{len(truth):,}; groups {len(groups):,} "
          f"({len(grouped) - found:,} pairs grouped that were not planted copies)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=None, help="copies and library (reused when present)")
    ap.add_argument("--fit", action="store_true", help="print the proposal constants fitted on FIT")
    ap.add_argument("--size", type=int, default=100_000, help="photos in the synthetic part")
    ap.add_argument("--dim", type=int, default=512, help="image vector size in the synthetic part "
                    "(512: CLIP ViT-B-32; the offline default model's is 1280)")
    ap.add_argument("--skip-photos", action="store_true", help="only the synthetic part")
    ap.add_argument("--rounds", type=int, default=3, help="timed repeat runs (median)")
    ap.add_argument("--in-process", action="store_true",
                    help="the first run's pixel checks all in this process (no worker processes)")
    ap.add_argument("--skip-first-run", action="store_true",
                    help="no first run on real pixels at --size photos (part 2)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    costs = None
    if not args.skip_photos:
        costs = photos_part(args.workdir or Path(tempfile.mkdtemp(prefix="photomgr-bench-dup-")),
                            args.fit, args.rounds)
    synthetic_part(args.size, args.dim, costs, args.rounds)
    if costs is not None and not args.skip_first_run:
        real_first_run(args.size, args.dim, costs, processes=not args.in_process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
