"""Find-similar latency and recall@10: exact search vs the index VectorIndex.build picks by size.

Synthetic data: a two-level gaussian mixture (super-clusters -> clusters -> photos), normalised,
so neighbours are meaningful and ANN recall is not trivially 1.0 (see clustered()). Queries are
library photos, the photo itself excluded, as in the app's "Find similar". Single-query
latency is the median over rounds of the median over 50 queries (20 for exact at 1M).

    python bench/bench_similar.py                 # 100k and 1M, dim 512 (a few minutes)
    python bench/bench_similar.py --sizes 100000 --dim 1280
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine
from photomgr.core.index.ivf import exact_topk_rows
from photomgr.core.index.vector_index import EXACT, VectorIndex, fingerprint, normalized


def machine_info() -> str:
    return (f"{machine()}, numpy {np.__version__}, faiss {faiss.__version__}, "
            f"faiss threads {faiss.omp_get_max_threads()}")


def clustered(n: int, dim: int, seed: int = 0, per_cluster: int = 10, per_super: int = 10,
              noise: float = 0.9) -> np.ndarray:
    """Unit vectors from a two-level gaussian mixture: super-cluster centre (theme, N(0, 1) per
    coordinate) + cluster offset (event / burst of ~`per_cluster` photos, N(0, 1)) + photo
    noise (N(0, noise^2)), the same structure at every library size.

    noise 0.9 gives nearest-neighbour cosine ~0.73 and 10th ~0.58 (random pairs ~0), and the
    top-10 spills out of the photo's own cluster, so IVF cells cut through neighbourhoods.
    Larger noise makes neighbours nearly equidistant, the hard case for any ANN index
    (--noise 1.3: nearest ~0.55).
    """
    rng = np.random.default_rng(seed)
    n_super = max(1, n // (per_cluster * per_super))
    clusters = np.repeat(rng.standard_normal((n_super, dim), dtype=np.float32), per_super, axis=0)
    clusters += rng.standard_normal(clusters.shape, dtype=np.float32)
    out = np.empty((n, dim), np.float32)
    block = 100_000
    for start in range(0, n, block):
        m = min(block, n - start)
        out[start:start + m] = clusters[rng.integers(0, len(clusters), m)]
        out[start:start + m] += noise * rng.standard_normal((m, dim), dtype=np.float32)
    return normalized(out)


def latency_ms(index: VectorIndex, vectors: np.ndarray, ids: np.ndarray, rows: np.ndarray,
               rounds: int) -> float:
    """Median over `rounds` of the per-round median single-query latency."""
    medians = []
    for _ in range(rounds):
        times = []
        for r in rows:
            t = time.perf_counter()
            index.search(vectors[r], 10, exclude={int(ids[r])})
            times.append(time.perf_counter() - t)
        medians.append(statistics.median(times))
    return 1000 * statistics.median(medians)


def recall_at_10(index: VectorIndex, vectors: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> float:
    truth = ids[exact_topk_rows(vectors, np.ascontiguousarray(vectors[rows]), 11)]
    hits = total = 0
    for r, t in zip(rows, truth, strict=True):
        want = {int(x) for x in [x for x in t if x != ids[r]][:10]}
        got = {i for i, _ in index.search(vectors[r], 10, exclude={int(ids[r])})}
        hits += len(got & want)
        total += len(want)
    return hits / max(1, total)


def bench_size(n: int, dim: int, n_queries: int, rounds: int, with_other: bool,
               noise: float) -> list[list[str]]:
    t = time.perf_counter()
    vectors = clustered(n, dim, noise=noise)
    ids = np.arange(1, n + 1, dtype=np.int64)
    gen_s = time.perf_counter() - t
    rows = np.random.default_rng(7).choice(n, n_queries, replace=False)
    print(f"[n={n:,} dim={dim}] data generated in {gen_s:.1f} s", file=sys.stderr)
    table = []
    auto = VectorIndex.build(ids[:10], vectors[:10], "bench", "")  # warm-up: faiss and BLAS threads
    for label, limit in (("auto", None), ("other", -1)):
        if label == "other" and not with_other:
            break
        if label == "other":  # the kind auto did not pick, for comparison
            limit = n if auto.kind != EXACT else 0
            del auto
        t = time.perf_counter()
        auto = VectorIndex.build(ids, vectors, "bench", fingerprint(ids, "bench"), exact_limit=limit)
        build_s = time.perf_counter() - t
        print(f"  {label} index: {auto.kind} built in {build_s:.1f} s", file=sys.stderr)
        q_rows = rows[:50] if auto.kind != EXACT or n <= 200_000 else rows[:20]
        ms = latency_ms(auto, vectors, ids, q_rows, rounds)
        rec = recall_at_10(auto, vectors, ids, rows) if auto.kind != EXACT else 1.0
        detail = "-" if auto.kind == EXACT else \
            f"nlist {faiss.extract_index_ivf(auto.index).nlist}, nprobe {auto.nprobe}"
        table.append([f"{n:,}", str(dim), f"{label}: {auto.kind}", detail, f"{build_s:.1f}",
                      f"{ms:.2f}", f"{rec:.3f}"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200, help="queries for recall")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds (median of medians)")
    parser.add_argument("--auto-only", action="store_true", help="skip the kind the size rule did not pick")
    parser.add_argument("--noise", type=float, default=0.9, help="photo noise of the mixture (see clustered)")
    args = parser.parse_args()
    print(f"Machine: {machine_info()}")
    print(f"Data: two-level gaussian mixture, noise {args.noise}; queries are library photos "
          "(self excluded), k=10\n")
    rows = []
    for n in args.sizes:
        rows += bench_size(n, args.dim, args.queries, args.rounds, not args.auto_only, args.noise)
    print("| photos | dim | index | parameters | build s | query ms (median) | recall@10 |")
    print("|---:|---:|---|---|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
