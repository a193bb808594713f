"""The main window: sidebar | gallery | details, a welcome page for an empty library, the scan status.

The window owns no database connection. Writes go to the worker (WorkerHost), reads to a
QueryRunner; both answer through queued signals, so the GUI thread never waits on either.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.paths import LibraryPaths
from photomgr.core.scanning.scanner import ScanReport
from photomgr.gui import queries
from photomgr.gui.banner import Banner
from photomgr.gui.details_panel import DetailsPanel
from photomgr.gui.gallery_model import GalleryModel, HashRole, IdRole, PathRole
from photomgr.gui.gallery_view import THUMB, GalleryView
from photomgr.gui.preview_loader import PreviewLoader
from photomgr.gui.query_runner import CoalescedQuery, Query, QueryRunner
from photomgr.gui.sidebar import Sidebar
from photomgr.gui.status_bar import ScanStatus
from photomgr.gui.thumbnail_loader import ThumbnailLoader
from photomgr.gui.welcome import WelcomePage
from photomgr.gui.worker import WorkerHost

log = logging.getLogger(__name__)

SEARCH_DISABLED_TIP = "Search is available once photos are embedded"


class MainWindow(QMainWindow):
    def __init__(self, library_root: Path, *, start: bool = True) -> None:
        super().__init__()
        self.paths = LibraryPaths(library_root.expanduser().resolve())
        self.setWindowTitle(f"photomgr — {self.paths.root}")
        self.resize(1280, 820)
        self.library_ready = False
        self.scanning = False
        self.last_report: ScanReport | None = None
        self._folder: str | None = None

        # Background machinery: one writer, one reader, two image pools.
        self.host = WorkerHost(self.paths.root, self)
        self.reader = QueryRunner(self.paths.database, self)
        screen = QGuiApplication.primaryScreen()
        self.thumbnails = ThumbnailLoader(
            ThumbnailCache(self.paths.thumbnails).path_for, THUMB, parent=self,
            device_pixel_ratio=screen.devicePixelRatio() if screen is not None else 1.0)
        self.previews = PreviewLoader(self)

        self._build_widgets()
        self._build_actions()
        self._gallery_query = CoalescedQuery(self.reader, self._make_gallery_query, self._on_gallery_rows,
                                             parent=self)
        self._sidebar_query = CoalescedQuery(self.reader, lambda: _sidebar_data, self._on_sidebar_data,
                                             min_interval_ms=1000, parent=self)
        self._connect_worker()
        if start:
            self.host.start()

    # -- construction ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.model = GalleryModel()
        self.gallery = GalleryView(self.model, self.thumbnails)
        self.sidebar = Sidebar()
        self.details = DetailsPanel(self.previews, self.thumbnails.cached)
        self.welcome = WelcomePage()
        self.banner = Banner()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search photos…")
        self.search.setClearButtonEnabled(True)
        self.search.setEnabled(False)
        self.search.setToolTip(SEARCH_DISABLED_TIP)
        self.search.setMaximumWidth(320)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.gallery)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 760, 300])
        self.splitter.setCollapsible(1, False)

        self.loading = QLabel("Opening the library…")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.loading)  # until the first query says whether the library is empty
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.scan_status = ScanStatus(self.statusBar())

        self.welcome.add_folder_clicked.connect(self.choose_folder)
        self.sidebar.folder_selected.connect(self.set_folder)
        self.gallery.selectionModel().currentChanged.connect(self._on_current_changed)
        self.gallery.customContextMenuRequested.connect(self._show_context_menu)
        self.scan_status.cancel_requested.connect(self.cancel_scan)
        self.reader.failed.connect(self.show_error)

    def _build_actions(self) -> None:
        self.add_folder_action = QAction("Add Folder…", self, shortcut=QKeySequence("Ctrl+O"))
        self.add_folder_action.setToolTip("Add a folder of photos to the library (Ctrl+O)")
        self.add_folder_action.triggered.connect(self.choose_folder)
        self.rescan_action = QAction("Rescan", self, shortcut=QKeySequence("F5"))
        self.rescan_action.setToolTip("Look for new, changed, moved and deleted photos (F5)")
        self.rescan_action.triggered.connect(self.rescan)
        self.quit_action = QAction("Quit", self, shortcut=QKeySequence("Ctrl+Q"))
        self.quit_action.triggered.connect(self.close)
        for action in (self.add_folder_action, self.rescan_action):
            action.setEnabled(False)  # until the library is open
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.add_folder_action)
        menu.addAction(self.rescan_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(16, 16))
        toolbar.addAction(self.add_folder_action)
        toolbar.addAction(self.rescan_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addWidget(self.search)
        self.addToolBar(toolbar)
        self.cancel_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.cancel_shortcut.activated.connect(self.cancel_scan)

    def _connect_worker(self) -> None:
        worker = self.host  # its relayed signals arrive on the GUI thread
        worker.ready.connect(self._on_ready)
        worker.progress.connect(self.scan_status.on_progress)
        worker.photos_changed.connect(self._on_photos_changed)
        worker.scan_started.connect(self._on_scan_started)
        worker.scan_finished.connect(self._on_scan_finished)
        worker.failed.connect(self.show_error)

    # -- user actions ------------------------------------------------------------------------
    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str | Path) -> None:
        self.pages.setCurrentWidget(self.splitter)  # photos appear as the scan records them
        self.host.add_folder(folder)

    @Slot()
    def rescan(self) -> None:
        self.host.rescan_all()

    @Slot()
    def cancel_scan(self) -> None:
        if self.scanning or self.host.busy:  # a queued scan is cancelled too
            self.host.cancel()
            self.scan_status.set_cancelling()

    @Slot(object)
    def set_folder(self, folder: str | None) -> None:
        """Show only the photos in `folder` (and below), or every photo for None."""
        if folder == self._folder:
            return
        self._folder = folder
        self.gallery.clearSelection()
        self.details.clear()
        if self.library_ready:
            self._gallery_query.invalidate()

    @Slot(str)
    def show_error(self, message: str) -> None:
        log.error("%s", message)
        self.banner.show_message(message)
        if not self.library_ready:  # the library could not be opened: say so where it would be
            self.loading.setText(message)
            self.loading.setWordWrap(True)
        self.statusBar().showMessage(message, 10_000)

    # -- worker events -----------------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, _paths: LibraryPaths) -> None:
        self.library_ready = True
        self.add_folder_action.setEnabled(True)
        self.rescan_action.setEnabled(True)
        self._gallery_query.trigger(immediate=True)
        self._sidebar_query.trigger(immediate=True)

    @Slot()
    def _on_scan_started(self) -> None:
        self.scanning = True
        self.scan_status.set_running(True)
        self.statusBar().clearMessage()

    @Slot(list)
    def _on_photos_changed(self, _ids: list[int]) -> None:
        self._gallery_query.trigger()
        self._sidebar_query.trigger()

    @Slot(object)
    def _on_scan_finished(self, report: ScanReport) -> None:
        self.scanning = False
        self.last_report = report
        self.scan_status.set_running(False)
        self.statusBar().showMessage(_summary(report), 15_000)
        self._gallery_query.trigger(immediate=True)
        self._sidebar_query.trigger(immediate=True)

    # -- query results -----------------------------------------------------------------------
    def _make_gallery_query(self) -> Query[tuple[queries.GalleryRows, bool]]:
        folder = self._folder
        return lambda conn: (queries.gallery_rows(conn, folder), queries.library_is_empty(conn))

    def _on_gallery_rows(self, result: tuple[queries.GalleryRows, bool]) -> None:
        rows, empty = result
        self.gallery.apply_rows(rows)
        if empty and not self.host.busy:
            self.pages.setCurrentWidget(self.welcome)
        elif self.pages.currentWidget() is not self.splitter:
            self.pages.setCurrentWidget(self.splitter)

    def _on_sidebar_data(self, data: tuple[list[queries.FolderCount], int]) -> None:
        folders, total = data
        self.sidebar.set_folders(folders, total)

    # -- selection and context menu ----------------------------------------------------------
    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.clear()
            return
        photo_id = int(current.data(IdRole))
        if photo_id == self.details.photo_id:
            return
        self.details.show_loading(photo_id, current.data(HashRole))
        self.reader.submit(lambda conn: queries.photo_details(conn, photo_id), self.details.show_row)

    @Slot(QPoint)
    def _show_context_menu(self, pos: QPoint) -> None:
        index = self.gallery.indexAt(pos)
        if not index.isValid():
            return
        if not self.gallery.selectionModel().isSelected(index):
            self.gallery.setCurrentIndex(index)
        menu = self.photo_menu(index)
        menu.exec(self.gallery.viewport().mapToGlobal(pos))

    def photo_menu(self, index: QModelIndex) -> QMenu:
        """The right-click menu for photos (a later phase adds Find similar and Tag with)."""
        path = str(index.data(PathRole))
        selected = [str(i.data(PathRole)) for i in self.gallery.selectionModel().selectedIndexes()]
        paths = selected if path in selected else [path]
        menu = QMenu(self)
        menu.addAction("Show in file manager", lambda: self.show_in_file_manager(path))
        label = "Copy path" if len(paths) == 1 else f"Copy {len(paths)} paths"
        menu.addAction(label, lambda: self.copy_paths(paths))
        return menu

    def show_in_file_manager(self, path: str) -> QUrl:
        url = QUrl.fromLocalFile(str(Path(path).parent))
        if not QDesktopServices.openUrl(url):
            self.show_error(f"Could not open a file manager for {url.toLocalFile()}")
        return url

    def copy_paths(self, paths: list[str]) -> None:
        QGuiApplication.clipboard().setText("\n".join(paths))
        self.statusBar().showMessage("Copied " + ("path" if len(paths) == 1 else f"{len(paths)} paths"),
                                     3000)

    # -- shutdown ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop every background thread: the worker cancels its scan and closes the library."""
        self.host.shutdown()
        self.reader.close()
        self.thumbnails.shutdown()
        self.previews.shutdown()


def _sidebar_data(conn: sqlite3.Connection) -> tuple[list[queries.FolderCount], int]:
    return queries.folder_counts(conn), queries.present_count(conn)


def _summary(report: ScanReport) -> str:
    if report.cancelled:
        head = f"Scan cancelled: {report.new:,} new photos kept"
    else:
        head = f"{report.photos:,} photos: {report.new:,} new, {report.updated:,} updated, " \
               f"{report.moved:,} moved, {report.missing:,} missing"
    if report.errors:
        n = len(report.errors)
        head += f" · {n:,} file{'s' if n != 1 else ''} could not be read (select one to see why)"
    return head
