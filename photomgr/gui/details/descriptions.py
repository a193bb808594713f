"""Descriptions in the window: the editable sentence under the photo in the details panel, the
gallery tiles' tooltips, and the Model menu's "Write Descriptions" setting.

Reads go to the QueryRunner, writes through WorkerHost.run_op (core/ops/describing.py), so the
GUI thread never waits. Setting a description is one undoable step: the operation returns the
user's description it replaced, which the worker keeps in the command's memo for its undo.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFocusEvent, QKeyEvent, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QLineEdit, QWidget

from photomgr.core.library import descriptions
from photomgr.core.library.descriptions import Description
from photomgr.core.library.settings import Settings
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.describing import descriptions_enabled
from photomgr.core.ops.library_ops import LibraryOps
from photomgr.gui.gallery.model import GalleryModel
from photomgr.gui.worker.host import WorkerHost
from photomgr.gui.worker.query_runner import CoalescedQuery, QueryRunner

PLACEHOLDER = "Add a description…"
MODEL_TIP = "Written by the model ({model}); type to write your own (Enter saves, Esc cancels)"
USER_TIP = "Written by you; clear it to see the model's again (Enter saves, Esc cancels)"


class DescriptionEdit(QLineEdit):
    """The photo's description, edited in place: Enter (or leaving the field) saves, Esc puts
    back what it showed. A model's sentence is shown in italics, the user's upright."""

    commit = Signal(int, str)  # photo id, the new text ('' removes the user's description)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo_id: int | None = None
        self.shown: Description | None = None
        self.setPlaceholderText(PLACEHOLDER)
        self.setFrame(False)
        self.setAccessibleName("Description")
        self.setEnabled(False)
        self.returnPressed.connect(self._commit)

    def show_loading(self, photo_id: int | None) -> None:
        """Another photo was selected: nothing to show (or edit) until its description arrives."""
        self.photo_id, self.shown = photo_id, None
        self.setText("")
        self.setEnabled(False)

    def show_description(self, photo_id: int, description: Description | None) -> None:
        if photo_id != self.photo_id or (self.hasFocus() and self.isModified()):
            return  # another photo by now, or the user is typing: never overwrite their text
        self.shown = description
        self.setText(description.text if description is not None else "")
        self.setCursorPosition(0)  # a sentence wider than the panel shows its start, not its end
        self.setModified(False)
        self.setEnabled(True)
        font = self.font()
        font.setItalic(description is not None and description.source == descriptions.MODEL)
        self.setFont(font)
        if description is None:
            self.setToolTip("Type what the photo shows (Enter saves)")
        elif description.source == descriptions.MODEL:
            self.setToolTip(MODEL_TIP.format(model=description.model_id))
        else:
            self.setToolTip(USER_TIP)

    def event(self, event: QEvent) -> bool:
        # Esc while editing is ours: the window's Esc (cancel a scan, leave the viewer) must
        # not fire instead.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape and self.hasFocus():
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._commit()
        super().focusOutEvent(event)

    def cancel(self) -> None:
        self.setText(self.shown.text if self.shown is not None else "")
        self.setCursorPosition(0)
        self.setModified(False)
        self.clearFocus()

    @Slot()
    def _commit(self) -> None:
        if self.photo_id is None or not self.isModified():
            return
        self.setModified(False)
        text = self.text().strip()
        if not text and (self.shown is None or self.shown.source == descriptions.MODEL):
            self.cancel()  # the model's sentence is not the user's to delete: it shows again
        elif text != (self.shown.text if self.shown is not None else ""):
            self.commit.emit(self.photo_id, text)


@dataclass
class _Memo:
    """The user's description the redo replaced (filled and read in the worker thread only)."""

    done: bool = False
    before: str | None = None


def _set(ops: LibraryOps, photo_id: int, text: str | None, memo: _Memo) -> OpResult[str | None]:
    result = ops.descriptions.set_user(photo_id, text)
    memo.done, memo.before = True, result.value
    return result


class SetDescription(QUndoCommand):
    """Write (or, with '', remove) the user's description of one photo; undo restores the old."""

    def __init__(self, host: WorkerHost, photo_id: int, text: str) -> None:
        super().__init__("Remove the description" if not text else "Edit the description")
        self.host, self.photo_id, self.new_text = host, photo_id, text
        self.memo = _Memo()

    def redo(self) -> None:
        pid, text, memo = self.photo_id, self.new_text or None, self.memo
        self.host.run_op(lambda ops: _set(ops, pid, text, memo))

    def undo(self) -> None:
        pid, memo = self.photo_id, self.memo

        def undo(ops: LibraryOps) -> OpResult[str | None] | None:
            return ops.descriptions.set_user(pid, memo.before) if memo.done else None

        self.host.run_op(undo)


class DescriptionViews(QObject):
    """Keeps the details panel's description, the tiles' tooltips and the menu setting current."""

    def __init__(self, host: WorkerHost, reader: QueryRunner, edit: DescriptionEdit,
                 model: GalleryModel, stack: QUndoStack, toggle: QAction,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host, self.reader, self.edit, self.toggle = host, reader, edit, toggle
        self.stack = stack
        self.tooltips = CoalescedQuery(reader, lambda: descriptions.all_shown, model.set_descriptions,
                                       min_interval_ms=2000, parent=self)
        edit.commit.connect(self.set_description)
        host.changed.connect(self._on_changed)
        host.ready.connect(self._on_ready)
        host.photos_changed.connect(lambda _ids: self.tooltips.trigger())
        host.scan_finished.connect(lambda _report: self.tooltips.trigger(immediate=True))
        toggle.setCheckable(True)
        toggle.toggled.connect(self._on_toggled)

    def request(self, photo_id: int) -> None:
        """The details panel shows `photo_id`: fetch its description."""
        self.edit.show_loading(photo_id)
        self.reader.submit(lambda conn: (photo_id, descriptions.shown_one(conn, photo_id)),
                           self._on_description)

    def _on_description(self, answer: tuple[int, Description | None]) -> None:
        self.edit.show_description(*answer)

    @Slot(int, str)
    def set_description(self, photo_id: int, text: str) -> None:
        self.stack.push(SetDescription(self.host, photo_id, text))

    @Slot(object)
    def _on_changed(self, changes: OpChanges) -> None:
        if changes.descriptions:
            if self.edit.photo_id in changes.descriptions:
                photo_id = self.edit.photo_id
                self.reader.submit(lambda conn: (photo_id, descriptions.shown_one(conn, photo_id)),
                                   self._on_description)
            self.tooltips.trigger(immediate=True)

    @Slot(object)
    def _on_ready(self, _paths: object) -> None:
        self.tooltips.trigger(immediate=True)
        self.reader.submit(_enabled, self._show_enabled)

    def _show_enabled(self, on: bool) -> None:
        self.toggle.blockSignals(True)
        self.toggle.setChecked(on)
        self.toggle.blockSignals(False)

    @Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        self.host.set_descriptions(on)


def _enabled(conn: sqlite3.Connection) -> bool:
    return descriptions_enabled(Settings(conn))
