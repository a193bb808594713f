"""Peak memory of indexing a folder of huge PNGs, with and without the decode memory budget.

The probe of issue 10: a 13000 x 13000 PNG (under Pillow's bomb limit) needs ~1.3 GB to decode
and shrink; with one decode worker per core, a folder of them took 8.3 GB. Each run indexes the
folder with the real scanner (`--no-embed` path: hash, decode, thumbnail) in a fresh process and
reports that process's peak RSS. "off" sets the budget far above what the files need.

    python bench/bench_decode_memory.py [--files 6] [--workers 6] [--side 13000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from bench.common import machine

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.scanning.scanner import Scanner
folder, lib, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
library = Library(lib)
scanner = Scanner(PhotoStore(library.conn), ThumbnailCache(library.paths.thumbnails),
                  skip={library.paths.root}, workers=workers)
started = time.perf_counter()
report = scanner.scan([folder])
print(json.dumps({"new": report.new, "errors": len(report.errors),
                  "seconds": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_folder(root: Path, files: int, side: int) -> None:
    """`files` different RGBA PNGs of side x side (a gradient: fast to write, small on disk)."""
    root.mkdir(parents=True, exist_ok=True)
    base = Image.linear_gradient("L").resize((side, side))
    for i in range(files):
        path = root / f"huge{i}.png"
        if not path.exists():
            alpha = base.point(lambda v, i=i: (v + 37 * i) % 256)
            Image.merge("RGBA", (base, alpha, base, alpha)).save(path, compress_level=1)


def run(folder: Path, workers: int, budget_mb: float | None) -> dict[str, float]:
    env = dict(os.environ)
    if budget_mb is not None:
        env["PHOTOMGR_DECODE_MEMORY_MB"] = str(budget_mb)
    else:
        env.pop("PHOTOMGR_DECODE_MEMORY_MB", None)
    with tempfile.TemporaryDirectory() as lib:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(folder), lib, str(workers)],
                             env=env, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--side", type=int, default=13000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "photomgr-huge-png")
    parser.add_argument("--keep", action="store_true", help="keep the generated PNGs")
    args = parser.parse_args()
    make_folder(args.data, args.files, args.side)
    print(f"# Decode memory: {args.files} RGBA PNGs of {args.side} x {args.side}, "
          f"{args.workers} workers ({machine()})\n")
    print("| budget | peak RSS MB | seconds | photos | errors |")
    print("|---|---:|---:|---:|---:|")
    for label, budget in (("default (1024 MB)", None), ("off (1,000,000 MB)", 1e6)):
        r = run(args.data, args.workers, budget)
        print(f"| {label} | {r['peak_mb']:.0f} | {r['seconds']:.1f} | {r['new']:.0f} | {r['errors']:.0f} |")
    if not args.keep:
        shutil.rmtree(args.data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
