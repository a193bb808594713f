"""Where the time of one index run goes, per stage, for each backend and photo size.

    python -m bench.profile_index [--backend clip|default|both] [--small 300] [--camera 100]

One `index_folders` run on a fresh library, with the real pipeline; each stage's functions are
wrapped with timers. Worker-thread stages (hash, decode, thumbnail, model-input preprocessing)
report CPU seconds summed over the decode threads (time.thread_time): on a 2-core machine that is
the CPU they take from the model. Main-thread stages (walk, database writes, embed, FAISS) report
wall seconds. Start-up (imports of the `index` command) and the model load are timed separately,
in fresh processes.
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
_LOCK = threading.Lock()


def cpu_timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with _LOCK:
                CPU[name] += spent
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
    analyze.decode_photo = cpu_timed("decode", analyze.decode_photo)  # type: ignore[attr-defined]
    ThumbnailCache.save = cpu_timed("thumbnail", ThumbnailCache.save)  # type: ignore[method-assign]
    embedding.EmbeddingSink.prepare = cpu_timed(  # type: ignore[method-assign]
        "model input (resize, tensor)", embedding.EmbeddingSink.prepare)
    scanner.walk = timed_walk(scanner.walk)  # type: ignore[attr-defined]
    scanner.Scanner._record = wall_timed(  # type: ignore[method-assign]
        "database writes (photos)", scanner.Scanner._record)
    embedding.VectorStore.put_many = wall_timed(  # type: ignore[method-assign]
        "database writes (vectors)", embedding.VectorStore.put_many)
    embedder.embed_images = wall_timed("embed (model forward)", embedder.embed_images)
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("clip", "default"), required=True)
    ap.add_argument("--set", choices=("small", "camera"), required=True)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    weights = photomgr_clip_weights()
    imports, model_load = startup_seconds(args.backend, weights)

    from photomgr.core.library.database import Library
    from photomgr.core.models.registry import load_embedder
    from photomgr.core.services.indexing import index_folders

    embedder = load_embedder(args.backend, clip_weights=weights if args.backend == "clip" else None,
                             device="cpu")
    instrument(embedder)
    files = caltech_photos(args.n) if args.set == "small" else camera_sources()
    random.Random(0).shuffle(files)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        n = stage(files, tmp / "photos", args.n)
        with Library(tmp / "lib") as library:
            started = time.perf_counter()
            result = index_folders(library, [tmp / "photos"], embedder=embedder)
            total = time.perf_counter() - started
    assert result.embed.embedded == n, result.embed.embedded
    print(f"\n### {args.backend}, {n} {args.set} photos ({machine()})\n")
    print(f"index_folders: {total:.1f} s wall, {n / total:.1f} photos/s; in fresh processes: "
          f"imports of `index` {imports:.2f} s, model load {model_load:.2f} s\n")
    print("| stage | seconds | ms per photo | share of the run's wall |")
    print("|---|---:|---:|---:|")
    for name, seconds in [*((f"{k} (wall)", v) for k, v in WALL.items()),
                          *((f"{k} (CPU, decode threads)", v) for k, v in CPU.items())]:
        print(f"| {name} | {seconds:.2f} | {1000 * seconds / n:.1f} | {seconds / total:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
