"""Run every benchmark and evaluation in turn and print their tables (see docs/benchmarks.md).

    python bench/run_all.py            # or: make bench
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = [
    ["-m", "bench.bench_decode"],
    ["-m", "bench.bench_decode_memory"],  # the "off" run needs ~8 GB of RAM
    ["-m", "bench.bench_reindex"],
    ["-m", "bench.bench_rescore"],
    ["-m", "bench.bench_similar"],
    ["-m", "bench.bench_indexing"],
    ["-m", "bench.bench_inference"],
    ["-m", "bench.bench_vs_rclip"],  # SKIP unless rclip is installed ($PHOTOMGR_RCLIP)
    ["-m", "bench.bench_gui"],
    ["-m", "bench.bench_viewer"],
    ["-m", "bench.bench_first_index"],
    ["-m", "bench.bench_commands"],
    ["bench/eval_tagging.py"],
    ["bench/eval_keywords.py"],
]


def main() -> int:
    failed = 0
    for script in SCRIPTS:
        target = REPO / (script[-1].replace(".", "/") + ".py" if script[0] == "-m" else script[-1])
        if not target.exists():
            print(f"\n(skipping {script[-1]}: not present)")
            continue
        print(f"\n$ python {' '.join(script)}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, *script], cwd=REPO)
        print(f"({time.perf_counter() - started:.0f} s, exit {code})", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
