"""What descriptions cost at index time: indexing end to end with descriptions on vs off, in one
run, alternating (off, on, on, off, ...) so that a machine that warms up or gets busier loads
both sides alike; the median of each side.

    python -m bench.bench_descriptions_cost [--limit 600] [--rounds 3] [--reference]
        [--describe-threads N]

Each run indexes the same Caltech photos into a fresh library through the app's real path
(`index_folders`: scan, hash, decode, thumbnail, embed, describe, store, FAISS index), with the
library's `descriptions.enabled` setting and the model loaded as the app loads it for that
setting (`load_embedder(describe=...)`). The target (issue 12): at most 25% slower with
descriptions on. Also reported: how many photos got a non-empty description.
--reference adds a third side in the same alternation: descriptions on, decoded by the plain
training module (caption_search.greedy_search in float32, the decoding shipped before
caption_infer.FastGreedy), to show what the faster decoding saves in the same run.
--describe-threads N adds a side that describes at N torch threads (the image tower keeps
torch's count), to see whether the decoder's small operations are worth a second thread
while the decode workers share the cores.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

# isort: off
# First, as in the app (which imports torch only through this package): it sets OpenMP's wait
# policy before torch loads; the policy decides what every small parallel operation costs.
import photomgr.core.models  # noqa: F401
import torch
# isort: on

from bench.bench_indexing import stage
from bench.common import machine, reference_caption_decoding, shared_photos
from photomgr.core.library import descriptions
from photomgr.core.library.database import Library
from photomgr.core.models.base import Embedder, describer_status
from photomgr.core.ops.describing import DescriptionOps
from photomgr.core.services.indexing import index_folders

TARGET = 0.25  # slowdown allowed with descriptions on


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # this process's CPU time, all threads: less sensitive to other jobs' load
    embedded: int
    described: int
    non_empty: int  # descriptions that say something
    captioners: set[str]  # the model ids stored with them


def index_once(embedder: Embedder, folder: Path, tmp: Path, on: bool) -> Run:
    root = tmp / f"lib-{time.monotonic_ns()}"
    with Library(root) as library:
        DescriptionOps(library.conn).set_enabled(on)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = index_folders(library, [folder], embedder=embedder)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        ids = [int(r[0]) for r in library.conn.execute("SELECT id FROM photos")]
        shown = descriptions.shown(library.conn, ids).values()
    shutil.rmtree(root, ignore_errors=True)
    return Run(seconds, cpu_seconds, result.embed.embedded, result.embed.described,
               sum(1 for d in shown if d.text.strip()), {d.model_id or "user" for d in shown})


def describing_at(embedder: Embedder, threads: int) -> Embedder:
    """`embedder` with its captioner's describe run at `threads` torch threads (bench only)."""
    captioner = getattr(embedder, "captioner", None)
    if captioner is None:
        raise SystemExit("--describe-threads: this embedder has no captioner")
    describe = captioner.describe

    def at_threads(inputs: torch.Tensor) -> list[str]:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return cast(list[str], describe(inputs))
        finally:
            torch.set_num_threads(before)

    captioner.describe = at_threads
    return embedder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=600, help="Caltech dev photos (default 600)")
    ap.add_argument("--rounds", type=int, default=3, help="runs per side (default 3, median reported)")
    ap.add_argument("--backend", choices=("default", "clip"), default="default")
    ap.add_argument("--reference", action="store_true",
                    help="also index with the float32 reference decoding (default backend)")
    ap.add_argument("--describe-threads", type=int,
                    help="also index describing at this many torch threads")
    args = ap.parse_args()
    caltech = shared_photos() / "caltech101-dev"
    if not caltech.is_dir():
        print(f"SKIP: {caltech} not found")
        return 0
    from photomgr.core.models.registry import load_embedder

    sides: dict[str, tuple[Embedder, bool]] = {"off": (load_embedder(args.backend, describe=False), False),
                                               "on": (load_embedder(args.backend, describe=True), True)}
    problem = describer_status(sides["on"][0])
    if problem is not None:
        print(f"SKIP: the {args.backend} model writes no descriptions here: {problem}")
        return 1
    if args.reference:
        reference = reference_caption_decoding(load_embedder(args.backend, describe=True))
        sides["on, reference decoding"] = (reference, True)
    if args.describe_threads:
        threaded = describing_at(load_embedder(args.backend, describe=True), args.describe_threads)
        sides[f"on, describe at {args.describe_threads} thread(s)"] = (threaded, True)
    photos = sorted(caltech.rglob("*.jpg"))
    random.Random(0).shuffle(photos)
    photos = photos[:args.limit]
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    captioners: set[str] = set()
    lines = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "photos"
        stage(photos, folder)
        warm = tmp / "warm-up"
        stage(photos[:48], warm)
        for embedder, on in sides.values():  # warm-up: kernels, allocator, each model's first calls
            index_once(embedder, warm, tmp, on)
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for name in order:
                embedder, on = sides[name]
                load = os.getloadavg()[0]
                run = index_once(embedder, folder, tmp, on)
                times[name].append(run.seconds)
                cpu[name].append(run.cpu_seconds)
                captioners |= run.captioners
                lines.append(f"| {r + 1} | {name} | {run.embedded} | {run.described} | {run.non_empty} | "
                             f"{run.seconds:.1f} | {run.embedded / run.seconds:.1f} | "
                             f"{run.cpu_seconds:.1f} | {load:.1f} |")
                print(lines[-1], file=sys.stderr, flush=True)
    med = {name: statistics.median(t) for name, t in times.items()}
    med_cpu = {name: statistics.median(t) for name, t in cpu.items()}
    print(f"# Descriptions: indexing cost ({machine()}, torch threads {torch.get_num_threads()}, "
          f"{args.backend} model, captioners {', '.join(sorted(captioners - {'user'}))})\n")
    print(f"{len(photos)} Caltech dev photos, each run a fresh library, `index_folders` end to end; "
          f"runs alternate ({' / '.join(sides)}, then reversed), {args.rounds} per side.\n")
    print("| round | descriptions | photos | described | non-empty | seconds | photos/s | CPU s | "
          "load before |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    print(f"\nMedian: off {med['off']:.1f} s ({med_cpu['off']:.1f} CPU s).")
    for name in sides:
        if name == "off":
            continue
        slowdown = med[name] / med["off"] - 1
        verdict = "meets" if slowdown <= TARGET else "MISSES"
        print(f"- {name}: {med[name]:.1f} s, {slowdown:+.1%} ({verdict} the {TARGET:.0%} target); "
              f"CPU {med_cpu[name]:.1f} s, {med_cpu[name] / med_cpu['off'] - 1:+.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
