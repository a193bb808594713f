"""The viewer: open from the gallery, upright and fitted, zoom, next/previous, tags, Esc back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QImage

from photomgr.gui.gallery.model import IdRole
from photomgr.gui.viewer.loader import FULL, SCREEN, decode_for_view
from photomgr.gui.window.main_window import MainWindow
from photomgr.gui.worker.results import CONFIRMED
from tests.gui.conftest import colour_folder, index_folder
from tests.gui.labels.test_labels import add_label, decisions, shown_names


def rotated_photo(path: Path, size: tuple[int, int] = (1200, 600)) -> Path:
    """A landscape-stored JPEG whose EXIF says "rotate 90° clockwise to view" (orientation 6):
    upright it is a portrait, left half red on top."""
    image = Image.new("RGB", size, (20, 20, 220))
    image.paste((220, 20, 20), (0, 0, size[0] // 2, size[1]))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(path, "JPEG", exif=exif)
    return path


@pytest.fixture
def indexed(window: MainWindow, qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    folder = colour_folder(tmp_path / "photos")
    rotated_photo(folder / "zrotated.jpg")
    index_folder(window, qtbot, folder)
    yield window


def row_of(window: MainWindow, stem: str) -> int:
    return shown_names(window).index(stem)


def test_decode_for_view_is_upright_and_full_has_every_pixel(tmp_path: Path) -> None:
    path = rotated_photo(tmp_path / "r.jpg")
    screen = decode_for_view(path, SCREEN, 400)
    full = decode_for_view(path, FULL, 400)
    assert full.image.size() == QSize(600, 1200) == full.full_size == screen.full_size
    assert screen.image.height() > screen.image.width() and screen.image.height() < 1200
    assert full.image.format() == QImage.Format.Format_RGB32
    top = full.image.pixelColor(300, 100)  # upright, the red half is on top
    assert top.red() > 150 and top.blue() < 100


def test_double_click_views_zooms_steps_and_esc_returns(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    viewer, canvas, gallery = window.viewer, window.viewer.canvas, window.gallery
    row = row_of(window, "zrotated")
    rect = gallery.visualRect(window.model.index(row))
    # A real double-click is press, release, double-click: the view needs the press first.
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.viewing
    qtbot.waitUntil(canvas.has_image, timeout=10_000)
    assert viewer.row == row and viewer.title.text() == "zrotated.jpg"
    # Upright and fitted: a portrait, the whole photo inside the canvas.
    assert canvas.image_size().height() > canvas.image_size().width()
    assert canvas.fitted and canvas.zoom() == pytest.approx(min(2.0, canvas.height() / 1200,
                                                                canvas.width() / 600))
    qtbot.waitUntil(lambda: canvas.painted > 0, timeout=5_000)

    # The wheel zooms in around the cursor; 1:1 then decodes every pixel; 0 fits again.
    fit = canvas.zoom()
    qtbot.wait(10)
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    centre = QPointF(canvas.width() / 2, canvas.height() / 2)
    wheel = QWheelEvent(centre, canvas.mapToGlobal(centre), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    assert not canvas.fitted and canvas.zoom() == pytest.approx(fit * 1.25)
    qtbot.keyClick(canvas, Qt.Key.Key_1)
    assert canvas.zoom() == 1.0 and viewer.zoom_label.text() == "100%"
    qtbot.waitUntil(lambda: canvas.image_size() == QSize(600, 1200), timeout=10_000)
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    assert canvas.fitted

    # Left steps to the previous photo (decoded ahead, so it is shown at once) and selects it.
    previous_id = int(window.model.index(row - 1).data(IdRole))
    qtbot.waitUntil(lambda: window.viewer_loader.cached(previous_id, SCREEN) is not None, timeout=10_000)
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    assert viewer.row == row - 1 and canvas.has_image()  # no wait: it came from the prefetch
    assert gallery.current_id() == previous_id
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert viewer.row == row
    qtbot.keyClick(canvas, Qt.Key.Key_Right)  # the last photo: stays
    assert viewer.row == row

    # Esc: back to the gallery, the viewed photo current and its details shown.
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert not window.viewing and window.pages.currentWidget() is window.splitter
    assert gallery.current_id() == previous_id
    assert gallery.viewport().rect().intersects(gallery.visualRect(gallery.currentIndex()))
    qtbot.waitUntil(lambda: window.details.photo_id == previous_id, timeout=5_000)

    # Enter on the gallery opens the current photo.
    gallery.setFocus()
    qtbot.keyClick(gallery, Qt.Key.Key_Return)
    assert window.viewing and viewer.photo_id == previous_id


def test_viewer_shows_tags_and_confirms(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    window.viewer_mode.open(window.model.index(row_of(window, "red1")))
    tags = window.viewer.tags
    qtbot.waitUntil(lambda: [t.label for t in tags.tags] == ["red"], timeout=5_000)
    tags.buttons[(red, "confirm")].click()
    qtbot.waitUntil(lambda: decisions(window) == {"red1": CONFIRMED}, timeout=5_000)
    qtbot.waitUntil(lambda: bool(tags.tags) and tags.tags[0].state == CONFIRMED, timeout=5_000)
    # Space on the next photo confirms its top tag too.
    qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Right)
    stem = shown_names(window)[window.viewer.row]
    if stem.startswith("red"):
        qtbot.waitUntil(lambda: bool(tags.tags) and tags.photo_id == window.viewer.photo_id, timeout=5_000)
        qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: decisions(window).get(stem) == CONFIRMED, timeout=5_000)


def test_a_broken_file_says_so_in_the_viewer(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)
    with qtbot.waitSignal(window.host.scan_finished, timeout=30_000):
        window.add_folder(folder)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)
    window.viewer_mode.open(window.model.index(0))
    assert not window.viewer.canvas.has_image() and "could not be read" in window.viewer.canvas.message


def test_viewing_while_indexing_keeps_the_gui_responsive(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Browse and view while a scan runs: the stall monitor sees no long gap (the 100 ms target
    is measured by bench/bench_viewer.py; a shared test machine gets the suite's looser bound)."""
    from photomgr.gui.stall import StallMonitor
    from tests.gui.conftest import photo_folder

    first = photo_folder(tmp_path / "first", good=12, broken=0, size=(1600, 1200))
    with qtbot.waitSignal(window.host.scan_finished, timeout=30_000):
        window.add_folder(first)
    qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=10_000)
    more = photo_folder(tmp_path / "more", good=120, broken=0, size=(640, 480))
    stalls = StallMonitor(interval_ms=10)
    stalls.start()
    with qtbot.waitSignal(window.host.scan_finished, timeout=60_000):
        window.add_folder(more)
        window.viewer_mode.open(window.model.index(0))
        for _ in range(8):
            qtbot.waitUntil(window.viewer.canvas.has_image, timeout=10_000)
            qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Right)
        qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Escape)
    stalls.stop()
    print(f"GUI while viewing during a scan: {stalls.summary()}")
    assert stalls.max_gap_ms < 250
