"""Find similar with and without the pixel-level near-copy check, on Caltech-101 dev.

    python -m bench.bench_near_copy [--library DIR] [--queries 300]

Indexes ../shared/photos/caltech101-dev into a temporary library with the offline default
model (or reuses --library, e.g. the one bench/eval_tagging.py --library left), then runs the
app's `find_similar` for
  (1) every Faces_easy photo whose Faces twin is present: is the twin the first result?
  (2) a random sample of other photos: how often is any candidate promoted as a near-copy,
      and is it of the query's class (Caltech dev has no true copies outside Faces/Faces_easy,
      so every promotion there is worth a look)?
and prints median latencies (k = 10) with and without the check, measured alternately in one run.
Skips with a message when the test photos are absent.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import machine, shared_photos
from photomgr.core.library.database import Library
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models.registry import load_embedder
from photomgr.core.search.similar import find_similar
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.near_copies import library_copy_check
from photomgr.core.services.vector_index import load_or_build_index

K = 10


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", type=Path, default=None, help="an already indexed library to reuse")
    ap.add_argument("--queries", type=int, default=300, help="random non-Faces queries")
    args = ap.parse_args()
    root = shared_photos() / "caltech101-dev"
    if not (root / "labels.csv").is_file():
        print(f"SKIP: Caltech-101 dev photos not found at {root} (set PHOTOMGR_SHARED_PHOTOS)")
        return 0
    print(f"machine: {machine()}")
    truth = {}
    with (root / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            truth[str((root / row["path"]).resolve())] = row["label"]

    lib_root = args.library or Path(tempfile.mkdtemp(prefix="photomgr-bench-copy-"))
    with Library(lib_root) as library:
        embedder = load_embedder("default")
        model_id = embedder.info.model_id
        started = time.perf_counter()
        index_folders(library, [root.resolve()], embedder=embedder)
        print(f"library {lib_root}: indexed / checked in {time.perf_counter() - started:.1f} s")
        index = load_or_build_index(library.conn, library.paths.index_dir, model_id)
        assert index is not None
        matrix = VectorStore(library.conn).matrix(model_id)
        path_of = dict(library.conn.execute("SELECT id, path FROM photos"))
        id_of = {p: i for i, p in path_of.items()}

        def query(pid: int, check: bool) -> tuple[list[tuple[int, float]], float]:
            vector = matrix.image[np.searchsorted(matrix.ids, pid)]
            t = time.perf_counter()
            copies = library_copy_check(library.conn, library.paths.thumbnails) if check else None
            hits = find_similar(index, pid, vector, K, copies=copies)
            return hits, (time.perf_counter() - t) * 1000

        with_ms: list[float] = []
        without_ms: list[float] = []
        twins = {True: 0, False: 0}
        pairs = 0
        for path, pid in sorted(id_of.items()):
            twin = id_of.get(path.replace("/Faces_easy/", "/Faces/"))
            if "/Faces_easy/" not in path or twin is None:
                continue
            pairs += 1
            for check, times in ((False, without_ms), (True, with_ms)):
                hits, ms = query(pid, check)
                times.append(ms)
                twins[check] += int(bool(hits) and hits[0][0] == twin)
        print(f"(1) Faces_easy -> Faces twin first: {twins[True]}/{pairs} with the near-copy check, "
              f"{twins[False]}/{pairs} without")

        rng = np.random.default_rng(0)
        others = [int(i) for i in matrix.ids if "/Faces" not in path_of[int(i)]]
        sample = rng.choice(others, size=min(args.queries, len(others)), replace=False)
        promoted = same_class = queries_with = 0
        for pid in sample.tolist():
            plain, ms_plain = query(pid, False)
            checked, ms_checked = query(pid, True)
            without_ms.append(ms_plain)
            with_ms.append(ms_checked)
            # a promotion shows as a result that was not in the plain top-K, or moved up
            plain_rank = {p: r for r, (p, _) in enumerate(plain)}
            moved = [p for r, (p, _) in enumerate(checked) if plain_rank.get(p, K) > r]
            copies = library_copy_check(library.conn, library.paths.thumbnails)
            verified = [p for p in moved if (copies.similarity(pid, p) or -1.0) >= copies.threshold]
            queries_with += int(bool(verified))
            promoted += len(verified)
            label = truth.get(path_of[pid])
            same_class += sum(truth.get(path_of[p]) == label for p in verified)
            for p in verified:
                print(f"    promoted: {Path(path_of[pid]).relative_to(root)} -> "
                      f"{Path(path_of[p]).relative_to(root)}")
        print(f"(2) {len(sample)} other queries: {queries_with} had a near-copy promoted "
              f"({promoted} photos, {same_class} of the query's class)")
        print(f"(3) Find similar k={K}, median of {len(with_ms)} queries: "
              f"{statistics.median(with_ms):.1f} ms with the check, "
              f"{statistics.median(without_ms):.2f} ms without")
    return 0


if __name__ == "__main__":
    sys.exit(main())
