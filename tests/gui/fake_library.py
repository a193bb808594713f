"""Fabricate a large library fast (rows by SQL, thumbnails as symlinks) and scroll its gallery.

Used by test_gallery_scale.py at a few thousand photos; run as a script for the 100,000-photo
check (it moves to bench/ later):

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python -m tests.gui.fake_library 100000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.photos import utc_now

if TYPE_CHECKING:
    from photomgr.gui.main_window import MainWindow

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


def main(argv: list[str]) -> int:
    """Fabricate N photos in a temporary library, open the window, scroll it, print the numbers."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from photomgr.gui.main_window import MainWindow

    n = int(argv[0]) if argv else 100_000
    _app = QApplication.instance() or QApplication([])  # kept alive for the whole run
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        fabricate_library(Path(tmp) / "library", n).close()
        print(f"fabricated {n:,} photos in {time.perf_counter() - t0:.1f} s")
        window = MainWindow(Path(tmp) / "library")
        window.resize(1400, 900)
        window.show()
        try:
            result = scroll_through(window, n)
            print(result)
        finally:
            window.shutdown()
            window.deleteLater()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
