"""The window's watched folders and its "Keep XMP Sidecars Up to Date" setting.

A thin Qt layer over core/watching.py: while the window is open, a change under one of the
library's roots (debounced there) queues an index of that root on the worker -- the same job
as Rescan, so new photos appear embedded and tagged with no user action. With the setting on,
the photos whose tags an operation changed get their sidecars merged afterwards (in the
worker, through InteropOps.write_sidecars; coalesced over a second).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMenuBar

from photomgr.core.library.photos import PhotoStore
from photomgr.core.ops.changes import OpChanges
from photomgr.core.watching import FolderWatcher

if TYPE_CHECKING:
    from photomgr.core.ops.library_ops import LibraryOps
    from photomgr.gui.worker.host import WorkerHost

SIDECAR_DELAY_MS = 1000
log = logging.getLogger(__name__)


def _roots_and_setting(ops: LibraryOps) -> tuple[list[str], bool, str]:
    return (PhotoStore(ops.conn).roots(), ops.interop.keep_updated(), str(ops.library.paths.root))


class FolderWatch(QObject):
    _changed = Signal(list)  # emitted from the watcher's thread; delivered queued in the GUI's

    def __init__(self, host: WorkerHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.watcher: FolderWatcher | None = None
        self.roots: list[str] = []
        self.rescans = 0  # rescans asked for because of a change on disk
        self.action = QAction("Keep XMP Sidecars Up to Date", self)
        self.action.setCheckable(True)
        self.action.setToolTip("After each change of tags, merge them into a sidecar next to "
                               "each photo (IMG_1.jpg.xmp); originals are never modified")
        self.action.toggled.connect(self._set_keep_updated)
        self._pending_photos: set[int] = set()
        self._pending_all = False
        self._sidecar_timer = QTimer(self)
        self._sidecar_timer.setSingleShot(True)
        self._sidecar_timer.setInterval(SIDECAR_DELAY_MS)
        self._sidecar_timer.timeout.connect(self._write_sidecars)
        self._changed.connect(self._rescan)
        host.ready.connect(lambda _paths: self.refresh())
        host.scan_finished.connect(lambda _report: self.refresh())
        host.changed.connect(self._on_changes)

    def add_to_menu(self, bar: QMenuBar, before: QAction) -> None:
        """Put the setting into the menu that holds `before` (File, above Quit)."""
        for entry in bar.actions():
            menu = entry.menu()
            if isinstance(menu, QMenu) and before in menu.actions():
                menu.insertAction(before, self.action)
                menu.insertSeparator(before)
                return

    def refresh(self) -> None:
        """Re-read the roots and the setting (after the library opened, after each scan)."""
        self.host.run_op(_roots_and_setting, self._on_roots)

    def _on_roots(self, value: tuple[list[str], bool, str]) -> None:
        roots, keep, library_root = value
        self.action.blockSignals(True)
        self.action.setChecked(keep)
        self.action.blockSignals(False)
        if roots != self.roots or self.watcher is None:
            self.stop()
            self.roots = roots
            if roots:
                self.watcher = FolderWatcher([Path(r) for r in roots], self._changed.emit,
                                             ignore=[Path(library_root)])
                self.watcher.start()
                for problem in self.watcher.problems:  # e.g. a drive not plugged in: not an error
                    log.info("watched folders: %s", problem)

    @Slot(list)
    def _rescan(self, roots: list[Path]) -> None:
        self.rescans += 1
        for root in roots:
            self.host.add_folder(root)

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    # -- sidecars ----------------------------------------------------------------------------
    @Slot(bool)
    def _set_keep_updated(self, on: bool) -> None:
        self.host.run_op(lambda ops: ops.interop.configure(keep_updated=on))
        if on:  # bring every sidecar up to date once, then follow the changes
            self._pending_all = True
            self._sidecar_timer.start()

    @Slot(object)
    def _on_changes(self, changes: OpChanges) -> None:
        if not self.action.isChecked():
            return
        if changes.photos:
            self._pending_photos |= set(changes.photos)
        elif changes.label_list or changes.labels:  # a rename or removal touches many photos
            self._pending_all = True
        else:
            return
        self._sidecar_timer.start()

    def _write_sidecars(self) -> None:
        ids = None if self._pending_all else sorted(self._pending_photos)
        self._pending_all = False
        self._pending_photos.clear()
        self.host.run_op(lambda ops: ops.interop.write_sidecars(photo_ids=ids))
