"""Shared bits of the benchmark scripts: machine description, medians, test data location."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def shared_photos() -> Path:
    env = os.environ.get("PHOTOMGR_SHARED_PHOTOS")
    return Path(env) if env else (REPO / ".." / "shared" / "photos").resolve()


def large_jpegs(*, all_sizes: bool = False) -> list[Path]:
    """4-18 MP camera JPEGs from Debian's mate-backgrounds package, fetched on first use
    (`all_sizes`: every one of its JPEGs, 1.3-18 MP)."""
    root = Path(os.environ.get("PHOTOMGR_LARGE_JPEGS", "/tmp/mate-backgrounds"))
    target = root / "usr" / "share" / "backgrounds" / "mate"
    if not target.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["apt-get", "download", "mate-backgrounds"], cwd=root, check=True,
                           capture_output=True, timeout=300)
            deb = next(root.glob("mate-backgrounds*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=300)
        except (OSError, subprocess.SubprocessError, StopIteration) as exc:
            print(f"SKIP large JPEGs: could not fetch mate-backgrounds ({exc})")
            return []
    from PIL import Image

    out = []
    for p in sorted(target.rglob("*.jpg")):
        with Image.open(p) as im:
            if all_sizes or im.width * im.height >= 4_000_000:
                out.append(p)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    # Other jobs on the machine skew timings: every table says how busy it was when it started.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, "
            f"load average at start {load:.2f}")


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def reference_caption_decoding(embedder: T) -> T:
    """`embedder` (a describing default embedder) with its captioner decoding through the
    training module (caption_search.greedy_search, float32): the decoding shipped before
    caption_infer.FastGreedy, to compare with in the same run. Changes the captioner in place."""
    captioner = getattr(embedder, "captioner", None)
    if captioner is None or getattr(captioner, "greedy", None) is None:
        raise SystemExit("reference decoding: this backend's captioner has no fast greedy decoding")
    captioner.greedy = None  # DefaultCaptioner.describe falls back to beam_search(beam=1)
    captioner.model_id = captioner.model_id.removesuffix("+bf16") + "+reference"
    return embedder
