"""Screenshots of the real window for the README, on real photos with the real default model.

Runs the window on a real display server (not Qt's offscreen platform), e.g. under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python bench/screenshots.py \\
        --photos ../shared/photos/caltech101-dev --out docs/screenshots

It indexes the photos into a temporary library (or --library, reused when already indexed),
adds a few labels as a user would type them, and saves
docs/screenshots/{gallery,label-editor,similar,details,viewer,review}.png.
Each PNG is reduced to a 256-colour palette when that keeps it under the size limit.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402
from PySide6.QtCore import QBuffer, QIODevice, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from bench.bench_gui import pump, wait_until  # noqa: E402
from photomgr.gui.window.main_window import MainWindow  # noqa: E402

# Words a user would type, not only the data set's class names.
LABELS = ("airplane", "motorbike", "face", "leopard", "piano", "sunflowers", "old car", "my dog")
MAX_BYTES = 400_000
SIZE = (1480, 900)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def save(widget: QWidget, path: Path) -> None:
    """Grab `widget` and write a PNG under MAX_BYTES (palette-reduced if the full-colour one is not)."""
    pump(300)  # let pending paints land
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    image = Image.open(io.BytesIO(bytes(buffer.data().data()))).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        palette = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette.save(path, optimize=True)
    log(f"saved {path} ({path.stat().st_size // 1024} KB, {image.width}x{image.height})")


def settle(window: MainWindow, ms: int = 800) -> None:
    """Wait for thumbnails to load and the grid to repaint."""
    wait_until(lambda: window.thumbnails.pending_count() == 0, 60)
    pump(ms)


def label_id(window: MainWindow, name: str) -> int:
    return next(s.id for s in window.sidebar.summaries if s.name == name)


def index(window: MainWindow, photos: Path) -> None:
    finished: list[object] = []
    window.host.scan_finished.connect(finished.append)
    started = time.perf_counter()
    window.add_folder(photos)
    last = 0.0
    while not finished:
        pump(200)
        if time.perf_counter() - last > 15:
            last = time.perf_counter()
            log(f"indexing… {window.scan_status.text.text()}")
    log(f"indexed in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--photos", type=Path, default=REPO / ".." / "shared" / "photos" / "caltech101-dev")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--library", type=Path, default=None,
                        help="library folder (default: a temporary one)")
    args = parser.parse_args(argv)
    photos = args.photos.resolve()
    if not photos.is_dir():
        print(f"no photos at {photos}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(args.library or Path(tmp) / "library")
        window.resize(*SIZE)
        window.show()
        try:
            run(window, photos, args.out)
        finally:
            window.shutdown()
    return 0


def run(window: MainWindow, photos: Path, out: Path) -> None:
    wait_until(lambda: window.library_ready, 60)
    wait_until(lambda: window.host.model.state not in ("loading",), 300)
    log(f"model: {window.scan_status.model_label.text()}")
    if window.host.model.vectors < 100:
        index(window, photos)
    wait_until(lambda: window.host.model.searchable, 120)
    listed: list[object] = []
    window.host.labels_changed.connect(listed.append)
    window.host.refresh_labels()
    wait_until(lambda: bool(listed), 60)  # the library's existing labels (a reused --library)
    have = {s.name for s in window.sidebar.summaries}
    for name in LABELS:
        if name not in have:
            window.label_actions.add_label(name)
    log("adding labels (the first one builds the offline model's text bridge: up to a minute)")
    wait_until(lambda: {s.name for s in window.sidebar.summaries} >= set(LABELS), 600)
    log("labels: " + ", ".join(f"{s.name} {s.photos}" for s in window.sidebar.summaries))
    window.splitter.setSizes([230, 900, 350])

    # 1. The gallery filtered by a label, with the sidebar's counts and a photo's details.
    window.sidebar.select_label(label_id(window, "airplane"))
    wait_until(lambda: window.feed.showing.ids is not None and window.model.rowCount() > 0, 60)
    window.gallery.select_photo(int(window.model.rows.ids[1]))
    wait_until(lambda: bool(window.details.tags.tags) and window.details.preview.has_image(), 60)
    settle(window)
    save(window, out / "gallery.png")

    # 2. The label editor: a custom threshold and the live count.
    window.show_label_editor(label_id(window, "leopard"))
    editor = window.label_editor
    wait_until(lambda: editor.live_count() is not None, 60)
    editor.default_box.setChecked(False)
    editor.slider.setValue(round(max(0.05, editor.threshold() - 0.1) * 1000))
    editor.prompts.setPlainText("a photo of a leopard\na spotted big cat")
    window.sidebar.select_label(label_id(window, "leopard"))
    wait_until(lambda: window.feed.showing.ids is not None and window.model.rowCount() > 0, 60)
    window.gallery.select_photo(int(window.model.rows.ids[2]))
    wait_until(lambda: bool(window.details.tags.tags) and window.details.preview.has_image(), 60)
    settle(window)
    save(window, out / "label-editor.png")
    window.label_dock.hide()

    # 3. Find similar on a Faces_easy photo.
    window.sidebar.select_label(label_id(window, "face"))
    wait_until(lambda: window.feed.showing.ids is not None and window.model.rowCount() > 0, 60)
    easy = [i for i, p in zip(window.model.rows.ids.tolist(), window.model.rows.paths, strict=True)
            if "/Faces_easy/" in p]
    if not easy:
        window.sidebar.select_folder(None)
        wait_until(lambda: window.feed.showing.kind == "folder" and window.model.rowCount() > 100, 60)
        easy = [i for i, p in zip(window.model.rows.ids.tolist(), window.model.rows.paths, strict=True)
                if "/Faces_easy/" in p]
    target = int(easy[0])
    window.gallery.select_photo(target)
    window.find_similar(target, Path(window.model.rows.paths[window.model.row_of(target)]).name)
    window.resizeDocks([window.similar_dock], [260], Qt.Orientation.Vertical)
    wait_until(lambda: window.similar.source_id == target and bool(window.similar.hits), 60)
    settle(window, 1500)
    save(window, out / "similar.png")
    window.similar_dock.hide()

    # 4. The details panel: a photo's tags with scores (and its decisions).
    window.sidebar.select_label(label_id(window, "motorbike"))
    wait_until(lambda: window.feed.showing.ids is not None and window.model.rowCount() > 0, 60)
    bikes = [i for i, p in zip(window.model.rows.ids.tolist(), window.model.rows.paths, strict=True)
             if "/Motorbikes/" in p]
    window.gallery.select_photo(int(bikes[0]) if bikes else int(window.model.rows.ids[0]))
    tags = window.details.tags
    wait_until(lambda: bool(tags.tags) and window.details.preview.has_image(), 60)
    top = tags.top_tag()
    if top is not None and top.state != "confirmed":  # show a decision: the user confirms the tag
        tags.toggle(top.label_id, "confirmed")
        wait_until(lambda: (t := tags.top_tag()) is not None and t.state == "confirmed", 60)
    settle(window)
    save(window.details, out / "details.png")

    # 5. The viewer: the photo large, upright and fitted, with its tags (double-click / Enter).
    shown = window.details.photo_id
    row = window.model.row_of(shown) if shown is not None else 0
    window.viewer_mode.open(window.model.index(max(0, row)))
    log(f"viewer: page {window.pages.currentWidget() is window.viewer}, row {window.viewer.row}")
    wait_until(lambda: window.viewer.canvas.has_image(), 60)
    try:
        wait_until(lambda: bool(window.viewer.tags.tags), 20)
    except TimeoutError:
        log("the viewer's tags did not arrive in 20 s")
    settle(window, 800)
    save(window, out / "viewer.png")
    window.viewer_mode.close()

    # 6. Review mode: the photos the label "leopard" is least sure about, Y or N for each.
    window.review_mode.start(label_id(window, "leopard"))
    wait_until(lambda: window.review.photo_id is not None and window.review.canvas.has_image(), 60)
    settle(window, 800)
    save(window, out / "review.png")
    window.review_mode.close()


if __name__ == "__main__":
    sys.exit(main())
