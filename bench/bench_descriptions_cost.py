"""What descriptions cost at index time: indexing end to end with descriptions on vs off, in one
run, alternating (off, on, on, off, ...) so that a machine that warms up or gets busier loads
both sides alike; the median of each side.

    python -m bench.bench_descriptions_cost [--limit 600] [--rounds 3]

Each run indexes the same Caltech photos into a fresh library through the app's real path
(`index_folders`: scan, hash, decode, thumbnail, embed, describe, store, FAISS index), with the
library's `descriptions.enabled` setting and the model loaded as the app loads it for that
setting (`load_embedder(describe=...)`). The target (issue 12): at most 25% slower with
descriptions on. Also reported: how many photos got a non-empty description.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.bench_indexing import stage
from bench.common import machine, shared_photos
from photomgr.core.library import descriptions
from photomgr.core.library.database import Library
from photomgr.core.models.base import Embedder, describer_status
from photomgr.core.ops.describing import DescriptionOps
from photomgr.core.services.indexing import index_folders

TARGET = 0.25  # slowdown allowed with descriptions on


@dataclass
class Run:
    seconds: float
    embedded: int
    described: int
    non_empty: int  # descriptions that say something
    captioners: set[str]  # the model ids stored with them


def index_once(embedder: Embedder, folder: Path, tmp: Path, on: bool) -> Run:
    root = tmp / f"lib-{time.monotonic_ns()}"
    with Library(root) as library:
        DescriptionOps(library.conn).set_enabled(on)
        started = time.perf_counter()
        result = index_folders(library, [folder], embedder=embedder)
        seconds = time.perf_counter() - started
        ids = [int(r[0]) for r in library.conn.execute("SELECT id FROM photos")]
        shown = descriptions.shown(library.conn, ids).values()
    shutil.rmtree(root, ignore_errors=True)
    return Run(seconds, result.embed.embedded, result.embed.described,
               sum(1 for d in shown if d.text.strip()), {d.model_id or "user" for d in shown})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=600, help="Caltech dev photos (default 600)")
    ap.add_argument("--rounds", type=int, default=3, help="runs per side (default 3, median reported)")
    ap.add_argument("--backend", choices=("default", "clip"), default="default")
    args = ap.parse_args()
    caltech = shared_photos() / "caltech101-dev"
    if not caltech.is_dir():
        print(f"SKIP: {caltech} not found")
        return 0
    from photomgr.core.models.registry import load_embedder

    off = load_embedder(args.backend, describe=False)
    on = load_embedder(args.backend, describe=True)
    problem = describer_status(on)
    if problem is not None:
        print(f"SKIP: the {args.backend} model writes no descriptions here: {problem}")
        return 1
    photos = sorted(caltech.rglob("*.jpg"))
    random.Random(0).shuffle(photos)
    photos = photos[:args.limit]
    times: dict[bool, list[float]] = {False: [], True: []}
    captioners: set[str] = set()
    lines = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "photos"
        stage(photos, folder)
        warm = tmp / "warm-up"
        stage(photos[:48], warm)
        index_once(on, warm, tmp, True)  # warm-up: kernels, allocator, both models' first calls
        index_once(off, warm, tmp, False)
        for r in range(args.rounds):
            for side in ((False, True) if r % 2 == 0 else (True, False)):
                run = index_once(on if side else off, folder, tmp, side)
                times[side].append(run.seconds)
                captioners |= run.captioners
                lines.append(f"| {r + 1} | {'on' if side else 'off'} | {run.embedded} | {run.described} | "
                             f"{run.non_empty} | {run.seconds:.1f} | {run.embedded / run.seconds:.1f} |")
                print(lines[-1], file=sys.stderr, flush=True)
    med_off, med_on = statistics.median(times[False]), statistics.median(times[True])
    slowdown = med_on / med_off - 1
    print(f"# Descriptions: indexing cost ({machine()}, torch threads {torch.get_num_threads()}, "
          f"{args.backend} model, captioner {', '.join(sorted(captioners))})\n")
    print(f"{len(photos)} Caltech dev photos, each run a fresh library, `index_folders` end to end; "
          f"runs alternate off/on, {args.rounds} per side.\n")
    print("| round | descriptions | photos | described | non-empty | seconds | photos/s |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    verdict = "meets" if slowdown <= TARGET else "MISSES"
    print(f"\nMedian: off {med_off:.1f} s, on {med_on:.1f} s: descriptions on is "
          f"{slowdown:+.1%} ({verdict} the {TARGET:.0%} target).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
