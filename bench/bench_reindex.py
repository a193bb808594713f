"""Incremental re-index of an unchanged tree of 10,000 photos (nothing is opened again).

    python -m bench.bench_reindex [--count 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.common import machine
from photomgr.core.library.database import Library
from photomgr.core.services.indexing import index_folders


def make_tree(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / f"{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (i % 256, (i // 256) % 256, 128)).save(folder / f"p{i:05d}.jpg")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree, lib_root = Path(tmp) / "photos", Path(tmp) / "lib"
        make_tree(tree, args.count)
        with Library(lib_root) as library:
            t = time.perf_counter()
            first = index_folders(library, [tree], model=None)
            first_s = time.perf_counter() - t
            assert first.scan.new == args.count, first.scan
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                again = index_folders(library, [tree], model=None)
                times.append(time.perf_counter() - t)
                assert again.scan.unchanged == args.count and again.scan.new == 0
    rerun = statistics.median(times)
    print(f"# Incremental re-index ({machine()})\n")
    print("| photos | first index (no model) s | unchanged re-index s (median) | ratio |")
    print("|---:|---:|---:|---:|")
    print(f"| {args.count} | {first_s:.2f} | {rerun:.3f} | {rerun / first_s:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
