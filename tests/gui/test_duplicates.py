"""Duplicates (issue 14): each copy says its size and date; keep one and move the rest to the
system trash after a confirmation; where there is no trash, a clear message and nothing moved."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from photomgr.gui import duplicates
from photomgr.gui.gallery_model import CaptionRole, IdRole
from photomgr.gui.gallery_view import CAPTION_H, PAD
from photomgr.gui.main_window import MainWindow
from tests.gui.conftest import colour_folder, index_folder
from tests.gui.test_labels import shown_names


@pytest.fixture
def dupes(window: MainWindow, qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
          monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    (tmp_path / "xdg").mkdir()  # the desktop's data folder (~/.local/share), which holds its trash
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    index_folder(window, qtbot, colour_folder(tmp_path / "photos"))
    duplicates.show_duplicates(window)
    qtbot.waitUntil(lambda: window.feed.showing.kind == "duplicates"
                    and "×" in str(window.model.index(0).data()), timeout=10_000)
    yield window


def _trash_action(window: MainWindow, stem: str) -> QAction:
    menu = window.photo_menu(window.model.index(shown_names(window).index(stem)))
    return next(a for a in menu.actions() if isinstance(a, QAction) and "trash" in a.text())


def _library_paths(window: MainWindow) -> set[str]:
    with sqlite3.connect(window.paths.database) as conn:
        return {Path(r[0]).stem for r in conn.execute("SELECT path FROM photos")}


def test_each_copy_shows_its_size_and_date(dupes: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    captions = [str(dupes.model.index(r).data()) for r in range(dupes.model.rowCount())]
    # "#1 · 3.2 KB · 2026-12-03 · 320×240": no date taken in these, so the file's is shown.
    assert all(re.match(r"#\d+ · [\d.]+ KB · \d{4}-\d\d-\d\d · 320×240", c) for c in captions), captions
    # On the tile, above the name, in lines broken between the facts: each one is read whole.
    delegate, metrics = dupes.gallery.delegate, dupes.gallery.fontMetrics()
    assert delegate.tile_size.height() == delegate.thumb_size + 2 * PAD + 3 * CAPTION_H
    for row in range(dupes.model.rowCount()):
        caption = dupes.model.index(row).data(CaptionRole)
        lines = delegate.caption_lines_for(caption, metrics)
        assert len(lines) == 2 and " · ".join(lines) == caption
        assert all(metrics.horizontalAdvance(line) <= delegate.thumb_size for line in lines), lines
    # Back in a folder, the tiles hold the name alone again.
    dupes.set_folder(None)
    qtbot.waitUntil(lambda: dupes.feed.showing.kind == "folder", timeout=5_000)
    qtbot.waitUntil(lambda: delegate.tile_size.height() == delegate.thumb_size + 2 * PAD + CAPTION_H,
                    timeout=5_000)


def test_keep_one_and_move_the_rest_to_the_trash_after_confirming(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = dupes
    photos = tmp_path / "photos"
    group = str(window.model.index(shown_names(window).index("green0")).data()).split(" · ")[0]
    others = [s for r, s in enumerate(shown_names(window))
              if str(window.model.index(r).data()).startswith(group + " · ") and s != "green0"]
    action = _trash_action(window, "green0")
    assert action.text() == f"Keep this one, move the other {len(others)} photos of {group} to the trash…"
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton):  # type: ignore[no-untyped-def]
        def question(_parent, _title, text, *_args):  # type: ignore[no-untyped-def]
            asked.append(text)
            return reply
        return question

    # "No": nothing moves, the library keeps every photo.
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    action.trigger()
    qtbot.wait(300)
    assert all((photos / f"{s}.jpg").exists() for s in others) and len(_library_paths(window)) == 10
    assert str(photos / f"{others[0]}.jpg") in asked[0] and "Nothing is deleted" in asked[0]

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    keep = int(window.model.index(shown_names(window).index("green0")).data(IdRole))
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    _trash_action(window, "green0").trigger()
    qtbot.waitUntil(lambda: not any(s in shown_names(window) for s in others), timeout=10_000)
    trash = tmp_path / "xdg" / "Trash" / "files"
    assert sorted(p.stem for p in trash.iterdir()) == sorted(others)  # in the trash, not deleted
    assert not any((photos / f"{s}.jpg").exists() for s in others) and (photos / "green0.jpg").exists()
    assert _library_paths(window) == {p.stem for p in photos.iterdir()}  # the library forgot them
    assert keep in window.model.rows.ids.tolist() or "green0" not in shown_names(window)
    assert f"Moved {len(others)} photos to the trash" in messages


def test_without_a_trash_nothing_moves_and_the_message_says_so(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = dupes
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(duplicates.QFile, "moveToTrash", lambda _path: False)  # as Qt says "no trash"
    _trash_action(window, "green0").trigger()
    qtbot.waitUntil(lambda: "Could not move" in window.banner.label.text(), timeout=10_000)
    text = window.banner.label.text()
    assert "Could not move" in text and duplicates.NO_TRASH in text and "Nothing was deleted" in text
    assert len(list((tmp_path / "photos").iterdir())) == 10 and len(_library_paths(window)) == 10
