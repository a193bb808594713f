"""GUI benchmarks: launch to first painted gallery and peak memory on a 100,000-photo library,
and the longest GUI stall while indexing real photos with the real default model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_gui            # both, markdown table
    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_gui --n 100000 --skip-index
    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.bench_gui --photos ../shared/photos/caltech101-dev

The large library is fabricated fast (rows by SQL, thumbnails as symlinks to a few real
JPEGs); tests/gui/gallery/test_gallery_scale.py uses the same builder at a few thousand photos.
Library folders go to a temporary directory, never into the repository.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from photomgr.core.imaging.thumbnails import ThumbnailCache  # noqa: E402
from photomgr.core.library.database import Library  # noqa: E402
from photomgr.core.library.photos import utc_now  # noqa: E402

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow

DISTINCT_THUMBS = 24
PER_FOLDER = 500


def fake_hash(i: int) -> str:
    return f"{i:032x}"


def fabricate_library(root: Path, n: int, *, broken_every: int = 997) -> Library:
    """A library of `n` photos under /fake/..., every `broken_every`-th one a recorded bad file.

    Thumbnails are symlinks to a couple of dozen real JPEGs, so 100,000 cost seconds, not minutes.
    The caller closes the returned Library.
    """
    library = Library(root)
    cache = ThumbnailCache(library.paths.thumbnails)
    sources = []
    for k in range(DISTINCT_THUMBS):
        img = Image.new("RGB", (256, 192), ((k * 70) % 256, (k * 40) % 256, 255 - (k * 10) % 256))
        img.paste((255, 255, 255), (20 + k * 8, 40, 60 + k * 8, 150))
        path = library.paths.thumbnails / f"source{k}.jpg"
        img.save(path, "JPEG", quality=85)
        sources.append(path)
    now = utc_now()
    rows = []
    for i in range(n):
        bad = broken_every and i % broken_every == broken_every - 1
        rows.append((
            f"/fake/album{i // PER_FOLDER:04d}/img{i:06d}.jpg", 100_000 + i, i, fake_hash(i),
            None if bad else "jpeg", None if bad else 4000, None if bad else 3000,
            "not an image: broken on purpose" if bad else None, now, now,
        ))
        if not bad:
            target = cache.path_for(fake_hash(i))
            target.parent.mkdir(exist_ok=True)
            os.symlink(sources[i % DISTINCT_THUMBS], target)
    conn = library.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO photos (path, size, mtime_ns, content_hash, format, width, height, error,"
        " missing, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,0,?,?)", rows)
    conn.execute("INSERT INTO roots(path, added_at) VALUES ('/fake', ?)", (now,))
    conn.execute("COMMIT")
    return library


@dataclass
class ScrollResult:
    rows: int
    load_s: float  # window shown -> all rows in the model
    layout_s: float  # window shown -> the grid's scroll range complete
    load_gap_ms: float  # StallMonitor from show to layout complete
    frames: int
    mean_paint_ms: float
    max_paint_ms: float
    max_gap_ms: float  # StallMonitor while scrolling top to bottom
    thumbnails_cached: int

    def __str__(self) -> str:
        return (f"{self.rows:,} photos: rows loaded in {self.load_s:.2f} s, laid out in {self.layout_s:.2f} s"
                f" (longest GUI gap {self.load_gap_ms:.0f} ms);"
                f" {self.frames} scroll frames,"
                f" paint mean {self.mean_paint_ms:.1f} ms / max {self.max_paint_ms:.1f} ms;"
                f" longest GUI gap {self.max_gap_ms:.0f} ms; {self.thumbnails_cached} thumbnails cached")


def pump(ms: int) -> None:
    """Run the event loop for `ms` milliseconds (thumbnails arrive, timers tick)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met in time")
        pump(5)


def scroll_through(window: MainWindow, expected_rows: int, *, max_frames: int = 400) -> ScrollResult:
    """Wait for the gallery's rows, then scroll top to bottom a page per frame, painting each frame."""
    from photomgr.gui.stall import StallMonitor

    started = time.perf_counter()
    load_stalls = StallMonitor(interval_ms=10)
    load_stalls.start()
    wait_until(lambda: window.model.rowCount() == expected_rows, 60)
    load_s = time.perf_counter() - started
    gallery = window.gallery
    bar = gallery.verticalScrollBar()
    # Batched layout: the scroll range grows batch by batch; scroll once it has settled.
    last_max = [-1]

    def settled() -> bool:
        done = bar.maximum() > 0 and bar.maximum() == last_max[0]
        last_max[0] = bar.maximum()
        pump(250)
        return done

    wait_until(settled, 30)
    layout_s = time.perf_counter() - started - 0.25
    load_stalls.stop()
    frames = min(max_frames, bar.maximum() // max(1, bar.pageStep()) + 1)
    step = max(bar.pageStep(), bar.maximum() // max(1, frames - 1))
    paints: list[float] = []
    stalls = StallMonitor(interval_ms=10)
    stalls.start()
    for frame in range(frames + 1):
        bar.setValue(min(bar.maximum(), frame * step))
        t0 = time.perf_counter()
        gallery.viewport().repaint()  # a synchronous paint of the visible tiles
        paints.append((time.perf_counter() - t0) * 1000)
        pump(5)  # let the event loop run: thumbnails arrive, the monitor ticks
    wait_until(lambda: window.thumbnails.pending_count() == 0, 10)
    stalls.stop()
    return ScrollResult(expected_rows, load_s, layout_s, load_stalls.max_gap_ms, len(paints),
                        sum(paints) / len(paints), max(paints), stalls.max_gap_ms,
                        window.thumbnails.cache_size())



def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wait_model(window: MainWindow, timeout_s: float = 120) -> float:
    """Wait until the worker has loaded the model; returns the seconds waited."""
    started = time.perf_counter()
    wait_until(lambda: window.host.model.state not in ("loading",), timeout_s)
    return time.perf_counter() - started


@dataclass
class LaunchResult:
    rows: int
    shown_s: float  # open_window() -> the window shown (the model's libraries imported meanwhile)
    first_paint_s: float  # open_window() -> the gallery's first tiles painted
    first_thumbnails_s: float  # open_window() -> the first real thumbnails painted
    launch_gap_ms: float  # the longest GUI stall from the window's show to first thumbnails
    model_load_gap_ms: float  # the longest GUI stall while the model thread loads the model
    scroll: ScrollResult
    peak_rss_mib: float


def measure_launch(n: int, tmp: Path) -> LaunchResult:
    from photomgr.gui.stall import StallMonitor
    from photomgr.gui.startup import open_window

    t0 = time.perf_counter()
    fabricate_library(tmp / "large", n).close()
    print(f"fabricated {n:,} photos in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    window = open_window(tmp / "large")  # as run_gui: the model's libraries first, behind a splash
    shown = time.perf_counter() - started
    stalls = StallMonitor(interval_ms=10)  # from the window's show: the splash before is static
    stalls.start()
    window.resize(1400, 900)
    delegate = window.gallery.delegate
    try:
        wait_until(lambda: delegate.painted_tiles > 0 and window.model.rowCount() == n, 60)
        first_paint = time.perf_counter() - started
        wait_until(lambda: delegate.painted_pixmaps > 0, 60)
        first_thumbs = time.perf_counter() - started
        launch_gap = stalls.max_gap_ms
        stalls.reset()
        wait_model(window)
        model_gap = stalls.max_gap_ms
        stalls.stop()
        scroll = scroll_through(window, n)
        return LaunchResult(n, shown, first_paint, first_thumbs, launch_gap, model_gap, scroll,
                            peak_rss_mib())
    finally:
        window.shutdown()
        window.deleteLater()


@dataclass
class IndexResult:
    photos: int
    seconds: float
    embedded_per_s: float
    max_gap_ms: float
    gaps_over_100ms: int
    ticks: int


@contextmanager
def indexing_window(library: Path) -> Iterator[tuple[MainWindow, list[object]]]:
    """A shown window on a new library, ready for a folder: (window, the scans it finished)."""
    from photomgr.gui.startup import open_window

    window = open_window(library)  # as run_gui: the model's libraries first, behind a splash
    window.resize(1400, 900)
    finished: list[object] = []
    window.host.scan_finished.connect(finished.append)
    try:
        wait_until(lambda: window.library_ready, 60)
        yield window, finished
    finally:
        window.shutdown()
        window.deleteLater()


def measure_indexing(photos: Path, tmp: Path) -> IndexResult:
    """Index `photos` into an empty library through the window, with the real default model."""
    from photomgr.gui.stall import StallMonitor

    with indexing_window(tmp / "indexed") as (window, finished):
        # From the window's show, as a user sees it: the model loads during the index (§5c')
        stalls = StallMonitor(interval_ms=10)
        stalls.start()
        started = time.perf_counter()
        window.add_folder(photos)
        wait_until(lambda: bool(finished), 3600)
        seconds = time.perf_counter() - started
        stalls.stop()
        report = finished[0]
        count = int(getattr(report, "photos", 0))
        return IndexResult(count, seconds, count / seconds, stalls.max_gap_ms, stalls.gaps_over_100ms,
                           stalls.ticks)


def import_seconds() -> float:
    """Seconds a fresh interpreter takes to import the window's modules (part of any launch)."""
    code = ("import time; t = time.perf_counter(); import photomgr.gui.window.main_window; "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="photos in the fabricated library")
    parser.add_argument("--photos", type=Path, default=None,
                        help="real photos to index (default ../shared/photos/caltech101-dev)")
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-launch", action="store_true")
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from bench.common import machine, shared_photos

    _app = QApplication.instance() or QApplication([])  # kept alive for the whole run
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_launch:
            rows.append(("import of the GUI modules (fresh interpreter; torch is not imported)",
                         f"{import_seconds():.2f} s"))
            r = measure_launch(args.n, Path(tmp))
            rows += [
                ("launch → window shown (the model's libraries imported first, behind a splash)",
                 f"{r.shown_s:.2f} s"),
                (f"launch → first painted gallery ({r.rows:,} photos)", f"{r.first_paint_s:.2f} s"),
                ("launch → first thumbnails painted", f"{r.first_thumbnails_s:.2f} s"),
                ("longest GUI stall, launch → first thumbnails", f"{r.launch_gap_ms:.0f} ms"),
                ("longest GUI stall while the model thread loads the model",
                 f"{r.model_load_gap_ms:.0f} ms"),
                (f"scrolling {r.rows:,} photos: paint mean / max", f"{r.scroll.mean_paint_ms:.1f} / "
                 f"{r.scroll.max_paint_ms:.1f} ms"),
                ("scrolling: longest GUI stall", f"{r.scroll.max_gap_ms:.0f} ms"),
                (f"peak RSS with {r.rows:,} photos (model loaded)", f"{r.peak_rss_mib:.0f} MiB"),
            ]
        photos = args.photos or shared_photos() / "caltech101-dev"
        if not args.skip_index:
            if photos.is_dir():
                x = measure_indexing(photos, Path(tmp))
                rows += [
                    (f"indexing {x.photos:,} photos with the default model", f"{x.seconds:.1f} s "
                     f"({x.embedded_per_s:.1f} photos/s)"),
                    ("longest GUI stall during indexing", f"{x.max_gap_ms:.0f} ms "
                     f"({x.gaps_over_100ms} gaps > 100 ms in {x.ticks:,} ticks)"),
                ]
            else:
                rows.append(("indexing", f"skipped: {photos} not found"))
    print(f"\nGUI benchmark on {machine()}\n")
    print("| measurement | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
