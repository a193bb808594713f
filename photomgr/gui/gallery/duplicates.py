"""Duplicates in the gallery: each group's photos told apart (size, date, pixels), and the two
ways to keep one: hide the rest, or move the rest to the system trash after the user confirms;
each is one step in Edit ▸ Undo.

Hiding is a library state (core.ops.hiding), never a change to the files; trashing moves files
to the desktop's trash (core.ops.trash with Qt's QFile.moveToTrash), never deletes one.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QFile
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QMessageBox

from photomgr.core.fspaths import display_path
from photomgr.core.library.hidden import PhotoFacts
from photomgr.core.ops.hiding import hide_photos, unhide_photos
from photomgr.core.ops.trash import MoveToTrash, Restored, Trashed, TrashMemo, trash_photos, undo_trash
from photomgr.gui.details.panel import format_size
from photomgr.gui.gallery.model import PathRole
from photomgr.gui.text import plural
from photomgr.gui.worker.host import WorkerHost

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow

NO_TRASH = "this system has no trash for it"
NOT_UTF8 = ("its name is not valid UTF-8 text, which photomgr cannot hand to the trash; rename the "
            "file (a file manager can), then try again")


def describe_copy(group: str, facts: PhotoFacts | None) -> str:
    """"#3 · 2.4 MB · 2019-06-01 · 4000×3000": the group, then what differs between copies."""
    if facts is None:
        return group
    parts = [group, format_size(facts.size)]
    if facts.date_taken:
        parts.append(facts.date_taken[:10])
    elif facts.mtime_ns:  # no date in the photo: the file's (when it was last changed)
        parts.append(datetime.fromtimestamp(facts.mtime_ns / 1e9, UTC).strftime("%Y-%m-%d"))
    if facts.width and facts.height:
        parts.append(f"{facts.width}×{facts.height}")
    return " · ".join(parts)


def group_captions(groups: dict[int, str], facts: dict[int, PhotoFacts]) -> dict[int, str]:
    return {pid: describe_copy(group, facts.get(pid)) for pid, group in groups.items()}


def group_members(captions: dict[int, str], photo_id: int) -> list[int]:
    """The ids in `photo_id`'s group (captions start with "#N"), in caption order."""
    group = captions.get(photo_id, "").split(" · ")[0]
    return [pid for pid, text in captions.items() if group and text.split(" · ")[0] == group]


class HidePhotos(QUndoCommand):
    """Hide photos from the gallery (undo shows them again); `done` runs after either."""

    def __init__(self, host: WorkerHost, photo_ids: list[int], done: Callable[[], None]) -> None:
        super().__init__(f"Hide {plural(len(photo_ids), 'photo')}")
        self.host = host
        self.photo_ids = photo_ids
        self.hidden: list[int] = []
        self.done = done

    def redo(self) -> None:
        ids = self.photo_ids
        self.host.run_op(lambda ops: hide_photos(ops, ids), self._on_hidden)

    def _on_hidden(self, hidden: object) -> None:
        # run_op hands over the OpResult's value: the ids this step hid (typed loosely there)
        self.hidden = [int(i) for i in hidden] if isinstance(hidden, list) else []
        self.done()

    def undo(self) -> None:
        ids = list(self.hidden) if self.hidden else list(self.photo_ids)
        self.host.run_op(lambda ops: unhide_photos(ops, ids), lambda _none: self.done())


def show_duplicates(win: MainWindow) -> None:
    win.leave_search()
    win.feed.show_duplicates()
    win.sidebar.mark_duplicates()


def hide(win: MainWindow, photo_ids: list[int]) -> None:
    """Hide photos from the gallery (the files stay); one undoable step."""
    win.undo_stack.push(HidePhotos(win.host, photo_ids, lambda: _refresh(win)))


def _refresh(win: MainWindow) -> None:
    win.feed.refetch()
    win.host.photos_changed.emit([])  # as after a scan: the sidebar's counts re-read


def move_to_trash(path: Path) -> Path | None:
    """The desktop's own trash (freedesktop.org's on Linux, the Recycle Bin, the macOS Trash);
    returns where the file went, so that undo can move it back (None: Qt did not say)."""
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    if not _qt_names_exactly(path):
        raise OSError(errno.EILSEQ, NOT_UTF8, str(path))
    # The instance form: after a move Qt sets the file name to the path in the trash (the static
    # QFile.moveToTrash(path) of PySide6 returns only a bool).
    moved = QFile(str(path))
    if not moved.moveToTrash():  # Qt says only no: no trash here, or not allowed
        raise OSError(errno.EPERM, NO_TRASH, str(path))
    went = moved.fileName()
    return Path(went) if went and went != str(path) else None


def _qt_names_exactly(path: Path) -> bool:
    """Whether Qt, which names files by text, reaches this very file. A name that is not UTF-8
    (bytes Python holds as lone surrogates) comes out of Qt with U+FFFD in their place, which
    names another file: "caf\xe9.jpg" became "caf\ufffd.jpg", and Qt moved that one to the
    trash if it existed (else it said no, which read as "no trash")."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that are not UTF-8, a lone UTF-16 half
        return False
    if sys.platform == "darwin" or os.name == "nt":
        # Windows: Qt passes the UTF-16 text as it is. macOS: Qt passes names decomposed (NFD),
        # which its file systems take as the same name, so the bytes may differ and still match.
        return True
    # Elsewhere Qt encodes as UTF-8 whatever the locale, Python as the locale says.
    return bytes(QFile.encodeName(name).data()) == os.fsencode(path)


class TrashPhotos(QUndoCommand):
    """Move photos' files to the trash and have the library forget them; undo moves the files
    back and puts their library rows (tags, decisions, descriptions, vectors) back.

    Its TrashMemo is filled by the redo and read by the undo, both on the worker thread (which
    runs them in queue order), never here."""

    def __init__(self, win: MainWindow, photo_ids: list[int], trash: MoveToTrash) -> None:
        super().__init__(_step_text(len(photo_ids)))
        self.win, self.photo_ids, self.trash = win, list(photo_ids), trash
        self.memo = TrashMemo()
        self.held = 0  # photos the memo holds for undo, as the last answer said

    def redo(self) -> None:
        ids, trash, memo = self.photo_ids, self.trash, self.memo
        # memo.to_trash, read in the worker after the undo before it: ids can change on undo
        self.win.host.run_op(lambda ops: trash_photos(ops, memo.to_trash(ids), trash, memo),
                             self._trashed, self._not_trashed)

    def undo(self) -> None:
        memo = self.memo
        self.win.host.run_op(lambda ops: undo_trash(ops, memo), self._restored, self._not_restored)

    def _trashed(self, result: object) -> None:
        assert isinstance(result, Trashed)  # run_op hands over the OpResult's value
        win = self.win
        self.held = result.held
        if result.photo_ids:
            win.statusBar().showMessage(f"Moved {plural(len(result.photo_ids), 'photo')} to the trash "
                                        "(Edit ▸ Undo puts them back)", 15_000)
        if result.held:
            self._retitle(result.held)
        else:
            self._drop()
        if result.failed:
            which, why = _first(result.failed)
            win.show_error(f"Could not move {which} to the trash: {why}. Nothing was deleted: "
                           "the file stays where it is, and in the library.")
        _refresh(win)
        win.host.refresh_labels()

    def _not_trashed(self, error: Exception) -> None:
        # trash_photos moved the files back before it raised: folder and library agree
        self.win.show_error(f"Could not move the photos to the trash: {error}. Nothing was moved: "
                            "the files are where they were, and in the library.")
        if not self.held:
            self._drop()
        _refresh(self.win)

    def _restored(self, result: object) -> None:
        assert isinstance(result, Restored)
        win = self.win
        self.held = len(result.kept)
        if result.photo_ids:
            win.statusBar().showMessage(f"Put {plural(len(result.photo_ids), 'photo')} back from the trash",
                                        15_000)
        kept = [f for f in result.failed if f[0] in result.kept]
        lost = [f for f in result.failed if f[0] not in result.kept]
        if kept:  # its place is taken, say: the user can free it and try again
            which, why = _first(kept)
            win.show_error(f"Could not put {which} back: {why}. It stays in the trash, and this step "
                           "keeps its tags: once its place is free, Edit ▸ Redo then Edit ▸ Undo "
                           "puts it back.")
        if lost:  # each reason says what became of the file
            which, why = _first(lost)
            win.show_error(f"Could not put {which} back: {why}.")
        if result.replaced:  # another photo's tags went: said where the user will see it
            which, _ = _first([(path, "") for path in result.replaced])
            win.show_error(f"Put {which} back with its tags. The library also listed another file at that "
                           "place, scanned in since and no longer there; its entry and tags were set aside "
                           "(Edit ▸ Redo brings them back).")
        _refresh(win)
        win.host.refresh_labels()

    def _not_restored(self, error: Exception) -> None:
        # undo_trash returned the files to the trash before it raised, and its memo holds them
        self.win.show_error(f"Could not put the photos back from the trash: {error}. They stay in the "
                            "trash, with their tags kept for this step: Edit ▸ Redo then Edit ▸ Undo "
                            "tries again.")
        _refresh(self.win)

    def _retitle(self, count: int) -> None:
        """Edit ▸ Undo names what this step moved (fewer than asked when some could not go)."""
        self.setText(_step_text(count))
        stack = self.win.undo_stack
        if stack.index() > 0 and stack.command(stack.index() - 1) is self:
            stack.undoTextChanged.emit(stack.undoText())  # Qt re-reads the text only on a move

    def _drop(self) -> None:
        """Nothing went to the trash: no step to undo in Edit ▸ Undo."""
        self.setObsolete(True)  # dropped, not undone, when the stack reaches it
        stack = self.win.undo_stack
        if stack.index() == stack.count() and stack.index() > 0 and stack.command(stack.index() - 1) is self:
            stack.undo()  # the newest step: drop it now


def _first(failed: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """("PATH (and 2 others)", why) for the first of (path, why) failures."""
    path, why = failed[0]
    # display_path: a byte that is not UTF-8 as \xNN, not dropped (Qt would show U+FFFD)
    return display_path(path) + (f" (and {plural(len(failed) - 1, 'other')})" if len(failed) > 1 else ""), why


def _step_text(count: int) -> str:
    return f"Move {plural(count, 'photo')} to the trash"


def ask_trash(win: MainWindow, photo_ids: list[int], *, trash: MoveToTrash = move_to_trash) -> bool:
    """Confirm, then move the photos' files to the trash and have the library forget them (one
    undoable step)."""
    paths = [display_path(str(win.model.index(row).data(PathRole))) for row in win.model.rows_of(photo_ids)]
    listed = "\n".join(paths[:8]) + (f"\n… and {len(paths) - 8} more" if len(paths) > 8 else "")
    answer = QMessageBox.question(
        win, "Move to Trash",
        f"Move {plural(len(photo_ids), 'photo')} to the system trash?\n\n{listed}\n\nThe files go to "
        "the trash and the library forgets them; Edit ▸ Undo puts the files back, with their tags. "
        "Nothing is deleted.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    win.undo_stack.push(TrashPhotos(win, photo_ids, trash))
    return True
