"""Reduced-size decode (what thumbnails and the model use) against a full decode, on large JPEGs.

    python bench/bench_decode.py
"""

from __future__ import annotations

import statistics
import sys

from PIL import Image, ImageOps

from bench.common import large_jpegs, machine, median_time
from photomgr.core.imaging.decode import decode_photo


def full_decode(path: object) -> None:
    with Image.open(path) as im:  # type: ignore[arg-type]
        im.load()
        ImageOps.exif_transpose(im).convert("RGB")


def main() -> int:
    files = large_jpegs()
    if not files:
        print("SKIP: no large JPEGs available")
        return 0
    print(f"# Decode: reduced vs full ({machine()})\n")
    print("| file | megapixels | full ms | reduced ms | speed-up |")
    print("|---|---:|---:|---:|---:|")
    ratios = []
    for p in files:
        with Image.open(p) as im:
            mp = im.width * im.height / 1e6
        full = median_time(lambda p=p: full_decode(p))
        reduced = median_time(lambda p=p: decode_photo(p, min_side=256))
        ratios.append(full / reduced)
        print(f"| {p.name} | {mp:.1f} | {full * 1000:.0f} | {reduced * 1000:.0f} | {full / reduced:.1f}x |")
    print(f"\nmedian speed-up over {len(files)} files: {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
