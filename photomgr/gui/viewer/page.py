"""The viewer page: the photo large (ImageCanvas), a bar with its name, place and zoom, and its tags.

It steps through the gallery's rows as they are shown (the gallery's order, filter and
search), so Esc returns to the gallery with the last viewed photo selected and in view.
Keys: Left/Right (or PageUp/PageDown) previous/next, Home/End first/last, +/- zoom, 0 fit,
1 actual size, Space confirms the top tag, Esc back to the gallery.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from photomgr.core.fspaths import display_path
from photomgr.gui.details.tags_panel import TagsPanel
from photomgr.gui.gallery.model import ErrorRole, GalleryModel, IdRole, PathRole
from photomgr.gui.viewer.canvas import ImageCanvas
from photomgr.gui.viewer.loader import FULL, SCREEN, ViewerLoader, ViewImage
from photomgr.gui.worker.results import CONFIRMED, TagRow

PREFETCH = 1  # photos decoded ahead on each side


class ViewerPage(QWidget):
    closed = Signal()  # Esc or the Back button
    photo_shown = Signal(int)  # the photo now viewed (the gallery selects it)
    tags_wanted = Signal(int)  # ask the worker for this photo's tags

    def __init__(self, model: GalleryModel, loader: ViewerLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.loader = loader
        self.row = -1
        self.photo_id: int | None = None
        loader.loaded.connect(self._on_loaded)

        self.back = QPushButton("← Gallery")
        self.back.setToolTip("Back to the gallery (Esc)")
        self.back.clicked.connect(self.closed.emit)
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.place = QLabel()
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(48)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit the photo to the window (0)")
        self.actual_button = QPushButton("1:1")
        self.actual_button.setToolTip("Show every pixel: actual size (1)")
        bar = QHBoxLayout()
        bar.addWidget(self.back)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.place)
        bar.addWidget(self.zoom_label)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)

        self.canvas = ImageCanvas()
        self.fit_button.clicked.connect(self.canvas.fit)
        self.actual_button.clicked.connect(self.canvas.actual_size)
        self.canvas.zoom_changed.connect(self._on_zoom_changed)
        self.canvas.needs_full.connect(self._want_full)
        self.tags = TagsPanel()
        self.tags.setFixedWidth(300)
        body = QHBoxLayout()
        body.addWidget(self.canvas, 1)
        body.addWidget(self.tags, 0, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(body, 1)

    # -- showing -------------------------------------------------------------------------------
    def open_row(self, row: int) -> bool:
        """View the gallery's row `row`; False if there is no such row."""
        if not 0 <= row < self.model.rowCount():
            return False
        self.row = row
        index = self.model.index(row)
        photo_id = int(index.data(IdRole))
        self.photo_id = photo_id
        path = str(index.data(PathRole))
        self.title.setText(display_path(os.path.basename(path)))
        self.title.setToolTip(display_path(path))
        self.place.setText(f"{row + 1:,} of {self.model.rowCount():,}")
        self.tags.set_tags(photo_id, [])
        self.tags.set_selection([photo_id])
        self.tags_wanted.emit(photo_id)
        self.photo_shown.emit(photo_id)
        if index.data(ErrorRole):
            self.canvas.set_image(None, message="This file could not be read")
        else:
            shown = self.loader.cached(photo_id, FULL) or self.loader.cached(photo_id, SCREEN)
            if shown is not None:
                self.canvas.set_image(shown.image, shown.full_size)
            else:
                self.canvas.set_image(None, message=self.loader.error(photo_id) or "Loading…")
        self._request()
        self.canvas.setFocus()
        return True

    def step(self, delta: int) -> None:
        target = min(max(self.row + delta, 0), self.model.rowCount() - 1)
        if target != self.row:
            self.open_row(target)

    def _screen_side(self) -> int:
        size = self.canvas.size() * self.canvas.devicePixelRatioF()
        return max(size.width(), size.height(), 800)

    def _request(self) -> None:
        """Decode the current photo first, then its neighbours (ahead first), then its pixels."""
        self.loader.set_screen_side(self._screen_side())
        jobs: list[tuple[int, str, str]] = []
        order = [self.row] + [self.row + d for k in range(1, PREFETCH + 1) for d in (k, -k)]
        for row in order:
            if 0 <= row < self.model.rowCount():
                index = self.model.index(row)
                if not index.data(ErrorRole):
                    jobs.append((int(index.data(IdRole)), SCREEN, str(index.data(PathRole))))
        if jobs and not self.canvas.fitted:
            jobs.insert(1, (jobs[0][0], FULL, jobs[0][2]))
        self.loader.want(jobs)

    @Slot()
    def _want_full(self) -> None:
        if self.photo_id is not None and self.loader.cached(self.photo_id, FULL) is None:
            self._request()

    @Slot(int, str, object, str)
    def _on_loaded(self, photo_id: int, kind: str, result: ViewImage | None, error: str) -> None:
        if photo_id != self.photo_id:
            return
        if result is None:
            if kind == SCREEN:
                self.canvas.set_image(None, message=f"Could not show this photo: {error}")
            return
        if kind == FULL or not self.canvas.has_image():
            # The full image replaces the screen one in place: the zoom and position stay.
            self.canvas.set_image(result.image, result.full_size, keep_view=self.canvas.has_image())

    @Slot(int, list)
    def show_tags(self, photo_id: int, tags: list[TagRow]) -> None:
        if photo_id == self.photo_id:
            self.tags.set_tags(photo_id, tags)

    @Slot()
    def _on_zoom_changed(self) -> None:
        zoom = self.canvas.zoom()
        self.zoom_label.setText(f"{zoom * 100:.0f}%" if self.canvas.has_image() else "")

    def sizeHint(self) -> QSize:
        return QSize(1000, 700)

    # -- keys ----------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        steps = {Qt.Key.Key_Right: 1, Qt.Key.Key_PageDown: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_PageUp: -1}
        if key in steps:
            self.step(steps[Qt.Key(key)])
        elif key == Qt.Key.Key_Home:
            self.open_row(0)
        elif key == Qt.Key.Key_End:
            self.open_row(self.model.rowCount() - 1)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.canvas.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.canvas.zoom_out()
        elif key == Qt.Key.Key_0:
            self.canvas.fit()
        elif key == Qt.Key.Key_1:
            self.canvas.actual_size()
        elif key == Qt.Key.Key_Space:
            top = self.tags.top_tag()
            if top is not None:
                self.tags.toggle(top.label_id, CONFIRMED)
        elif key in (Qt.Key.Key_Escape, Qt.Key.Key_Backspace):
            self.closed.emit()
        else:
            super().keyPressEvent(event)
