"""Review mode in the window: teach one label its least certain photos, in place of the gallery
(Labels ▸ Review Label…, Ctrl+R, or a label's right-click menu); Esc or Done goes back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow


class ReviewMode(QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        win.review.closed.connect(self.close)
        win.sidebar.review_label_requested.connect(self.start)

    @property
    def reviewing(self) -> bool:
        return self.win.pages.currentWidget() is self.win.review

    @Slot(int)
    def start(self, label_id: int | None = None) -> None:
        """Review a label (default: the label shown, else the first one)."""
        win = self.win
        label_id = label_id if label_id is not None else win.sidebar.current_label()
        if label_id is None and win.sidebar.summaries:
            label_id = win.sidebar.summaries[0].id
        label = win.sidebar.summary(label_id) if label_id is not None else None
        if label is None:
            win.statusBar().showMessage("Add a label first: review teaches one label at a time", 5000)
            return
        win.pages.setCurrentWidget(win.review)
        win.review.start(label.id, label.name)

    @Slot()
    def close(self) -> None:
        if self.reviewing:
            self.win.pages.setCurrentWidget(self.win.splitter)
            self.win.gallery.setFocus()
