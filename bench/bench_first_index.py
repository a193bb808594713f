"""A first index as a new user starts it: how soon the gallery shows photos, and the model is in.

    QT_QPA_PLATFORM=offscreen python -m bench.bench_first_index [--photos DIR] [--runs N]

A new, empty library in a temporary folder; the window opens, and as soon as the library is
open `DIR` is added (a user who clicks "Add folder" at once), with the real default model
(not loaded before: its load is part of a first index, so each run is a fresh process).
Measured from the add, on the GUI thread: the first photo listed in the gallery, the model
loaded, the scan finished; and from the start, the window open with its library (the model's
libraries are imported before the window shows, gui/startup.py). Medians.

Issue 14 ("the gallery stays at All photos (0) for the first ~10 s of a first index"): the
first photo should come long before the model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_gui import indexing_window, pump  # noqa: E402


def one_run(photos: Path, tmp: Path) -> tuple[float, float, float, float]:
    opened = time.perf_counter()
    with indexing_window(tmp / "library") as (window, finished):
        started = time.perf_counter()
        opened = started - opened  # the model's libraries are imported first (gui/startup.py)
        window.add_folder(photos)
        first_row = model_in = -1.0
        while not finished or model_in < 0 or first_row < 0:
            pump(10)
            now = time.perf_counter() - started
            if first_row < 0 and window.model.rowCount() > 0:
                first_row = now
            if model_in < 0 and window.host.model.loaded is not None:
                model_in = now
            if now > 600:
                raise TimeoutError("the first index took over 10 minutes")
        return first_row, model_in, time.perf_counter() - started, opened


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--photos", type=Path, default=None,
                        help="folder to add (default ../shared/photos/caltech101-dev/Faces_easy)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one run, JSON out
    args = parser.parse_args(argv)
    from bench.common import machine, shared_photos

    photos = (args.photos or shared_photos() / "caltech101-dev" / "Faces_easy").resolve()
    if not photos.is_dir():
        print(f"SKIP: no photos at {photos} (pass --photos DIR)")
        return 0
    if args.child:
        from PySide6.QtWidgets import QApplication

        _app = QApplication.instance() or QApplication([])
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(one_run(photos, Path(tmp))))
        return 0
    print(f"machine: {machine()}")
    runs = []
    for _ in range(args.runs):  # a fresh process each: torch not imported, the model not loaded
        out = subprocess.run([sys.executable, "-m", "bench.bench_first_index", "--child", "--photos",
                              str(photos)], cwd=REPO, capture_output=True, text=True, check=True)
        runs.append(tuple(json.loads(out.stdout.strip().splitlines()[-1])))
    names = ("first photo in the gallery", "model loaded", "index finished", "window open, library ready")
    for name, values in zip(names, zip(*runs, strict=True), strict=True):
        since = "from the start (before Add folder)" if name.startswith("window") else "after Add folder"
        print(f"{name}: median {statistics.median(values):.2f} s "
              f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)}) {since}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
