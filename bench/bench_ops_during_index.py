"""User operations from a second terminal while `photomgr index` runs: how long does each wait?

Starts `photomgr index caltech101-dev` (2,944 photos, the default model) on a fresh library,
waits until photos are being recorded, then runs `photomgr labels add` and
`photomgr tag PHOTO LABEL --confirm` repeatedly as separate processes, as a user would, and
reports their median and worst wall time. Target (issue "One write path"): each within 2 s.

    python -m bench.bench_ops_during_index [--rounds 5] [--priority low|normal]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, shared_photos

PHOTOMGR = [sys.executable, "-m", "photomgr"]


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return 0


def _timed(args: list[str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run([*PHOTOMGR, *args], capture_output=True, text=True, timeout=600)
    return time.perf_counter() - started, done.returncode, (done.stderr or done.stdout).strip()[-200:]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--priority", choices=("low", "normal"), default="low",
                        help="the index's --priority (default low, photomgr's default)")
    args = parser.parse_args()
    folder = shared_photos() / "caltech101-dev"
    if not folder.is_dir():
        print(f"SKIP: {folder} is absent (the test photos, see README)")
        return 0
    lib = Path(tempfile.mkdtemp(prefix="photomgr-ops-bench-"))
    print(f"machine: {machine()}; index priority {args.priority}")
    # A label needs the text model, and `tag` a photo with a vector: index a little first.
    seed = sorted((folder / "Faces").glob("*.jpg"))[:5]
    seed_dir = lib / "seed"
    seed_dir.mkdir()
    for p in seed:
        shutil.copy(p, seed_dir / p.name)
    subprocess.run([*PHOTOMGR, "--library", str(lib / "lib"), "index", str(seed_dir)], check=True,
                   capture_output=True)
    photo = str(seed_dir / seed[0].name)
    index = subprocess.Popen([*PHOTOMGR, "--library", str(lib / "lib"), "index", "--priority", args.priority,
                              str(folder)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Wait for vectors, not only photo rows: the model loads in the background while the
        # walk records photos, and the operations must meet the index at its busiest.
        while _count(lib / "lib" / "library.db", "embeddings") < 50 + len(seed) and index.poll() is None:
            time.sleep(0.2)
        label_times, tag_times = [], []
        for n in range(args.rounds):
            if index.poll() is not None:
                print(f"the index finished after {n} rounds; use more photos for more rounds")
                break
            t, code, msg = _timed(["--library", str(lib / "lib"), "labels", "add", f"label {n}"])
            assert code == 0, msg
            label_times.append(t)
            t, code, msg = _timed(["--library", str(lib / "lib"), "tag", photo, f"label {n}", "--confirm"])
            assert code == 0, msg
            tag_times.append(t)
        recorded = _count(lib / "lib" / "library.db", "photos")
        embedded = _count(lib / "lib" / "library.db", "embeddings")
        still_running = index.poll() is None
    finally:
        index.terminate()
        index.wait()
        shutil.rmtree(lib, ignore_errors=True)
    for name, times in (("labels add", label_times), ("tag --confirm", tag_times)):
        if times:
            print(f"{name:<15} during index: median {statistics.median(times):.2f} s, "
                  f"worst {max(times):.2f} s over {len(times)} runs")
    print(f"index still running at the end: {still_running} ({recorded} photos recorded, "
          f"{embedded} vectors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
