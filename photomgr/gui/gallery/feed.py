"""What the gallery shows, and keeping it current: a folder, a label's photos, search results or
duplicate groups.

Filters combine: the folder chosen last scopes a label's photos and a search, and a search
made while a label is shown keeps to that label's photos. Every view but a search and the
duplicates can be sorted (date taken, date added, name, folder, or a label's score).

A folder is read by the QueryRunner. Labels, searches and duplicates need scores or the
model, so the worker picks the ids (a `PhotoSet`) and the runner then reads their rows; the
GUI thread does neither. Answers to questions no longer asked (another label clicked since)
are dropped by comparing their kind and key with what is shown now.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Signal, Slot

from photomgr.core.library import browsing, hidden
from photomgr.core.library import gallery as queries
from photomgr.core.ops.searching import DUPLICATE_THRESHOLD
from photomgr.gui.gallery.view import GalleryView
from photomgr.gui.worker.host import WorkerHost
from photomgr.gui.worker.query_runner import CoalescedQuery, Query, QueryRunner
from photomgr.gui.worker.results import PhotoSet


@dataclass
class Showing:
    """What the gallery shows: a folder (None: all photos), or a set of ids from the worker."""

    kind: str = "folder"  # "folder" | "label" | "search" | "duplicates"
    folder: str | None = None  # the folder shown, or the folder a label or search is kept to
    key: object = None  # the label id, the query text, the duplicate threshold
    ids: npt.NDArray[np.int64] | None = None  # None until the worker has answered
    captions: dict[int, str] = field(default_factory=dict)
    within: frozenset[int] | None = None  # a search inside a label's photos: only these
    label_name: str = ""  # for the filter line


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
        self.sort = browsing.DEFAULT_SORT
        self.descending = False
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

    def show_label(self, label_id: int, name: str = "") -> None:
        """The photos carrying a label (in the folder chosen before it, if any), best score first."""
        self._show(Showing("label", self.showing.folder, key=label_id, label_name=name))
        self.host.label_photos(label_id)

    def clear_folder_scope(self) -> None:
        """A label or search kept to a folder: show it for the whole library instead."""
        if self.showing.kind != "folder" and self.showing.folder is not None:
            self.showing.folder = None
            self.query.invalidate()

    def set_sort(self, sort: str, descending: bool) -> None:
        if (sort, descending) != (self.sort, self.descending):
            self.sort, self.descending = sort, descending
            if self.ready:
                self.query.invalidate()

    def describe(self) -> str:
        """The filters in force, in words: "label “red” · in holidays · matching “dog”"."""
        s = self.showing
        parts: list[str] = []
        if s.kind == "label":
            parts.append(f"label “{s.label_name}”" if s.label_name else "a label")
        elif s.kind == "search" and s.within is not None:
            before = self._before_search
            parts.append(f"label “{before.label_name}”" if before.label_name else "a label")
        if s.folder is not None:
            parts.append(f"in {s.folder}")
        if s.kind == "search":
            parts.append(f"matching “{s.key}”")
        elif s.kind == "duplicates":
            parts.append("duplicates")
        return " · ".join(parts)

    def show_duplicates(self, threshold: float = DUPLICATE_THRESHOLD) -> None:
        self._show(Showing("duplicates", key=threshold))
        self.host.duplicates(threshold)

    def search(self, text: str) -> None:
        if self.showing.kind != "search":
            self._before_search = self.showing
        before = self._before_search
        within = None
        if before.kind == "label" and before.ids is not None:  # a search inside a label's photos
            within = frozenset(int(i) for i in before.ids.tolist())
        self._show(Showing("search", before.folder, key=text, within=within))
        self.host.search(text)

    def end_search(self) -> None:
        """The search was cleared: back to what was shown before it."""
        if self.showing.kind == "search":
            before = self._before_search
            self._show(Showing(before.kind, before.folder, before.key, label_name=before.label_name))
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

    def _make_query(self) -> Query[tuple[queries.GalleryRows | None, bool] | tuple[
            queries.GalleryRows | None, bool, dict[int, str]]]:
        showing = self.showing
        sort, descending = self.sort, self.descending
        sortable = showing.kind in ("folder", "label") and sort != browsing.DEFAULT_SORT \
            and not (sort == "score" and showing.kind != "label")
        if showing.kind == "folder":
            folder = showing.folder
            if sortable and (sort, descending) != ("date_taken", False):  # else: already in that order
                return lambda conn: (browsing.sort_rows(conn, queries.gallery_rows(conn, folder), sort,
                                                        descending), queries.library_is_empty(conn))
            return lambda conn: (queries.gallery_rows(conn, folder), queries.library_is_empty(conn))
        if showing.ids is None:  # the worker has not answered yet: leave the grid as it is
            return lambda conn: (None, queries.library_is_empty(conn))
        wanted = showing.ids.tolist()
        if showing.kind == "duplicates":  # tell the copies apart: size, date, pixels
            from photomgr.gui.gallery.duplicates import group_captions

            groups = dict(showing.captions)
            return lambda conn: (queries.rows_for_ids(conn, wanted), queries.library_is_empty(conn),
                                 group_captions(groups, hidden.photo_facts(conn, wanted)))
        if showing.within is not None:
            wanted = [i for i in wanted if i in showing.within]
        scope = showing.folder

        def rows(conn: sqlite3.Connection) -> tuple[queries.GalleryRows | None, bool]:
            found = browsing.under_folder(queries.rows_for_ids(conn, wanted), scope)
            if sortable:  # a label's photos come best first: "score" descending is that order
                found = browsing.sort_rows(conn, found, sort, descending)
            return found, queries.library_is_empty(conn)

        return rows

    def _on_rows(self, result: tuple[queries.GalleryRows | None, bool] | tuple[
            queries.GalleryRows | None, bool, dict[int, str]]) -> None:
        rows, empty = result[0], result[1]
        if len(result) == 3:
            self.showing.captions = result[2]  # type: ignore[misc]
        if rows is not None:
            self.gallery.apply_rows(rows, self.showing.captions, keep_place=self.showing.kind == "folder")
        self.rows_shown.emit(empty)
        if self.select_when_shown is not None and self.gallery.select_photo(self.select_when_shown):
            self.select_when_shown = None
