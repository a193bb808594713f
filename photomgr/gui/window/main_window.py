"""The main window: sidebar | gallery | details, label editor and Find-similar docks, the status bar.

The window owns no database connection and no model. Writes, scores, searches and the model
go to the worker (WorkerHost), gallery reads to a QueryRunner; both answer through queued
signals, so the GUI thread never waits on either.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library import gallery as queries
from photomgr.core.library import scan_state
from photomgr.core.library.labels import LabelStore
from photomgr.core.library.paths import LibraryPaths
from photomgr.core.scanning.scanner import ScanReport
from photomgr.gui.details.descriptions import DescriptionViews
from photomgr.gui.details.panel import DetailsPanel
from photomgr.gui.details.preview_loader import PreviewLoader
from photomgr.gui.folders.actions import ask_remove_folder
from photomgr.gui.folders.watch import FolderWatch
from photomgr.gui.gallery import duplicates
from photomgr.gui.gallery.browse_bar import BrowseBar
from photomgr.gui.gallery.feed import GalleryFeed
from photomgr.gui.gallery.model import GalleryModel, HashRole, IdRole
from photomgr.gui.gallery.similar_panel import SimilarPanel
from photomgr.gui.gallery.thumbnail_loader import ThumbnailLoader
from photomgr.gui.gallery.view import THUMB, GalleryView
from photomgr.gui.labels.editor import LabelEditor
from photomgr.gui.labels.undo import LabelActions
from photomgr.gui.review.mode import ReviewMode
from photomgr.gui.review.page import ReviewPage
from photomgr.gui.viewer.loader import ViewerLoader
from photomgr.gui.viewer.mode import ViewerMode
from photomgr.gui.viewer.page import ViewerPage
from photomgr.gui.window import menus
from photomgr.gui.window.banner import Banner
from photomgr.gui.window.model_offer import ModelOffer
from photomgr.gui.window.sidebar import Sidebar
from photomgr.gui.window.status_bar import ScanStatus, scan_summary
from photomgr.gui.window.welcome import WelcomePage
from photomgr.gui.worker.host import WorkerHost
from photomgr.gui.worker.query_runner import CoalescedQuery, QueryRunner
from photomgr.gui.worker.results import CONFIRMED, LabelSummary, ModelState

log = logging.getLogger(__name__)

SEARCH_DISABLED_TIP = "Search is available once photos are embedded"
SIMILAR_K = 12


class MainWindow(QMainWindow):
    cancel_shortcut: QShortcut  # Esc: set up with the menus (menus.py)

    def __init__(self, library_root: Path, *, start: bool = True) -> None:
        super().__init__()
        self.paths = LibraryPaths(library_root.expanduser().resolve())
        self.setWindowTitle(f"photomgr — {self.paths.root}")
        self.resize(1280, 820)
        self.library_ready = False
        self.scanning = False
        self.last_report: ScanReport | None = None
        self._resume_checked = False  # looked once, after the model loaded, for unfinished embedding
        self.interrupted: list[str] = []  # roots whose last index was stopped before the end
        self._model_warnings: list[str] = []  # banner lines about a model that failed to load

        # Background machinery: one writer (and the model), one reader, two image pools.
        self.host = WorkerHost(self.paths.root, self)
        self.reader = QueryRunner(self.paths.database, self)
        screen = QGuiApplication.primaryScreen()
        self.thumbnails = ThumbnailLoader(
            ThumbnailCache(self.paths.thumbnails).path_for, THUMB, parent=self,
            device_pixel_ratio=screen.devicePixelRatio() if screen is not None else 1.0)
        self.previews = PreviewLoader(self)
        self.viewer_loader = ViewerLoader(self)
        self.undo_stack = QUndoStack(self)
        self.label_actions = LabelActions(self.host, self.undo_stack)

        self._build_widgets()
        self.menu_actions = menus.build_menus(self)
        self.folder_watch = FolderWatch(self.host, self)  # watched folders, sidecar setting
        self.folder_watch.add_to_menu(self.menuBar(), before=self.menu_actions.quit)
        self.descriptions = DescriptionViews(self.host, self.reader, self.details.description, self.model,
                                             self.undo_stack, self.menu_actions.descriptions, self)
        self._sidebar_query = CoalescedQuery(self.reader, lambda: queries.sidebar_data, self._on_sidebar_data,
                                             min_interval_ms=1000, parent=self)
        self._connect_worker()
        if start:
            self.host.start()

    # -- construction ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.model = GalleryModel()
        self.gallery = GalleryView(self.model, self.thumbnails)
        self.feed = GalleryFeed(self.host, self.reader, self.gallery, self)
        self.sidebar = Sidebar()
        self.details = DetailsPanel(self.previews, self.thumbnails.cached)
        self.welcome = WelcomePage()
        self.banner = Banner()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search photos… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setEnabled(False)
        self.search.setToolTip(SEARCH_DISABLED_TIP)
        self.search.setMaximumWidth(320)

        self.browse_bar = BrowseBar(self.paths.root / "gui.ini")
        self.gallery.set_thumb_size(self.browse_bar.thumb_size())
        self.feed.set_sort(self.browse_bar.sort_key(), self.browse_bar.descending())
        browse = QWidget()
        browse_layout = QVBoxLayout(browse)
        browse_layout.setContentsMargins(0, 0, 0, 0)
        browse_layout.setSpacing(2)
        browse_layout.addWidget(self.browse_bar)
        browse_layout.addWidget(self.gallery, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(browse)
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
        self.viewer = ViewerPage(self.model, self.viewer_loader)
        self.pages.addWidget(self.viewer)
        self.review = ReviewPage(self.host, self.reader, self.label_actions, self.viewer_loader)
        self.pages.addWidget(self.review)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.banner)
        self.model_offer = ModelOffer(self.paths.root / "gui.ini")
        self.model_offer.use_clip.connect(lambda pretrained: self.use_model("clip", pretrained))
        layout.addWidget(self.model_offer)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.scan_status = ScanStatus(self.statusBar())

        self.label_editor = LabelEditor(self.host, self.label_actions, thumbnails=self.thumbnails,
                                        reader=self.reader)
        self.label_dock = self._dock("Labels", self.label_editor, Qt.DockWidgetArea.RightDockWidgetArea)
        self.similar = SimilarPanel(self.thumbnails)
        self.similar_dock = self._dock("Similar photos", self.similar, Qt.DockWidgetArea.BottomDockWidgetArea)

        self.welcome.add_folder_clicked.connect(self.choose_folder)
        self.sidebar.folder_selected.connect(self.set_folder)
        self.sidebar.label_selected.connect(self.show_label)
        self.sidebar.duplicates_selected.connect(lambda: duplicates.show_duplicates(self))
        self.sidebar.delete_label_requested.connect(self.delete_label)
        self.sidebar.edit_label_requested.connect(lambda label_id: self.show_label_editor(label_id))
        self.sidebar.add_label_requested.connect(lambda: menus.ask_new_label(self))
        self.sidebar.remove_folder_requested.connect(lambda folder: ask_remove_folder(self, folder))
        self.gallery.selectionModel().currentChanged.connect(self._on_current_changed)
        self.gallery.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.gallery.customContextMenuRequested.connect(self._show_context_menu)
        self.viewer_mode = ViewerMode(self)  # their wiring: viewer/mode.py, review/mode.py
        self.review_mode = ReviewMode(self)
        self.details.tags.decide.connect(self.label_actions.decide)
        self.similar.photo_activated.connect(self.select_photo)
        self.search.returnPressed.connect(self.run_search)
        self.search.textChanged.connect(self._on_search_text)
        self.scan_status.cancel_requested.connect(self.cancel_scan)
        self.scan_status.resume_requested.connect(self.resume_indexing)
        self.reader.failed.connect(self.show_error)
        self.feed.rows_shown.connect(self._on_rows_shown)
        self.feed.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.feed.changed.connect(self._on_feed_changed)
        self.browse_bar.sort_changed.connect(self.feed.set_sort)
        self.browse_bar.size_changed.connect(self.gallery.set_thumb_size)
        self.browse_bar.clear_folder.connect(self.feed.clear_folder_scope)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        dock.hide()
        return dock

    def _connect_worker(self) -> None:
        worker = self.host  # its relayed signals arrive on the GUI thread
        worker.ready.connect(self._on_ready)
        worker.progress.connect(self.scan_status.on_progress)
        worker.photos_changed.connect(self._on_photos_changed)
        worker.scan_started.connect(self._on_scan_started)
        worker.scan_finished.connect(self._on_scan_finished)
        worker.failed.connect(self.show_error)
        worker.warning.connect(self._on_model_warning)
        worker.model_state.connect(self._on_model_state)
        worker.labels_changed.connect(self._on_labels_changed)
        worker.photo_tags.connect(self.details.show_tags)
        worker.similar.connect(self.similar.show_hits)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_application_state)

    @Slot(Qt.ApplicationState)
    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        """Back in the window (from a terminal, say): show what another photomgr process changed
        in the library meanwhile. Was: its labels, tags and photos stayed out of date for the
        whole session (a label removed on the command line still listed, one added missing)."""
        if state == Qt.ApplicationState.ApplicationActive and self.library_ready:
            self.host.notice_other_writers()

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
    def resume_indexing(self) -> None:
        """Index again the folders whose last index was stopped (unchanged files are skipped fast)."""
        for root in self.interrupted:
            self.host.add_folder(root)
        self.scan_status.set_interrupted([])

    def _check_interrupted(self) -> None:
        self.reader.submit(scan_state.interrupted_roots, self._on_interrupted)

    def _on_interrupted(self, roots: list[str]) -> None:
        self.interrupted = roots
        self.scan_status.set_interrupted([] if self.scanning else roots)

    @Slot()
    def cancel_scan(self) -> None:
        if self.scanning or self.host.busy:  # a queued scan is cancelled too
            self.host.cancel()
            self.scan_status.set_cancelling()

    def use_model(self, backend: str, pretrained: str = "", weights: Path | None = None) -> None:
        # After a model failed to load, the saved choice may still name it even though the default
        # runs: choosing the default then saves it, and takes the warning back.
        if backend != self.host.model.backend or weights is not None or self._model_warnings:
            self.host.use_model(backend, pretrained, weights)
        if backend == "default" and self._model_warnings:
            self.banner.remove(self._model_warnings)
            self._model_warnings = []

    @Slot(str)
    def _on_model_warning(self, message: str) -> None:
        self._model_warnings.append(message)
        self.show_error(message)

    @Slot()
    def _on_feed_changed(self) -> None:
        self.gallery.clearSelection()
        self.details.clear()

    @Slot(object)
    def set_folder(self, folder: str | None) -> None:
        """Show only the photos in `folder` (and below), or every photo for None."""
        if self.feed.showing.kind != "search" or self.leave_search():
            self.feed.set_folder(folder)

    @Slot(int)
    def show_label(self, label_id: int) -> None:
        """Show the photos carrying a label, best score first (the worker picks them)."""
        self.leave_search()
        label = self.sidebar.summary(label_id)
        self.feed.show_label(label_id, label.name if label is not None else "")

    @Slot()
    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    @Slot()
    def run_search(self) -> None:
        text = self.search.text().strip()
        if text:
            self.feed.search(text)

    @Slot(str)
    def _on_search_text(self, text: str) -> None:
        if not text.strip():
            self.feed.end_search()

    def leave_search(self) -> bool:
        """Clear the search field without going back to the view before it; True if it had text."""
        if not self.search.text():
            return False
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        return True

    @Slot(int)
    def delete_label(self, label_id: int) -> None:
        label = self.sidebar.summary(label_id)
        if label is not None:
            self.label_actions.delete_label(label.id, label.name)

    def show_label_editor(self, label_id: int | None = None) -> None:
        self.label_dock.show()
        self.label_dock.raise_()
        if label_id is not None:
            self.label_editor.select(label_id)

    def find_similar(self, photo_id: int, name: str = "") -> None:
        self.similar_dock.show()
        self.similar.show_pending(photo_id, name)
        self.host.find_similar(photo_id, SIMILAR_K)

    @Slot(int)
    def select_photo(self, photo_id: int) -> None:
        """Select a photo in the gallery; if the gallery does not show it, show all photos first."""
        if self.gallery.select_photo(photo_id):
            return
        self.feed.select_when_shown = photo_id
        self.leave_search()
        self.sidebar.select_folder(None)
        self.feed.set_folder(None)

    @property
    def viewing(self) -> bool:
        return self.viewer_mode.viewing

    @Slot()
    def on_escape(self) -> None:
        """Esc leaves the viewer or the review; in the gallery it cancels a scan."""
        if self.viewing:
            self.viewer_mode.close()
        elif self.review_mode.reviewing:
            self.review_mode.close()
        else:
            self.cancel_scan()

    @Slot()
    def toggle_top_tag(self) -> None:
        top = self.details.tags.top_tag()
        if top is not None:
            self.details.tags.toggle(top.label_id, CONFIRMED)

    @Slot(str)
    def show_error(self, message: str) -> None:
        log.error("%s", message)
        self.banner.show_message(message)
        if not self.library_ready:  # the library could not be opened: say so where it would be
            self.loading.setText(message)
            self.loading.setWordWrap(True)
            self.scan_status.model_label.setText("No library")  # no model loads without one
        self.statusBar().showMessage(message, 10_000)

    # -- worker events -----------------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, _paths: LibraryPaths) -> None:
        self.library_ready = True
        self.menu_actions.add_folder.setEnabled(True)
        self.menu_actions.rescan.setEnabled(True)
        self.feed.start()
        QTimer.singleShot(3000, self.host.load_model)  # in case the first rows never come
        self._sidebar_query.trigger(immediate=True)
        self._check_interrupted()
        self.reader.submit(lambda conn: [(lab.id, lab.name) for lab in LabelStore(conn).all()],
                           self.sidebar.set_label_names)

    @Slot(object)
    def _on_model_state(self, state: ModelState) -> None:
        self._resume_unfinished(state)
        self.scan_status.on_model_state(state)
        self.model_offer.on_model_state(state)
        menus.update_model_actions(self.menu_actions, state)
        self.search.setEnabled(state.searchable)
        self.search.setToolTip("Search photos by what they show, e.g. “dog on a beach” (Ctrl+F)"
                               if state.searchable else SEARCH_DISABLED_TIP)

    def _resume_unfinished(self, state: ModelState) -> None:
        """Once per launch, as soon as the model is loaded: photos that an earlier run left
        without vectors (the app was closed or killed while indexing or switching models) are
        embedded now, so nothing waits for the user. No folder is rescanned (that stays F5)."""
        if self._resume_checked or state.loaded is None or state.state not in ("ready", "no vectors"):
            return
        self._resume_checked = True
        if state.pending > 0 and not self.host.busy:
            self.statusBar().showMessage(f"Resuming: {state.pending:,} photos still to embed", 10_000)
            self.host.resume_embedding()

    @Slot(list)
    def _on_labels_changed(self, labels: list[LabelSummary]) -> None:
        self.sidebar.set_labels(labels)
        self.label_editor.set_labels(labels)
        self.details.tags.set_labels(labels)
        if self.details.photo_id is not None:
            self.host.request_tags(self.details.photo_id)
        self.viewer_mode.labels_changed(labels)
        if self.feed.showing.kind == "label":  # its photos may have changed
            self.feed.refetch()

    @Slot()
    def _on_scan_started(self) -> None:
        self.scanning = True
        self._sidebar_query.trigger(immediate=True)
        self.scan_status.set_running(True)
        self.statusBar().clearMessage()

    @Slot(list)
    def _on_photos_changed(self, _ids: list[int]) -> None:
        self.feed.photos_changed()
        self._sidebar_query.trigger()

    @Slot(object)
    def _on_scan_finished(self, report: ScanReport) -> None:
        self.scanning = False
        self.last_report = report
        self.scan_status.set_running(False)
        self.statusBar().showMessage(scan_summary(report), 15_000)
        self._check_interrupted()
        if self.feed.showing.kind == "folder":
            self.feed.query.trigger(immediate=True)
        elif self.feed.showing.kind == "duplicates":  # new vectors, new near-duplicates
            self.feed.refetch()
        self._sidebar_query.trigger(immediate=True)

    # -- query results -----------------------------------------------------------------------
    @Slot(bool)
    def _on_rows_shown(self, empty: bool) -> None:
        showing = self.feed.showing
        scoped = showing.kind != "folder" and showing.folder is not None
        self.browse_bar.set_filters(self.feed.describe(), scoped)
        # After the first rows are painted: importing torch in the worker holds the GIL for
        # a few hundred ms at a time, and must not delay the first paint.
        QTimer.singleShot(200, self.host.load_model)
        if empty and not self.host.busy:
            self.pages.setCurrentWidget(self.welcome)
        elif self.pages.currentWidget() not in (self.splitter, self.viewer, self.review):
            self.pages.setCurrentWidget(self.splitter)

    def _on_sidebar_data(self, data: tuple[list[queries.FolderCount], int]) -> None:
        folders, total = data
        self.sidebar.set_folders(folders, total)
        if total == 0 and self.scanning:  # the first batch is not recorded yet: not "(0)"
            self.sidebar.all_photos.setText(0, "All photos (indexing…)")

    # -- selection and context menu ----------------------------------------------------------
    def show_current_photo(self) -> None:
        """Fill the details panel for the gallery's current photo (after the viewer hid it)."""
        self._on_current_changed(self.gallery.currentIndex(), QModelIndex())

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.details.clear()
            return
        if self.viewing:  # hidden behind the viewer: filled in when the gallery comes back
            return
        photo_id = int(current.data(IdRole))
        if photo_id == self.details.photo_id:
            return
        self.details.show_loading(photo_id, current.data(HashRole))
        self.reader.submit(lambda conn: queries.photo_details(conn, photo_id), self.details.show_row)
        self.descriptions.request(photo_id)
        self.host.request_tags(photo_id)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.details.tags.set_selection(self.gallery.selected_ids())

    @Slot(QPoint)
    def _show_context_menu(self, pos: QPoint) -> None:
        index = self.gallery.indexAt(pos)
        if not index.isValid():
            return
        if not self.gallery.selectionModel().isSelected(index):
            self.gallery.setCurrentIndex(index)
        self.photo_menu(index).exec(self.gallery.viewport().mapToGlobal(pos))

    def photo_menu(self, index: QModelIndex) -> QMenu:
        return menus.photo_menu(self, index)

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
        self.folder_watch.stop()
        self.host.shutdown()
        self.reader.close()
        self.thumbnails.shutdown()
        self.previews.shutdown()
        self.viewer_loader.shutdown()
        self.model_offer.shutdown()
