"""Order and size: sort by date, name, folder or score (remembered per library), thumbnail size
with Ctrl+plus/minus and a slider, and filters that combine (a label AND a folder AND a search)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from photomgr.gui.window.main_window import MainWindow
from tests.gui.conftest import colour_folder, index_folder
from tests.gui.labels.test_labels import add_label, click_label, shown_names


@pytest.fixture
def indexed(window: MainWindow, qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    folder = colour_folder(tmp_path / "photos")
    (folder / "b").mkdir()
    for name in ("red2.jpg", "green2.jpg", "blue2.jpg"):  # a sub-folder: photos/b
        shutil.move(folder / name, folder / "b" / name)
    index_folder(window, qtbot, folder)
    yield window


def set_sort(window: MainWindow, key: str, descending: bool = False) -> None:
    bar = window.browse_bar
    bar.direction.setChecked(descending)
    bar.sort.setCurrentIndex(bar.sort.findData(key))


def test_sort_orders_and_is_remembered_per_library(indexed: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    set_sort(window, "name")
    expected = [Path(p).stem for p in sorted(window.model.rows.paths, key=lambda p: Path(p).name.casefold())]
    qtbot.waitUntil(lambda: shown_names(window) == expected, timeout=5_000)
    set_sort(window, "name", descending=True)
    qtbot.waitUntil(lambda: shown_names(window) == expected[::-1], timeout=5_000)
    set_sort(window, "folder")  # photos/ first, then photos/b/
    qtbot.waitUntil(lambda: shown_names(window)[-3:] == ["blue2", "green2", "red2"], timeout=5_000)
    set_sort(window, "date_added", descending=True)
    qtbot.waitUntil(lambda: len(shown_names(window)) == 10, timeout=5_000)

    # The label's score, both ways, on the label's photos.
    red = add_label(window, qtbot, "red", 3)
    click_label(window, qtbot, red)
    set_sort(window, "score", descending=True)
    qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["red0", "red1", "red2"], timeout=5_000)
    best_first = shown_names(window)
    set_sort(window, "score", descending=False)
    qtbot.waitUntil(lambda: shown_names(window) == best_first[::-1], timeout=5_000)

    # Remembered for this library: a new window on it starts with the same order.
    set_sort(window, "name", descending=True)
    window.shutdown()
    again = MainWindow(window.paths.root)
    qtbot.addWidget(again)
    try:
        assert again.browse_bar.sort_key() == "name" and again.browse_bar.descending()
        assert (again.feed.sort, again.feed.descending) == ("name", True)
    finally:
        again.shutdown()


def test_thumbnail_size_with_keys_and_slider(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    gallery = window.gallery
    width = gallery.visualRect(window.model.index(0)).width()
    qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert window.browse_bar.thumb_size() == 166 and gallery.delegate.thumb_size == 166
    assert gallery.visualRect(window.model.index(0)).width() == width + 16
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert gallery.delegate.thumb_size == 134
    window.browse_bar.size_slider.setValue(246)
    assert gallery.delegate.thumb_size == 246
    # The thumbnails are decoded again at the new size.
    window.gallery.viewport().repaint()
    qtbot.waitUntil(lambda: window.thumbnails.cache_size() > 0, timeout=10_000)
    key = window.model.rows.hashes[0]
    assert key is not None
    qtbot.waitUntil(lambda: window.thumbnails.cached(key) is not None, timeout=10_000)
    pixmap = window.thumbnails.cached(key)
    assert pixmap is not None and pixmap.deviceIndependentSize().width() > 150


def test_a_label_a_folder_and_a_search_combine(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    sub = os.path.join(str(window.model.rows.paths[0]).rsplit("/photos/", 1)[0], "photos", "b")
    window.set_folder(sub)  # the folder photos/b ...
    qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["blue2", "green2", "red2"], timeout=5_000)
    window.show_label(red)  # ... AND the label red
    qtbot.waitUntil(lambda: shown_names(window) == ["red2"], timeout=5_000)
    assert "label “red”" in window.browse_bar.filters.text() and "/b" in window.browse_bar.filters.text()
    assert window.browse_bar.clear_button.isVisible()
    # ... AND a search (inside the label's photos, in that folder).
    window.search.setText("red")
    window.run_search()
    qtbot.waitUntil(lambda: window.feed.showing.kind == "search" and window.feed.showing.ids is not None,
                    timeout=5_000)
    qtbot.waitUntil(lambda: shown_names(window) == ["red2"], timeout=5_000)
    assert "matching “red”" in window.browse_bar.filters.text()
    window.search.clear()  # back to the label in the folder
    qtbot.waitUntil(lambda: window.feed.showing.kind == "label" and shown_names(window) == ["red2"],
                    timeout=5_000)
    window.browse_bar.clear_button.click()  # the label in the whole library
    qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["red0", "red1", "red2"], timeout=5_000)
