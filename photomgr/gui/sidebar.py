"""The sidebar: Folders (the library's roots, with photo counts) and Labels (filled in a later phase)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from photomgr.gui.queries import FolderCount

FolderRole = Qt.ItemDataRole.UserRole + 1  # str path; "" means all photos
ALL_PHOTOS = ""


class Sidebar(QTreeWidget):
    folder_selected = Signal(object)  # str folder, or None for all photos

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(12)
        self.setMinimumWidth(180)
        self.folders = self._section("Folders")
        self.labels = self._section("Labels")
        placeholder = QTreeWidgetItem(self.labels, ["No labels yet"])
        placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
        placeholder.setToolTip(0, "Labels arrive once photos are embedded")
        self.all_photos = QTreeWidgetItem(self.folders, ["All photos"])
        self.all_photos.setData(0, FolderRole, ALL_PHOTOS)
        self.expandAll()
        self.setCurrentItem(self.all_photos)
        self.currentItemChanged.connect(self._on_current)

    def _section(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self, [title.upper()])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: not selectable
        font = QFont(item.font(0))
        font.setBold(True)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        item.setFont(0, font)
        return item

    def set_folders(self, folders: list[FolderCount], total: int) -> None:
        """Replace the folder list, keeping the current choice when it still exists."""
        current = self.current_folder()
        self.blockSignals(True)
        try:
            self.all_photos.setText(0, f"All photos ({total:,})")
            for i in reversed(range(self.folders.childCount())):
                child = self.folders.child(i)
                if child is not None and child is not self.all_photos:
                    self.folders.removeChild(child)
            keep = self.all_photos
            for folder in folders:
                name = os.path.basename(folder.path.rstrip("/")) or folder.path
                item = QTreeWidgetItem(self.folders, [f"{name} ({folder.photos:,})"])
                item.setData(0, FolderRole, folder.path)
                item.setToolTip(0, folder.path)
                if folder.path == current:
                    keep = item
            self.setCurrentItem(keep)
        finally:
            self.blockSignals(False)
        if (current or ALL_PHOTOS) != (self.current_folder() or ALL_PHOTOS):
            self.folder_selected.emit(self.current_folder())  # the folder we showed is gone

    def current_folder(self) -> str | None:
        item = self.currentItem()
        value = item.data(0, FolderRole) if item is not None else None
        return value or None

    def select_folder(self, folder: str | None) -> None:
        for i in range(self.folders.childCount()):
            child = self.folders.child(i)
            if child is not None and (child.data(0, FolderRole) or None) == folder:
                self.setCurrentItem(child)
                return

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if current is not None and current.data(0, FolderRole) is not None:
            self.folder_selected.emit(current.data(0, FolderRole) or None)
