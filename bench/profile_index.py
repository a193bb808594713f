"""Where the time of one index run goes, per stage, and three rates measured in one run.

    python -m bench.profile_index --backend clip|default --set small|camera [--n 300]
        [--threads T] [--workers W]

Rates, all on the same staged photos, in this order:
- whole command: `photomgr index` as its own process on a fresh library, from process start to
  exit (interpreter start, imports, model load, scan, embed, FAISS);
- pipeline (steady state): one `index_folders` run in this process with the model already
  loaded, from the first photo decoded to the last photo's vectors stored;
- model only: the forward pass alone on the same photos, already decoded and preprocessed
  (batch 32, median of 3 passes).

Per stage, from the in-process run with each stage's functions wrapped with timers: worker
stages (hash, decode, thumbnail, model input) are CPU seconds summed over the decode threads
(time.thread_time): on a 2-core machine that is the CPU they take from the model; main-thread
stages (walk, database writes, embed, FAISS) are wall seconds, and the embed's CPU (all of torch's
threads) is measured too. Imports of the `index` command and the model load are timed in fresh
processes. `--threads` sets torch's intra-op threads, `--workers` the decode threads (defaults:
what photomgr picks).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.bench_vs_rclip import caltech_photos, camera_sources, photomgr_clip_weights, stage
from bench.common import REPO, machine

CPU: dict[str, float] = defaultdict(float)
WALL: dict[str, float] = defaultdict(float)
MARKS: dict[str, float] = {}  # first photo decoded, last vectors stored (perf_counter)
_LOCK = threading.Lock()


def cpu_timed(name: str, fn: Callable[..., Any], *, first: str | None = None) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with _LOCK:
                CPU[name] += spent
                if first is not None:
                    MARKS.setdefault(first, time.perf_counter())
    return wrapper


def process_timed(name: str, fn: Callable[..., Any], *, last: str | None = None) -> Callable[..., Any]:
    """Wall seconds, plus the CPU of the whole process meanwhile (torch's own threads included;
    the decode threads running at the same time are in it too, so it is an upper bound)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            WALL[name] += time.perf_counter() - wall
            CPU[f"{name}, whole process"] += time.process_time() - cpu
            if last is not None:
                MARKS[last] = time.perf_counter()
    return wrapper


def wall_timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            WALL[name] += time.perf_counter() - started
    return wrapper


def timed_walk(walk: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        it = walk(*args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                WALL["walk"] += time.perf_counter() - started
                return
            WALL["walk"] += time.perf_counter() - started
            yield item
    return wrapper


def instrument(embedder: Any) -> None:
    from photomgr.core.imaging.thumbnails import ThumbnailCache
    from photomgr.core.pipeline import analyze, embedding
    from photomgr.core.scanning import scanner
    from photomgr.core.services import indexing

    analyze.hash_stream = cpu_timed("hash", analyze.hash_stream)  # type: ignore[attr-defined]
    analyze.decode_photo = cpu_timed("decode", analyze.decode_photo,  # type: ignore[attr-defined]
                                     first="first decoded")
    ThumbnailCache.save = cpu_timed("thumbnail", ThumbnailCache.save)  # type: ignore[method-assign]
    embedding.EmbeddingSink.prepare = cpu_timed(  # type: ignore[method-assign]
        "model input (resize, tensor)", embedding.EmbeddingSink.prepare)
    scanner.walk = timed_walk(scanner.walk)  # type: ignore[attr-defined]
    scanner.Scanner._record = wall_timed(  # type: ignore[method-assign]
        "database writes (photos)", scanner.Scanner._record)
    embedding.VectorStore.put_many = process_timed(  # type: ignore[method-assign]
        "database writes (vectors)", embedding.VectorStore.put_many, last="last stored")
    embedder.embed_images = process_timed("embed (model forward)", embedder.embed_images)
    indexing.load_or_build_index = wall_timed(  # type: ignore[attr-defined]
        "FAISS index", indexing.load_or_build_index)


def startup_seconds(backend: str, weights: Path) -> tuple[float, float]:
    """(imports of the index command, model load) in fresh processes, median of 3."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    imports = ("import photomgr.cli.main, photomgr.core.services.indexing, "
               "photomgr.core.pipeline.embedding")
    load = (f"{imports}\nimport time\nfrom photomgr.core.models.registry import load_embedder\n"
            f"t=time.perf_counter()\nload_embedder({backend!r}, clip_weights="
            f"{str(weights) if backend == 'clip' else None!r} and __import__('pathlib').Path("
            f"{str(weights)!r}), device='cpu')\nprint(time.perf_counter()-t)")
    import statistics

    times, loads = [], []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", imports], env=env, check=True)
        times.append(time.perf_counter() - started)
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", load], env=env, check=True,
                             capture_output=True, text=True).stdout
        loads.append(float(out.strip().splitlines()[-1]))
    return statistics.median(times), statistics.median(loads)


def measure_model_only(embedder: Any, files: list[Path]) -> tuple[float, float]:
    """(photos/s, CPU ms per photo of the whole process) of the forward pass alone, on the
    photos already decoded and preprocessed, batch 32, median of 3 passes after a warm-up."""
    import statistics

    import torch

    from photomgr.core.imaging.decode import decode_photo
    from photomgr.core.pipeline.embedding import DEFAULT_BATCH

    tensors = [embedder.preprocess(decode_photo(p, min_side=embedder.input_size).image) for p in files]
    batches = [torch.stack(tensors[i:i + DEFAULT_BATCH]) for i in range(0, len(tensors), DEFAULT_BATCH)]
    embedder.embed_images(batches[0])
    rates, cpus = [], []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            embedder.embed_images(batch)
        rates.append(len(files) / (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu) / len(files))
    return statistics.median(rates), statistics.median(cpus)


def whole_command(backend: str, weights: Path, folder: Path, tmp: Path) -> float:
    """Seconds of `photomgr index` as its own process, fresh library (bench_vs_rclip's way)."""
    from bench.bench_vs_rclip import index_photomgr

    run, _ = index_photomgr(backend, weights, folder, tmp)
    return run.seconds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("clip", "default"), required=True)
    ap.add_argument("--set", choices=("small", "camera"), required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: photomgr's)")
    ap.add_argument("--workers", type=int, default=0, help="decode threads (0: photomgr's)")
    ap.add_argument("--no-startup", action="store_true", help="skip the fresh-process timings")
    args = ap.parse_args()
    weights = photomgr_clip_weights()
    load_before = os.getloadavg()[0]
    imports, model_load = (0.0, 0.0) if args.no_startup else startup_seconds(args.backend, weights)

    from photomgr.core.library.database import Library
    from photomgr.core.models.registry import load_embedder
    from photomgr.core.services.indexing import index_folders

    files = caltech_photos(args.n) if args.set == "small" else camera_sources()
    random.Random(0).shuffle(files)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        n = stage(files, tmp / "photos", args.n)
        command = whole_command(args.backend, weights, tmp / "photos", tmp) \
            if not args.threads and not args.workers else 0.0
        embedder = load_embedder(args.backend, device="cpu",
                                 clip_weights=weights if args.backend == "clip" else None)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        model_only, model_cpu = measure_model_only(embedder, sorted((tmp / "photos").iterdir()))
        instrument(embedder)
        with Library(tmp / "lib") as library:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = index_folders(library, [tmp / "photos"], embedder=embedder,
                                   workers=args.workers or None)
            total = time.perf_counter() - started
            pipeline_cpu = 1000 * (time.process_time() - cpu_started) / n
    assert result.embed.embedded == n, result.embed.embedded
    steady = (n - 1) / (MARKS["last stored"] - MARKS["first decoded"])
    print(f"\n### {args.backend}, {n} {args.set} photos ({machine()}; load average "
          f"{load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end)\n")
    if command:
        print(f"- whole command (`photomgr index`, own process): {command:.1f} s, "
              f"**{n / command:.1f} photos/s** = {n / command / model_only:.0%} of model only")
    print(f"- pipeline, steady state (first photo decoded to last stored, model loaded): "
          f"**{steady:.1f} photos/s** = {steady / model_only:.0%} of model only "
          f"(index_folders {total:.1f} s, {n / total:.1f} photos/s)")
    print(f"- model only (forward pass, batch 32): **{model_only:.1f} photos/s**")
    print(f"- CPU per photo (whole process): model only {model_cpu:.1f} ms, in-process index "
          f"{pipeline_cpu:.1f} ms: on a quiet machine whose cores both pipelines keep busy, the "
          f"pipeline can reach at most {model_cpu / pipeline_cpu:.0%} of the model-only rate")
    if not args.no_startup:
        print(f"- in fresh processes: imports of `index` {imports:.2f} s, model load "
              f"{model_load:.2f} s (torch, open_clip/timm imports included)")
    print(f"- torch threads {__import__('torch').get_num_threads()}, decode workers "
          f"{args.workers or 'default'}\n")
    print("| stage | seconds | ms per photo | share of the in-process run's wall |")
    print("|---|---:|---:|---:|")
    for name, seconds in [*((f"{k} (wall)", v) for k, v in WALL.items()),
                          *((f"{k} (CPU)" if "whole process" in k else f"{k} (CPU, decode threads)", v)
                            for k, v in CPU.items())]:
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / n:.1f} | {seconds / total:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
