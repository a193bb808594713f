"""Duplicates (issue 14): each copy says its size and date; keep one and move the rest to the
system trash after a confirmation; where there is no trash, a clear message and nothing moved."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QFile
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from photomgr.core.fspaths import path_from_db
from photomgr.core.library import photo_rows
from photomgr.gui.gallery import duplicates
from photomgr.gui.gallery.model import CaptionRole, IdRole
from photomgr.gui.gallery.view import CAPTION_H, PAD
from photomgr.gui.window.main_window import MainWindow
from tests.conftest import make_photo
from tests.gui.conftest import RED, colour_folder, index_folder
from tests.gui.labels.test_labels import shown_names


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
        return {Path(path_from_db(r[0])).stem for r in conn.execute("SELECT path FROM photos")}


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
    assert f"Moved {len(others)} photos to the trash (Edit ▸ Undo puts them back)" in messages


def test_without_a_trash_nothing_moves_and_the_message_says_so(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = dupes

    class NoTrash(QFile):  # as Qt says "no trash" (a subclass: Shiboken may not see a patched method)
        def moveToTrash(self) -> bool:  # type: ignore[override]
            return False

    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(duplicates, "QFile", NoTrash)
    _trash_action(window, "green0").trigger()
    qtbot.waitUntil(lambda: "Could not move" in window.banner.label.text(), timeout=10_000)
    text = window.banner.label.text()
    assert "Could not move" in text and duplicates.NO_TRASH in text and "Nothing was deleted" in text
    assert len(list((tmp_path / "photos").iterdir())) == 10 and len(_library_paths(window)) == 10
    # Nothing moved: no step to undo in Edit ▸ Undo (was: "Undo Move 3 photos to the trash").
    assert window.undo_stack.count() == 0 and not window.menu_actions.undo.isEnabled()


def _group_of(window: MainWindow, keep: str) -> tuple[list[str], list[int]]:
    """The other photos of `keep`'s group: names and ids."""
    group = str(window.model.index(shown_names(window).index(keep)).data()).split(" · ")[0]
    names = [s for r, s in enumerate(shown_names(window))
             if str(window.model.index(r).data()).startswith(group + " · ") and s != keep]
    return names, [int(window.model.index(shown_names(window).index(s)).data(IdRole)) for s in names]


def _tag(window: MainWindow, photo_id: int, label: str) -> None:
    with sqlite3.connect(window.paths.database) as conn:
        conn.execute("INSERT INTO labels (name, prompts, threshold, created_at, updated_at)"
                     " VALUES (?, '[]', NULL, 'x', 'x')", (label,))
        conn.execute("INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at) SELECT ?,"
                     " id, 'confirmed', 'manual', 'x' FROM labels WHERE name = ?", (photo_id, label))


def _tagged(window: MainWindow) -> list[tuple[str, str]]:
    with sqlite3.connect(window.paths.database) as conn:
        return sorted((Path(p).stem, n) for p, n in conn.execute(
            "SELECT p.path, l.name FROM tag_decisions d JOIN photos p ON p.id = d.photo_id"
            " JOIN labels l ON l.id = d.label_id"))


def _undo_puts_all_back(window: MainWindow, qtbot, photos: Path, others: list[str],  # type: ignore[no-untyped-def]
                        trash_files: Path) -> None:
    """After a redo of the trash step: Undo puts every file and its tag back."""
    assert window.menu_actions.undo.text() == f"&Undo Move {len(others)} photos to the trash"
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: all(s in shown_names(window) for s in others), timeout=10_000)
    assert all((photos / f"{s}.jpg").exists() for s in others) and not any(trash_files.iterdir())
    assert _tagged(window) == [(others[0], "leaf")] and len(_library_paths(window)) == 10


def _trash_green0s_group(window: MainWindow, qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                         monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Path]:
    """Tag one of green0's copies "leaf", then move them all to a stand-in trash folder (the
    dialog answered Yes) and wait until the gallery no longer shows them: their names, the folder."""
    others, ids = _group_of(window, "green0")
    _tag(window, ids[0], "leaf")
    trash_files = tmp_path / "stand-in-trash"
    trash_files.mkdir()
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    duplicates.ask_trash(window, ids, trash=lambda path: path.rename(trash_files / path.name))
    qtbot.waitUntil(lambda: not any(s in shown_names(window) for s in others), timeout=10_000)
    return others, trash_files


@pytest.mark.parametrize("trash", ["desktop", "stand-in"])
def test_move_to_trash_can_be_undone(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trash: str) -> None:
    """Edit ▸ Undo moves the files back from the trash and the library has them again, tags
    included: with the desktop's trash (Qt's, through the menu), and with an injected mover."""
    window, photos = dupes, tmp_path / "photos"
    others, ids = _group_of(window, "green0")
    _tag(window, ids[0], "leaf")
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text, *_a: asked.append(text)
                        or QMessageBox.StandardButton.Yes)
    if trash == "desktop":
        trash_files = tmp_path / "xdg" / "Trash" / "files"
        _trash_action(window, "green0").trigger()
    else:
        trash_files = tmp_path / "stand-in-trash"
        trash_files.mkdir()
        assert duplicates.ask_trash(window, ids, trash=lambda path: path.rename(trash_files / path.name))
    assert "Edit ▸ Undo puts the files back" in asked[0]
    qtbot.waitUntil(lambda: not any(s in shown_names(window) for s in others), timeout=10_000)
    assert sorted(p.stem for p in trash_files.iterdir()) == sorted(others)
    assert _tagged(window) == [] and len(_library_paths(window)) == 10 - len(others)
    undo = window.menu_actions.undo  # Edit ▸ Undo names the step (was: no step, nothing to undo)
    assert undo.isEnabled() and undo.text() == f"&Undo Move {len(others)} photos to the trash"

    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    undo.trigger()
    qtbot.waitUntil(lambda: all(s in shown_names(window) for s in others), timeout=10_000)
    assert all((photos / f"{s}.jpg").exists() for s in others) and not any(trash_files.iterdir())
    assert not any((trash_files.parent / "info").glob("*.trashinfo"))  # no ghost in the trash window
    assert len(_library_paths(window)) == 10 and _tagged(window) == [(others[0], "leaf")]
    assert f"Put {len(others)} photos back from the trash" in messages
    assert window.menu_actions.redo.text() == f"&Redo Move {len(others)} photos to the trash"


def test_what_undo_cannot_put_back_stays_in_the_trash_for_another_try(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, photos = dupes, tmp_path / "photos"
    others, trash_files = _trash_green0s_group(window, qtbot, tmp_path, monkeypatch)
    taken = photos / f"{others[0]}.jpg"
    taken.mkdir()  # its place taken (a folder: the folder watch's rescan adds no photo for it)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: "Could not put" in window.banner.label.text(), timeout=10_000)
    text = window.banner.label.text()
    assert f"{others[0]}.jpg back: another file is in its place now" in text and "Edit ▸ Redo" in text
    assert (trash_files / f"{others[0]}.jpg").exists()  # left in the trash, not overwritten
    assert taken.is_dir()
    assert all((photos / f"{s}.jpg").exists() for s in others[1:])
    assert not any((trash_files / f"{s}.jpg").exists() for s in others[1:])

    # Its place free again, Redo then Undo puts it back too, with its tag (was: its tags lost).
    taken.rmdir()
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: not any(s in shown_names(window) for s in others), timeout=10_000)
    _undo_puts_all_back(window, qtbot, photos, others, trash_files)


def test_undo_names_only_what_went_to_the_trash(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, photos = dupes, tmp_path / "photos"
    others, ids = _group_of(window, "green0")
    trash_files = tmp_path / "stand-in-trash"
    trash_files.mkdir()

    def mover(path: Path) -> Path:
        if path.stem == others[0]:
            raise PermissionError(13, "not allowed", str(path))
        return path.rename(trash_files / path.name)

    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    duplicates.ask_trash(window, ids, trash=mover)
    qtbot.waitUntil(lambda: "Could not move" in window.banner.label.text(), timeout=10_000)
    assert f"{others[0]}.jpg to the trash: not allowed" in window.banner.label.text()
    moved = len(others) - 1
    assert window.menu_actions.undo.text() == f"&Undo Move {moved} photo{'s' * (moved != 1)} to the trash"
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: all((photos / f"{s}.jpg").exists() for s in others), timeout=10_000)
    qtbot.waitUntil(lambda: len(_library_paths(window)) == 10, timeout=10_000)


def test_an_undo_that_cannot_write_the_library_leaves_the_files_in_the_trash(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library cannot be written during the undo (another program holds it, a full disk):
    the message says so, the files stay in the trash, and Redo then Undo tries again."""
    window, photos = dupes, tmp_path / "photos"
    others, trash_files = _trash_green0s_group(window, qtbot, tmp_path, monkeypatch)

    def full(*_a: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(photo_rows, "put_back", full)
        window.undo_stack.undo()
        qtbot.waitUntil(lambda: "Could not put the photos back" in window.banner.label.text(), timeout=10_000)
    assert "No space left on device" in window.banner.label.text()
    assert sorted(p.stem for p in trash_files.iterdir()) == sorted(others)  # moved back to the trash
    assert len(_library_paths(window)) == 10 - len(others)  # folder and library agree

    window.undo_stack.redo()  # moves nothing (they are in the trash already); the worker runs it first
    _undo_puts_all_back(window, qtbot, photos, others, trash_files)


def test_a_name_that_is_not_utf8_is_refused_and_no_other_file_is_trashed(  # type: ignore[no-untyped-def]
        window: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Qt names files by text: "gr\\xfcn.jpg" (not UTF-8) reached it as "gr\\ufffdn.jpg", so Qt
    moved THAT file to the trash (here a red photo), or, with none there, said no, and the
    message blamed the trash. Now the photo is refused with a message that says why, and the
    copies with ordinary names still go."""
    (tmp_path / "xdg").mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    photos = colour_folder(tmp_path / "photos")
    odd = photos / os.fsdecode(b"gr\xfcn.jpg")
    shutil.copy(photos / "green0.jpg", odd)  # a copy of green0, in its group
    decoy = photos / "gr\ufffdn.jpg"  # the name Qt made of it: another photo, in no group
    make_photo(decoy, RED, seed=99)
    index_folder(window, qtbot, photos)
    duplicates.show_duplicates(window)
    qtbot.waitUntil(lambda: window.feed.showing.kind == "duplicates"
                    and "×" in str(window.model.index(0).data()), timeout=10_000)
    others, ids = _group_of(window, "green0")
    assert odd.stem in others and "green0-copy" in others
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    assert duplicates.ask_trash(window, ids)  # the desktop's trash, through Qt
    qtbot.waitUntil(lambda: "Could not move" in window.banner.label.text(), timeout=10_000)
    text = window.banner.label.text()
    assert f"Could not move {photos}/gr\\xfcn.jpg to the trash: {duplicates.NOT_UTF8}" in text
    assert duplicates.NO_TRASH not in text
    assert decoy.exists() and odd.exists()
    trash = tmp_path / "xdg" / "Trash" / "files"
    assert sorted(p.stem for p in trash.iterdir()) == sorted(s for s in others if s != odd.stem)
    assert {odd.stem, decoy.stem} <= _library_paths(window)


def test_the_desktop_mover_never_trashes_a_file_of_a_similar_name(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "xdg").mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    odd, decoy = tmp_path / os.fsdecode(b"caf\xe9.jpg"), tmp_path / "caf\ufffd.jpg"
    odd.write_bytes(b"odd")
    with pytest.raises(OSError, match="not valid UTF-8"):
        duplicates.move_to_trash(odd)  # alone: Qt finds no such file and says no
    decoy.write_bytes(b"decoy")
    with pytest.raises(OSError, match="not valid UTF-8"):
        duplicates.move_to_trash(odd)  # was: moved the decoy to the trash
    assert odd.read_bytes() == b"odd" and decoy.read_bytes() == b"decoy"
    assert list((tmp_path / "xdg").rglob("*.jpg")) == []  # nothing in the trash
    plain = tmp_path / "café.jpg"  # not ASCII, but UTF-8: it goes
    plain.write_bytes(b"plain")
    went = duplicates.move_to_trash(plain)
    assert went is not None and went.read_bytes() == b"plain" and not plain.exists()


def test_undo_where_the_library_lists_a_file_gone_since_says_that_entry_was_replaced(  # type: ignore[no-untyped-def]
        dupes: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, photos = dupes, tmp_path / "photos"
    others, _trash_files = _trash_green0s_group(window, qtbot, tmp_path, monkeypatch)
    place = photos / f"{others[0]}.jpg"
    make_photo(place, RED, seed=99)  # another file at its place, scanned in, then deleted
    window.add_folder(photos)
    qtbot.waitUntil(lambda: others[0] in _library_paths(window), timeout=10_000)
    place.unlink()
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: "were set aside" in window.banner.label.text(), timeout=10_000)
    assert f"Put {place} back with its tags" in window.banner.label.text()
    qtbot.waitUntil(lambda: all(s in shown_names(window) for s in others), timeout=10_000)
    assert _tagged(window) == [(others[0], "leaf")] and len(_library_paths(window)) == 10
