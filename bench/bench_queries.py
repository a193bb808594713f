"""A text query and a Find similar as a user types them: wall time and peak memory per command.

Issue 16, item 3: `photomgr search` and `photomgr similar` on an indexed library answer in under
1 s wall and under 600 MB peak memory, for both backends. Indexes N Caltech dev photos (default
600, the set bench_vs_rclip uses) into one library per backend (CLIP: the random-weight
ViT-B-32 of bench_vs_rclip, chosen with `photomgr model use clip --weights FILE`, which also
writes CLIP's text extract), then runs each query command `--repeat` times after one warm-up,
each as a fresh `python -m photomgr` process. Peak memory is the process's VmHWM (see
bench_vs_rclip.run_timed).

    python -m bench.bench_queries [--photos 600] [--repeat 5] [--backends default,clip]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.bench_vs_rclip import (
    QUERY,
    Run,
    caltech_photos,
    index_photomgr,
    photomgr_clip_weights,
    photomgr_cmd,
    photomgr_env,
    run_timed,
    stage,
)
from bench.common import machine


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backends", default="default,clip")
    args = ap.parse_args()
    photos = caltech_photos(args.photos)
    if not photos:
        print("SKIP: the Caltech dev photos are absent (see README: test photos)")
        return 0
    weights = photomgr_clip_weights()
    print(f"# search and similar as commands ({machine()})\n")
    rows: list[tuple[str, list[Run]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-queries-") as tmp_name:
        tmp = Path(tmp_name)
        n = stage(photos, tmp / "photos", len(photos))
        probe = sorted((tmp / "photos").iterdir())[0]
        for backend in [b for b in args.backends.split(",") if b]:
            run, library = index_photomgr(backend, weights, tmp / "photos", tmp)
            print(f"  indexed {n} photos with {backend} in {run.seconds:.1f} s", file=sys.stderr, flush=True)
            for name, argv in ((f'{backend}: search "{QUERY}"', ["search", QUERY]),
                               (f"{backend}: similar PHOTO -k 10", ["similar", str(probe), "-k", "10"])):
                runs = [run_timed(photomgr_cmd(library, *argv), env=photomgr_env())
                        for _ in range(args.repeat + 1)][1:]  # the first warms the page cache
                rows.append((name, runs))
                print(f"  {name}: " + ", ".join(f"{r.seconds:.2f} s/{r.max_rss_mb:.0f} MB" for r in runs)
                      + f" (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    print(f"{n} photos; median of {args.repeat} runs after a warm-up; load average at the end "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| command | wall s: median (min-max) | peak RSS MB: median (max) |")
    print("|---|---|---|")
    for name, runs in rows:
        secs = [r.seconds for r in runs]
        mem = [r.max_rss_mb for r in runs]
        print(f"| {name} | {statistics.median(secs):.2f} ({min(secs):.2f}-{max(secs):.2f}) | "
              f"{statistics.median(mem):.0f} ({max(mem):.0f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
