"""Sidebar folder actions: remove a folder from the library (nothing on disk changes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from photomgr.core.ops.interop import FolderRemoval

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow


def ask_remove_folder(win: MainWindow, folder: str) -> None:
    """Confirm, then remove in the worker; the gallery and the sidebar re-read afterwards."""
    answer = QMessageBox.question(
        win, "Remove Folder from Library",
        f"Remove {folder} and the folders below it from the library?\n\nIts photos leave the "
        "library with their tags and decisions. No file on disk is changed or deleted; add the "
        "folder again to bring its photos back.")
    if answer == QMessageBox.StandardButton.Yes:
        remove_folder(win, folder)


def remove_folder(win: MainWindow, folder: str) -> None:
    def done(removal: object) -> None:  # run_op hands over the OpResult's value
        assert isinstance(removal, FolderRemoval)
        win.statusBar().showMessage(f"Removed {removal.photos:,} photos in {removal.folder} from the "
                                    "library (files on disk unchanged)", 15_000)
        win.sidebar.select_folder(None)
        win.host.photos_changed.emit([])  # as after a scan: the gallery and the sidebar re-read
        win.folder_watch.refresh()
        win.host.refresh_labels()

    win.host.run_op(lambda ops: ops.remove_folder(Path(folder)), done)
