"""The viewer in the window: opened from the gallery (double-click or Enter) in its place, and
back with Esc at the photo last viewed, selected and in view.

Kept apart from window/main_window.py, which only creates it: the wiring of one feature in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, Slot

from photomgr.gui.worker.results import LabelSummary

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow


class ViewerMode(QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        viewer = win.viewer
        win.gallery.activated.connect(self.open)  # double-click or Enter
        viewer.closed.connect(self.close)
        viewer.photo_shown.connect(self._on_photo_shown)
        viewer.tags_wanted.connect(win.host.request_tags)
        viewer.tags.decide.connect(win.label_actions.decide)
        win.model.modelReset.connect(self._on_model_reset)
        win.host.photo_tags.connect(viewer.show_tags)

    @property
    def viewing(self) -> bool:
        return self.win.pages.currentWidget() is self.win.viewer

    @Slot(QModelIndex)
    def open(self, index: QModelIndex | None = None) -> None:
        """View the photo at `index` (default: the current one) large, in place of the gallery."""
        win = self.win
        index = index if index is not None and index.isValid() else win.gallery.currentIndex()
        if not index.isValid():
            return
        win.pages.setCurrentWidget(win.viewer)
        win.viewer.open_row(index.row())

    @Slot()
    def close(self) -> None:
        """Back to the gallery, the last viewed photo selected and in view."""
        if not self.viewing:
            return
        win = self.win
        win.pages.setCurrentWidget(win.splitter)
        win.gallery.setFocus()
        win.show_current_photo()  # its details were skipped while viewing

    @Slot(int)
    def _on_photo_shown(self, photo_id: int) -> None:
        self.win.gallery.select_photo(photo_id, centre=False)

    @Slot()
    def _on_model_reset(self) -> None:
        """The gallery's rows were replaced: the viewer finds its photo again, or closes."""
        viewer = self.win.viewer
        if self.viewing and viewer.photo_id is not None:
            row = self.win.model.row_of(viewer.photo_id)
            if row < 0:
                self.close()
            else:
                viewer.row = row

    def labels_changed(self, labels: list[LabelSummary]) -> None:
        """New label names and counts: the viewed photo's tags are asked for again."""
        viewer = self.win.viewer
        viewer.tags.set_labels(labels)
        viewed = viewer.photo_id
        if self.viewing and viewed is not None and viewed != self.win.details.photo_id:
            self.win.host.request_tags(viewed)
