"""What the gallery shows, and keeping it current: a folder, a label's photos, search results or
duplicate groups.

A folder is read by the QueryRunner. Labels, searches and duplicates need scores or the
model, so the worker picks the ids (a `PhotoSet`) and the runner then reads their rows; the
GUI thread does neither. Answers to questions no longer asked (another label clicked since)
are dropped by comparing their kind and key with what is shown now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Signal, Slot

from photomgr.core.library import gallery as queries
from photomgr.core.ops.searching import DUPLICATE_THRESHOLD
from photomgr.gui.gallery_view import GalleryView
from photomgr.gui.query_runner import CoalescedQuery, Query, QueryRunner
from photomgr.gui.results import PhotoSet
from photomgr.gui.worker_host import WorkerHost


@dataclass
class Showing:
    """What the gallery shows: a folder (None: all photos), or a set of ids from the worker."""

    kind: str = "folder"  # "folder" | "label" | "search" | "duplicates"
    folder: str | None = None
    key: object = None  # the label id, the query text, the duplicate threshold
    ids: npt.NDArray[np.int64] | None = None  # None until the worker has answered
    captions: dict[int, str] = field(default_factory=dict)


class GalleryFeed(QObject):
    rows_shown = Signal(bool)  # after each update of the grid: is the library empty?
    message = Signal(str)  # a line for the status bar ("red: 3 photos")
    changed = Signal()  # the gallery now shows something else: selection and details are cleared

    def __init__(self, host: WorkerHost, reader: QueryRunner, gallery: GalleryView,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.gallery = gallery
        self.showing = Showing()
        self._before_search = Showing()
        self.select_when_shown: int | None = None
        self.ready = False
        self.query = CoalescedQuery(reader, self._make_query, self._on_rows, parent=self)
        host.photo_set.connect(self._on_photo_set)

    def start(self) -> None:
        self.ready = True
        self.query.trigger(immediate=True)

    # -- choosing what to show -----------------------------------------------------------------
    def _show(self, showing: Showing) -> None:
        self.showing = showing
        self.changed.emit()
        if showing.kind != "folder":
            self.gallery.apply_rows(queries.GalleryRows(), keep_place=False)  # until the worker answers
            return
        self.message.emit("")  # the last set's description no longer applies
        if self.ready:
            self.query.invalidate()

    def set_folder(self, folder: str | None) -> bool:
        """Show the photos in `folder` (and below), or all photos for None; False if already shown."""
        if self.showing.kind == "folder" and folder == self.showing.folder:
            return False
        self._show(Showing("folder", folder))
        return True

    def show_label(self, label_id: int) -> None:
        """The photos carrying a label, best score first."""
        self._show(Showing("label", key=label_id))
        self.host.label_photos(label_id)

    def show_duplicates(self, threshold: float = DUPLICATE_THRESHOLD) -> None:
        self._show(Showing("duplicates", key=threshold))
        self.host.duplicates(threshold)

    def search(self, text: str) -> None:
        if self.showing.kind != "search":
            self._before_search = self.showing
        self._show(Showing("search", key=text))
        self.host.search(text)

    def end_search(self) -> None:
        """The search was cleared: back to what was shown before it."""
        if self.showing.kind == "search":
            before = self._before_search
            self._show(Showing(before.kind, before.folder, before.key))
            self.refetch()

    def refetch(self) -> None:
        """Ask again for the ids shown (labels, decisions or vectors changed)."""
        kind, key = self.showing.kind, self.showing.key
        if kind == "label" and isinstance(key, int):
            self.host.label_photos(key)
        elif kind == "search" and isinstance(key, str):
            self.host.search(key)
        elif kind == "duplicates" and isinstance(key, float):
            self.host.duplicates(key)
        elif self.ready:
            self.query.invalidate()

    def photos_changed(self) -> None:
        """A scan recorded photos: a folder view re-reads (sets of ids refresh when it ends)."""
        if self.showing.kind == "folder":
            self.query.trigger()

    # -- answers --------------------------------------------------------------------------------
    @Slot(object)
    def _on_photo_set(self, photos: PhotoSet) -> None:
        if photos.kind != self.showing.kind or photos.key != self.showing.key:
            return  # the answer to an earlier question
        self.showing.ids = photos.ids
        self.showing.captions = photos.captions
        if photos.title:
            self.message.emit(photos.title)
        self.query.invalidate()

    def _make_query(self) -> Query[tuple[queries.GalleryRows | None, bool]]:
        showing = self.showing
        if showing.kind == "folder":
            folder = showing.folder
            return lambda conn: (queries.gallery_rows(conn, folder), queries.library_is_empty(conn))
        if showing.ids is None:  # the worker has not answered yet: leave the grid as it is
            return lambda conn: (None, queries.library_is_empty(conn))
        wanted = showing.ids.tolist()
        return lambda conn: (queries.rows_for_ids(conn, wanted), queries.library_is_empty(conn))

    def _on_rows(self, result: tuple[queries.GalleryRows | None, bool]) -> None:
        rows, empty = result
        if rows is not None:
            self.gallery.apply_rows(rows, self.showing.captions, keep_place=self.showing.kind == "folder")
        self.rows_shown.emit(empty)
        if self.select_when_shown is not None and self.gallery.select_photo(self.select_when_shown):
            self.select_when_shown = None
