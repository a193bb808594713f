"""The sidebar: Folders (a tree of the library's roots and the folders below them), Labels
(with photo counts) and Duplicates. Choosing an entry changes what the gallery shows; the
counts come from the worker.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt, Signal, Slot
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from photomgr.core.fspaths import display_path
from photomgr.core.library.gallery import FolderCount
from photomgr.gui.text import plural
from photomgr.gui.worker.results import LabelSummary

FolderRole = Qt.ItemDataRole.UserRole + 1  # str path; "" means all photos
LabelRole = Qt.ItemDataRole.UserRole + 2  # int label id
ViewRole = Qt.ItemDataRole.UserRole + 3  # str: "duplicates"
ALL_PHOTOS = ""
NO_LABELS = "No labels yet"
LOADING_LABELS = "Loading labels…"


class Sidebar(QTreeWidget):
    folder_selected = Signal(object)  # str folder, or None for all photos
    label_selected = Signal(int)  # label id
    duplicates_selected = Signal()
    delete_label_requested = Signal(int)  # Del on a label (the window asks for an undoable delete)
    edit_label_requested = Signal(int)  # double-click / "Edit…"
    add_label_requested = Signal()
    remove_folder_requested = Signal(str)  # "Remove from Library…" on a folder
    review_label_requested = Signal(int)  # "Review…": teach the label, least certain photos first

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(12)
        self.setMinimumWidth(180)
        self.folders = self._section("Folders")
        self.labels = self._section("Labels")
        self.views = self._section("Find")
        self.all_photos = QTreeWidgetItem(self.folders, ["All photos"])
        self.all_photos.setData(0, FolderRole, ALL_PHOTOS)
        self.duplicates = QTreeWidgetItem(self.views, ["Duplicates"])
        self.duplicates.setData(0, ViewRole, "duplicates")
        self.duplicates.setToolTip(0, "Identical and near-identical photos, group by group")
        self.summaries: list[LabelSummary] = []
        self.labels_counted = False  # False until the worker's counts arrive (after the model loads)
        self._placeholder(LOADING_LABELS, "The labels are read as the library opens")
        self.expandAll()
        self.setCurrentItem(self.all_photos)
        self.currentItemChanged.connect(self._on_current)
        self.itemDoubleClicked.connect(self._on_double_click)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)

    def _section(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self, [title.upper()])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: not selectable
        font = QFont(item.font(0))
        font.setBold(True)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        item.setFont(0, font)
        return item

    # -- folders -----------------------------------------------------------------------------
    def set_folders(self, folders: list[FolderCount], total: int) -> None:
        """Replace the folder tree (roots, and the folders below them that hold photos),
        keeping the current choice and which folders are open when they still exist."""
        current = self.currentItem()
        was_folder = current is not None and current.data(0, FolderRole) is not None
        folder = self.current_folder()
        expanded = {p for p, item in self._folder_items().items() if item.isExpanded()}
        self.blockSignals(True)
        try:
            self.all_photos.setText(0, f"All photos ({total:,})")
            for i in reversed(range(self.folders.childCount())):
                child = self.folders.child(i)
                if child is not None and child is not self.all_photos:
                    self.folders.removeChild(child)
            keep = self.all_photos
            made: dict[str, QTreeWidgetItem] = {}
            for f in sorted(folders, key=lambda f: f.path):
                parent = self._parent_item(f.path, made)
                name = display_path(os.path.basename(f.path.rstrip("/")) or f.path)
                item = QTreeWidgetItem(parent, [f"{name} ({f.photos:,})"])
                item.setData(0, FolderRole, f.path)
                item.setToolTip(0, display_path(f.path))
                made[f.path] = item
                if f.path == folder:
                    keep = item
            for path in expanded:
                if path in made:
                    made[path].setExpanded(True)
            if was_folder:
                self.setCurrentItem(keep)
        finally:
            self.blockSignals(False)
        if was_folder and (folder or ALL_PHOTOS) != (self.current_folder() or ALL_PHOTOS):
            self.folder_selected.emit(self.current_folder())  # the folder we showed is gone

    def _parent_item(self, path: str, made: dict[str, QTreeWidgetItem]) -> QTreeWidgetItem:
        """The item of the nearest folder above `path` already in the tree (else the section)."""
        parent = os.path.dirname(path.rstrip("/"))
        while parent and parent not in made:
            up = os.path.dirname(parent)
            if up == parent:
                break
            parent = up
        return made.get(parent, self.folders)

    def _folder_items(self) -> dict[str, QTreeWidgetItem]:
        out: dict[str, QTreeWidgetItem] = {}
        stack = [self.folders.child(i) for i in range(self.folders.childCount())]
        while stack:
            item = stack.pop()
            if item is None:
                continue
            path = item.data(0, FolderRole)
            if path:
                out[str(path)] = item
            stack.extend(item.child(i) for i in range(item.childCount()))
        return out

    def current_folder(self) -> str | None:
        item = self.currentItem()
        value = item.data(0, FolderRole) if item is not None else None
        return value or None

    def select_folder(self, folder: str | None) -> None:
        if folder is None:
            self.setCurrentItem(self.all_photos)
            return
        item = self._folder_items().get(folder)
        if item is not None:
            self.setCurrentItem(item)

    def mark_duplicates(self) -> None:
        """Show Duplicates as the current entry (chosen from a menu) without signalling it again."""
        self.blockSignals(True)
        self.setCurrentItem(self.duplicates)
        self.blockSignals(False)

    # -- labels ------------------------------------------------------------------------------
    def _placeholder(self, text: str, tip: str) -> None:
        self.labels.takeChildren()
        placeholder = QTreeWidgetItem(self.labels, [text])
        placeholder.setFlags(Qt.ItemFlag.ItemIsEnabled)
        placeholder.setToolTip(0, tip)

    def set_label_names(self, names: list[tuple[int, str]]) -> None:
        """The labels' names, read from the library at once: shown until their counts arrive
        (the counts need the model, which takes a few seconds to load)."""
        if self.labels_counted:
            return
        if not names:
            self._placeholder(NO_LABELS, "Add a label (Labels ▸ Add Label…): every photo is scored at once")
            return
        self.labels.takeChildren()
        for label_id, name in names:
            item = QTreeWidgetItem(self.labels, [f"{name} (…)"])
            item.setData(0, LabelRole, label_id)
            item.setToolTip(0, f"{name}: counting once the model has loaded")

    def set_labels(self, labels: list[LabelSummary]) -> None:
        """Replace the label list (names and counts), keeping the current label selected."""
        self.summaries = list(labels)
        self.labels_counted = True
        current = self.current_label()
        self.blockSignals(True)
        try:
            self.labels.takeChildren()
            keep = None
            for label in labels:
                item = QTreeWidgetItem(self.labels, [f"{label.name} ({label.photos:,})"])
                item.setData(0, LabelRole, label.id)
                item.setToolTip(0, f"{label.name}: {plural(label.photos, 'photo')} · "
                                   f"threshold {label.threshold:.2f}"
                                   "\nDouble-click to edit · Del to delete")
                if label.id == current:
                    keep = item
            if not labels:
                placeholder = QTreeWidgetItem(self.labels, [NO_LABELS])
                placeholder.setFlags(Qt.ItemFlag.ItemIsEnabled)
                placeholder.setToolTip(0, "Add a label (Labels ▸ Add Label…): every photo is scored at once")
            if keep is not None:
                self.setCurrentItem(keep)
        finally:
            self.blockSignals(False)
        if current is not None and keep is None:  # the label we showed was deleted
            self.setCurrentItem(self.all_photos)

    def current_label(self) -> int | None:
        item = self.currentItem()
        value = item.data(0, LabelRole) if item is not None else None
        return int(value) if value is not None else None

    def label_item(self, label_id: int) -> QTreeWidgetItem | None:
        for i in range(self.labels.childCount()):
            child = self.labels.child(i)
            if child is not None and child.data(0, LabelRole) == label_id:
                return child
        return None

    def select_label(self, label_id: int) -> None:
        item = self.label_item(label_id)
        if item is not None:
            self.setCurrentItem(item)

    def summary(self, label_id: int) -> LabelSummary | None:
        return next((s for s in self.summaries if s.id == label_id), None)

    # -- events --------------------------------------------------------------------------------
    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if current is None:
            return
        if current.data(0, FolderRole) is not None:
            self.folder_selected.emit(current.data(0, FolderRole) or None)
        elif current.data(0, LabelRole) is not None:
            self.label_selected.emit(int(current.data(0, LabelRole)))
        elif current.data(0, ViewRole) == "duplicates":
            self.duplicates_selected.emit()

    @Slot(QTreeWidgetItem, int)
    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, LabelRole) is not None:
            self.edit_label_requested.emit(int(item.data(0, LabelRole)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        label = self.current_label()
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and label is not None:
            self.delete_label_requested.emit(label)
            event.accept()
            return
        super().keyPressEvent(event)

    @Slot(QPoint)
    def _show_menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        menu = QMenu(self)
        folder = item.data(0, FolderRole) if item is not None else None
        if folder:
            menu.addAction("Remove from Library…", lambda: self.remove_folder_requested.emit(folder))
            menu.exec(self.viewport().mapToGlobal(pos))
            return
        if item is not None and item.data(0, LabelRole) is not None:
            label_id = int(item.data(0, LabelRole))
            menu.addAction("Review…", lambda: self.review_label_requested.emit(label_id))
            menu.addAction("Edit…", lambda: self.edit_label_requested.emit(label_id))
            menu.addAction("Delete", lambda: self.delete_label_requested.emit(label_id))
            menu.addSeparator()
        menu.addAction("Add Label…", self.add_label_requested.emit)
        menu.exec(self.viewport().mapToGlobal(pos))
