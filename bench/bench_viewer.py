"""The viewer: opening a 24 MP JPEG, and stepping to the next (prefetched) photo.

    QT_QPA_PLATFORM=offscreen python -m bench.bench_viewer [--photos N]

Makes N distinct 6000x4000 JPEGs with Pillow (noisy gradients: ~7 MB each, like a camera's;
EXIF orientation 6 on every other one, so the upright path is measured too) in
$TMPDIR/bench-viewer-jpegs (kept for the next run), shows the real ViewerPage in a 1480x900
window, and measures on the GUI thread:

- open: `open_row()` of a photo not decoded yet (the viewer's cache emptied first; the file
  itself is in the OS page cache, as a photo just shown as a thumbnail would be) -> the first
  paint of it, fitted;
- step: Right on a photo whose neighbour the viewer has prefetched -> the first paint of it;
- the longest GUI stall (StallMonitor) over the whole run.

Targets (issue 14): open < 1 s, step < 100 ms. Medians over the photos.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.bench_gui import pump, wait_until  # noqa: E402
from bench.common import machine  # noqa: E402
from photomgr.core.library.gallery import GalleryRows  # noqa: E402
from photomgr.gui.gallery.model import GalleryModel  # noqa: E402
from photomgr.gui.stall import StallMonitor  # noqa: E402
from photomgr.gui.viewer.loader import SCREEN, ViewerLoader  # noqa: E402
from photomgr.gui.viewer.page import ViewerPage  # noqa: E402

SIZE = (6000, 4000)


def make_jpegs(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    w, h = SIZE
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    out = []
    for i in range(n):
        path = folder / f"big{i:02d}.jpg"
        if path.exists():
            out.append(path)
            continue
        base = np.stack([127 + 120 * np.sin(x * (9 + i) + y * 5) + 0 * y,
                         127 + 120 * np.cos(y * (7 + i) + x * 3),
                         255 * x * (i % 3) / 2 + 60 * y], axis=-1)
        base += rng.normal(0, 10, base.shape).astype(np.float32)
        image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        exif = image.getexif()
        if i % 2:
            exif[0x0112] = 6
        image.save(path, quality=90, exif=exif)
        out.append(path)
    return out


def painted_after(page: ViewerPage, before: int, timeout_s: float = 30) -> float:
    t0 = time.perf_counter()
    wait_until(lambda: page.canvas.painted > before and page.canvas.has_image(), timeout_s)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv)
    folder = Path(tempfile.gettempdir()) / "bench-viewer-jpegs"
    folder.mkdir(exist_ok=True)
    t = time.perf_counter()
    paths = make_jpegs(folder, args.photos)
    mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    print(f"{len(paths)} JPEGs {SIZE[0]}x{SIZE[1]} ({mb:.1f} MB each), {time.perf_counter() - t:.1f} s")
    model = GalleryModel()
    model.set_rows(GalleryRows(np.arange(1, len(paths) + 1, dtype=np.int64), [None] * len(paths),
                               [str(p) for p in paths], [False] * len(paths)))
    loader = ViewerLoader()
    page = ViewerPage(model, loader)
    page.resize(1480, 900)
    page.show()
    pump(300)
    stalls = StallMonitor(interval_ms=10)
    stalls.start()
    opens: list[float] = []
    steps: list[float] = []
    # Open every other photo cold; then step to its neighbour once the prefetch has it.
    for row in range(0, len(paths) - 1, 2):
        loader.forget()
        before = page.canvas.painted
        t0 = time.perf_counter()
        page.open_row(row)
        wait_until(lambda b=before: page.canvas.painted > b and page.canvas.has_image(), 30)
        opens.append(time.perf_counter() - t0)
        wait_until(lambda r=row: loader.cached(r + 2, SCREEN) is not None, 30)  # ids are rows + 1
        pump(50)
        before = page.canvas.painted
        t0 = time.perf_counter()
        page.keyPressEvent(_key(Qt.Key.Key_Right))
        wait_until(lambda b=before: page.canvas.painted > b and page.canvas.has_image(), 30)
        steps.append(time.perf_counter() - t0)
        wait_until(lambda: not loader.busy, 30)  # the next open starts cold, not queued
    stalls.stop()
    loader.shutdown()
    page.close()
    print(f"machine: {machine()}")
    print(f"open a 24 MP JPEG -> first fitted paint: median {statistics.median(opens) * 1000:.0f} ms "
          f"(min {min(opens) * 1000:.0f}, max {max(opens) * 1000:.0f}, n={len(opens)}) target < 1000 ms")
    print(f"step to the prefetched next photo -> painted: median {statistics.median(steps) * 1000:.1f} ms "
          f"(min {min(steps) * 1000:.1f}, max {max(steps) * 1000:.1f}, n={len(steps)}) target < 100 ms")
    print(f"GUI during the run: {stalls.summary()}")
    del app
    return 0


def _key(key: Qt.Key):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    return QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier)


if __name__ == "__main__":
    raise SystemExit(main())
