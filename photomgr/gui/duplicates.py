"""Duplicates in the gallery: each group's photos told apart (size, date, pixels), and "keep one,
hide the rest" as one undoable step.

Hiding is a library state (core.ops.hiding), never a change to the files.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from photomgr.core.library.hidden import PhotoFacts
from photomgr.core.ops.hiding import hide_photos, unhide_photos
from photomgr.gui.details_panel import format_size
from photomgr.gui.text import plural
from photomgr.gui.worker_host import WorkerHost


def describe_copy(group: str, facts: PhotoFacts | None) -> str:
    """"#3 · 2.4 MB · 2019-06-01 · 4000×3000": the group, then what differs between copies."""
    if facts is None:
        return group
    parts = [group, format_size(facts.size)]
    if facts.date_taken:
        parts.append(facts.date_taken[:10])
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
