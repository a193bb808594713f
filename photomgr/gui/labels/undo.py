"""Undo and redo for label edits and tag decisions (QUndoStack; Ctrl+Z / Ctrl+Shift+Z).

Each command sends its redo and undo to the worker as quick jobs. What a redo replaced (a
deleted label with its decisions, the decisions a bulk tag overwrote) is only known in the
worker, so it goes into the command's `Memo`: the worker fills it in redo and reads it in
undo, in that order, because the worker runs its quick jobs one at a time in queue order.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from photomgr.core.ops.tagging import Memo
from photomgr.gui.worker.host import WorkerHost
from photomgr.gui.worker.results import CONFIRMED, REJECTED, LabelSummary


class _Command(QUndoCommand):
    def __init__(self, host: WorkerHost, text: str) -> None:
        super().__init__(text)
        self.host = host
        self.memo = Memo()


class AddLabel(_Command):
    def __init__(self, host: WorkerHost, name: str, prompts: list[str] | None,
                 threshold: float | None) -> None:
        super().__init__(host, f"Add label “{name}”")
        self.args = (name, prompts, threshold)

    def redo(self) -> None:
        self.host.add_label(*self.args, memo=self.memo)

    def undo(self) -> None:
        self.host.undo_add_label(self.memo)


class RemoveLabel(_Command):
    def __init__(self, host: WorkerHost, label_id: int, name: str) -> None:
        super().__init__(host, f"Delete label “{name}”")
        self.label_id = label_id

    def redo(self) -> None:
        self.host.remove_label(self.label_id, self.memo)

    def undo(self) -> None:
        self.host.undo_remove_label(self.memo)  # the same id, its decisions too


class RenameLabel(_Command):
    def __init__(self, host: WorkerHost, label_id: int, old: str, new: str) -> None:
        super().__init__(host, f"Rename label “{old}” to “{new}”")
        self.label_id, self.old, self.new = label_id, old, new

    def redo(self) -> None:
        self.host.rename_label(self.label_id, self.new)

    def undo(self) -> None:
        self.host.rename_label(self.label_id, self.old)


class SetThreshold(_Command):
    """None is the model's calibrated default."""

    def __init__(self, host: WorkerHost, label_id: int, name: str, old: float | None,
                 new: float | None) -> None:
        shown = "the default" if new is None else f"{new:.3f}"
        super().__init__(host, f"Set the threshold of “{name}” to {shown}")
        self.label_id, self.old, self.new = label_id, old, new

    def _set(self, value: float | None) -> None:
        self.host.edit_label(self.label_id, threshold=value, clear_threshold=value is None)

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


class SetPrompts(_Command):
    """An empty list means the label's name is its only text."""

    def __init__(self, host: WorkerHost, label_id: int, name: str, old: list[str], new: list[str]) -> None:
        super().__init__(host, f"Edit the prompts of “{name}”")
        self.label_id, self.old, self.new = label_id, old, new

    def redo(self) -> None:
        self.host.edit_label(self.label_id, prompts=self.new)

    def undo(self) -> None:
        self.host.edit_label(self.label_id, prompts=self.old)


class Decide(_Command):
    """Confirm, reject or forget (None) one label on one or more photos."""

    def __init__(self, host: WorkerHost, photo_ids: list[int], label_id: int, name: str,
                 state: str | None) -> None:
        verb = {CONFIRMED: "Tag", REJECTED: "Reject", None: "Clear"}.get(state, "Tag")
        what = "1 photo" if len(photo_ids) == 1 else f"{len(photo_ids):,} photos"
        super().__init__(host, f"{verb} “{name}” on {what}")
        self.photo_ids, self.label_id, self.state = list(photo_ids), label_id, state

    def redo(self) -> None:
        self.host.decide(self.photo_ids, self.label_id, self.state, self.memo)

    def undo(self) -> None:
        self.host.undo_decide(self.label_id, self.memo)


class LabelActions:
    """The one place the window's widgets go through to change labels and tags (all undoable)."""

    def __init__(self, host: WorkerHost, stack: QUndoStack) -> None:
        self.host = host
        self.stack = stack

    def add_label(self, name: str, prompts: list[str] | None = None, threshold: float | None = None) -> None:
        self.stack.push(AddLabel(self.host, name.strip(), prompts, threshold))

    def delete_label(self, label_id: int, name: str) -> None:
        self.stack.push(RemoveLabel(self.host, label_id, name))

    def rename_label(self, label_id: int, old: str, new: str) -> None:
        if new.strip() and new.strip() != old:
            self.stack.push(RenameLabel(self.host, label_id, old, new.strip()))

    def set_threshold(self, label_id: int, name: str, old: float | None, new: float | None) -> None:
        if old != new:
            self.stack.push(SetThreshold(self.host, label_id, name, old, new))

    def set_prompts(self, label_id: int, name: str, old: list[str], new: list[str]) -> None:
        if old != new:
            self.stack.push(SetPrompts(self.host, label_id, name, old, new))

    def decide(self, photo_ids: list[int], label_id: int, name: str, state: str | None) -> None:
        if photo_ids:
            self.stack.push(Decide(self.host, photo_ids, label_id, name, state))

    def edit_label(self, label: LabelSummary, name: str, prompts: list[str], threshold: float | None) -> None:
        """Apply the label editor's fields: one undo step however many of them changed."""
        old_threshold = label.threshold if label.custom_threshold else None
        steps: list[QUndoCommand] = []
        if name.strip() and name.strip() != label.name:
            steps.append(RenameLabel(self.host, label.id, label.name, name.strip()))
        shown = name.strip() or label.name
        if prompts != list(label.prompts):
            steps.append(SetPrompts(self.host, label.id, shown, list(label.prompts), prompts))
        if threshold != old_threshold:
            steps.append(SetThreshold(self.host, label.id, shown, old_threshold, threshold))
        if len(steps) > 1:
            self.stack.beginMacro(f"Edit label “{label.name}”")
        for step in steps:
            self.stack.push(step)
        if len(steps) > 1:
            self.stack.endMacro()
