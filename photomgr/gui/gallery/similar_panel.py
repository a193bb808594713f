"""The Find-similar panel (a dock): the k nearest photos with their scores and thumbnails.

Double-clicking a result selects it in the gallery. Thumbnails come from the gallery's
ThumbnailLoader (same cache, loaded off the GUI thread).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from photomgr.core.fspaths import display_path
from photomgr.gui.gallery.thumbnail_loader import ThumbnailLoader
from photomgr.gui.text import plural
from photomgr.gui.worker.results import Hit

ICON = QSize(112, 112)
IdRole = Qt.ItemDataRole.UserRole + 1
HashRole = Qt.ItemDataRole.UserRole + 2


def short_name(path: str) -> str:
    """"folder\nname.jpg": the file's name under its folder's (two caption lines)."""
    parent = display_path(os.path.basename(os.path.dirname(path)))
    name = display_path(os.path.basename(path))
    return f"{parent}\n{name}" if parent else name


class SimilarPanel(QWidget):
    photo_activated = Signal(int)  # double-click: select this photo in the gallery

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self.source_id: int | None = None
        self.source_name = ""
        self.hits: list[Hit] = []
        self._blank: QIcon | None = None
        self.title = QLabel("Right-click a photo ▸ Find similar")
        self.title.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setIconSize(ICON)
        self.list.setGridSize(QSize(ICON.width() + 56, ICON.height() + 60))
        self.list.setWordWrap(True)
        # Cut at the end, never in the middle: "Faces_easy" and "Faces" must not both read "Fac…".
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        self.list.itemDoubleClicked.connect(self._on_double_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        loader.loaded.connect(self._on_loaded)

    def show_pending(self, photo_id: int, name: str) -> None:
        self.source_id = photo_id
        self.source_name = name
        self.hits = []
        self.list.clear()
        self.title.setText(f"Finding photos similar to {name}…")

    @Slot(int, list)
    def show_hits(self, photo_id: int, hits: list[Hit]) -> None:
        if photo_id != self.source_id:
            return  # an older request's answer
        self.hits = list(hits)
        self.list.clear()
        for hit in hits:
            # The parent folder too: photos are often named alike (IMG_0001.jpg in every folder).
            item = QListWidgetItem(f"{hit.score:.3f}\n{short_name(hit.path)}")
            item.setData(IdRole, hit.photo_id)
            item.setData(HashRole, hit.content_hash)
            item.setToolTip(f"{hit.path}\nsimilarity {hit.score:.3f}")
            pixmap = self._loader.pixmap(hit.content_hash) if hit.content_hash else None
            # A placeholder until the thumbnail loads: the view sizes every item like the first.
            item.setIcon(QIcon(pixmap) if pixmap is not None else self._placeholder())
            self.list.addItem(item)
        what = self.source_name or f"photo {photo_id}"
        self.title.setText(f"{plural(len(hits), 'photo')} most similar to {what}" if hits
                           else f"No similar photos found for {what}")

    def _placeholder(self) -> QIcon:
        if self._blank is None:
            blank = QPixmap(ICON)
            blank.fill(QColor(128, 128, 128, 40))
            self._blank = QIcon(blank)
        return self._blank

    def ids(self) -> list[int]:
        return [h.photo_id for h in self.hits]

    @Slot(str)
    def _on_loaded(self, key: str) -> None:
        pixmap: QPixmap | None = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item is not None and item.data(HashRole) == key:
                pixmap = pixmap or self._loader.cached(key)
                if pixmap is not None:
                    item.setIcon(QIcon(pixmap))

    @Slot(QListWidgetItem)
    def _on_double_click(self, item: QListWidgetItem) -> None:
        self.photo_activated.emit(int(item.data(IdRole)))
