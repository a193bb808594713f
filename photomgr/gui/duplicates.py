"""Duplicates in the gallery: each group's photos told apart (size, date, pixels), and the two
ways to keep one: hide the rest (one undoable step), or move the rest to the system trash after
the user confirms.

Hiding is a library state (core.ops.hiding), never a change to the files; trashing moves files
to the desktop's trash (core.ops.trash with Qt's QFile.moveToTrash), never deletes one.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QFile
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QMessageBox

from photomgr.core.library.hidden import PhotoFacts
from photomgr.core.ops.hiding import hide_photos, unhide_photos
from photomgr.core.ops.trash import MoveToTrash, Trashed, trash_photos
from photomgr.gui.details_panel import format_size
from photomgr.gui.gallery_model import PathRole
from photomgr.gui.text import plural
from photomgr.gui.worker_host import WorkerHost

if TYPE_CHECKING:
    from photomgr.gui.main_window import MainWindow

NO_TRASH = "this system has no trash for it"


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


def move_to_trash(path: Path) -> None:
    """The desktop's own trash (freedesktop.org's on Linux, the Recycle Bin, the macOS Trash)."""
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    if not QFile.moveToTrash(str(path)):  # Qt says only no: no trash here, or not allowed
        raise OSError(errno.EPERM, NO_TRASH, str(path))


def ask_trash(win: MainWindow, photo_ids: list[int], *, trash: MoveToTrash = move_to_trash) -> bool:
    """Confirm, then move the photos' files to the trash and have the library forget them."""
    paths = [str(win.model.index(row).data(PathRole)) for row in win.model.rows_of(photo_ids)]
    listed = "\n".join(paths[:8]) + (f"\n… and {len(paths) - 8} more" if len(paths) > 8 else "")
    answer = QMessageBox.question(
        win, "Move to Trash",
        f"Move {plural(len(photo_ids), 'photo')} to the system trash?\n\n{listed}\n\nThe files go to "
        "the trash, where you can restore them; the library forgets them (their tags too). "
        "Nothing is deleted.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    win.host.run_op(lambda ops: trash_photos(ops, photo_ids, trash), lambda result: _trashed(win, result))
    return True


def _trashed(win: MainWindow, result: object) -> None:
    assert isinstance(result, Trashed)  # run_op hands over the OpResult's value
    if result.photo_ids:
        win.statusBar().showMessage(f"Moved {plural(len(result.photo_ids), 'photo')} to the trash", 15_000)
    if result.failed:
        path, why = result.failed[0]
        more = f" (and {plural(len(result.failed) - 1, 'other')})" if len(result.failed) > 1 else ""
        win.show_error(f"Could not move {path}{more} to the trash: {why}. Nothing was deleted: "
                       "the file stays where it is, and in the library.")
    _refresh(win)
    win.host.refresh_labels()
