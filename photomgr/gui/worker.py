"""The background worker: the one writer of the library (and, later, the owner of the model).

`LibraryWorker` lives in its own QThread and opens the Library there, so the write
connection is only ever used from that thread. The GUI talks to it through `WorkerHost`,
whose methods emit queued signals and return at once: the GUI thread never waits on it.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.paths import LibraryPaths
from photomgr.core.library.photos import PhotoStore
from photomgr.core.scanning.scanner import Scanner, ScanProgress, ScanReport

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.1  # a progress signal per file would flood the GUI's event queue
ADDED_EVERY_S = 0.25  # how often newly recorded photo ids are announced during a scan


class _Cancelled:
    """Cancellation shared between the GUI thread and the worker, safe from either.

    Each job has a number; cancel() cancels the running job and every job queued so far,
    but not jobs asked for afterwards.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._submitted = 0
        self._cancel_upto = 0

    def next_job(self) -> int:
        with self._lock:
            self._submitted += 1
            return self._submitted

    def cancel(self) -> None:
        with self._lock:
            self._cancel_upto = self._submitted
        self.event.set()  # after _cancel_upto: see start()

    def start(self, job: int) -> bool:
        """Called by the worker as a job begins; False when the job was cancelled while queued."""
        self.event.clear()  # before the check, so a cancel racing with us is never lost
        with self._lock:
            return job > self._cancel_upto


class LibraryWorker(QObject):
    ready = Signal(object)  # LibraryPaths, once the library is open
    progress = Signal(int, int, float, float, str)  # done, total, photos/s, eta seconds, phase
    photos_changed = Signal(list)  # ids of photos recorded since the last emission
    scan_started = Signal()
    scan_finished = Signal(object)  # ScanReport
    failed = Signal(str)
    job_done = Signal(int)  # after every add_folder/rescan_all, whether it scanned, failed or was skipped

    def __init__(self, library_root: Path, cancel: _Cancelled) -> None:
        super().__init__()
        self._root = library_root
        self._cancel = cancel
        self._library: Library | None = None

    # -- slots, invoked through WorkerHost's queued signals ------------------------------
    @Slot()
    def open_library(self) -> None:
        try:
            self._library = Library(self._root)
        except Exception as exc:  # LibraryError and OS errors alike go to the user
            log.exception("cannot open library")
            self.failed.emit(f"Cannot open the library {self._root}: {exc}")
            return
        self.ready.emit(self._library.paths)

    @Slot(int, str)
    def add_folder(self, job: int, folder: str) -> None:
        try:
            path = Path(folder).expanduser().resolve()
            if not path.is_dir():
                self.failed.emit(f"Cannot add {path}: it is not a folder")
                return
            self._scan(job, [path])
        finally:
            self.job_done.emit(job)

    @Slot(int)
    def rescan_all(self, job: int) -> None:
        try:
            if self._library is not None:
                roots = [Path(r) for r in PhotoStore(self._library.conn).roots()]
                if roots:
                    self._scan(job, roots)
        finally:
            self.job_done.emit(job)

    @Slot()
    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None

    # -- the scan ----------------------------------------------------------------------
    def _scan(self, job: int, roots: list[Path]) -> None:
        library = self._library
        if library is None or not self._cancel.start(job):
            return
        store = PhotoStore(library.conn)
        scanner = Scanner(store, ThumbnailCache(library.paths.thumbnails), skip={library.paths.root})
        reporter = _ProgressReporter(self, store)
        self.scan_started.emit()
        try:
            report = scanner.scan(roots, progress=reporter, cancel=self._cancel.event)
        except Exception as exc:  # reported, and the worker stays usable
            log.exception("scan failed")
            self.failed.emit(f"The scan of {', '.join(map(str, roots))} failed: {exc}")
            report = ScanReport(cancelled=True)
        reporter.finish()
        self.scan_finished.emit(report)


class _ProgressReporter:
    """The scanner's progress callback: throttles signals, computes the rate, announces new ids.

    Runs in the worker thread, between files, so reading the write connection here is safe.
    """

    def __init__(self, worker: LibraryWorker, store: PhotoStore) -> None:
        self._worker = worker
        self._store = store
        self._last_id = self._max_id()
        self._last_progress = 0.0
        self._last_added = time.monotonic()
        self._phase = ""
        self._phase_started = time.monotonic()

    def _max_id(self) -> int:
        row = self._store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM photos").fetchone()
        return int(row[0])

    def __call__(self, p: ScanProgress) -> None:
        now = time.monotonic()
        if p.phase != self._phase:
            self._phase, self._phase_started = p.phase, now
        last = p.total > 0 and p.done >= p.total
        if now - self._last_progress >= PROGRESS_EVERY_S or last:
            self._last_progress = now
            elapsed = max(now - self._phase_started, 1e-6)
            rate = p.done / elapsed
            eta = (p.total - p.done) / rate if p.total and rate > 0 else -1.0
            self._worker.progress.emit(p.done, p.total, rate, eta, p.phase)
        if now - self._last_added >= ADDED_EVERY_S:
            self._last_added = now
            self._announce()

    def _announce(self) -> None:
        # The scanner commits every few hundred rows; readers see rows once committed, so
        # the gallery re-reads on each announcement and once more when the scan finishes.
        rows = self._store.conn.execute(
            "SELECT id FROM photos WHERE id > ? ORDER BY id", (self._last_id,)
        ).fetchall()
        if rows:
            ids = [int(r[0]) for r in rows]
            self._last_id = ids[-1]
            self._worker.photos_changed.emit(ids)

    def finish(self) -> None:
        self._announce()


class WorkerHost(QObject):
    """Owns the worker's thread; the GUI's only handle on the writer. Every method returns at once.

    The worker's signals are relayed by signals of the same name here: this object lives in
    the GUI thread, so its signals are always delivered there (connect to these, not to the
    worker's, from GUI code and from tests).
    """

    ready = Signal(object)
    progress = Signal(int, int, float, float, str)
    photos_changed = Signal(list)
    scan_started = Signal()
    scan_finished = Signal(object)
    failed = Signal(str)
    job_done = Signal(int)

    _open = Signal()
    _add_folder = Signal(int, str)
    _rescan_all = Signal(int)
    _close = Signal()

    def __init__(self, library_root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = _Cancelled()
        self._thread = QThread()
        self._thread.setObjectName("photomgr-worker")
        self.worker = LibraryWorker(library_root, self._cancel)
        self.worker.moveToThread(self._thread)
        # Cross-thread connections: queued, so the slots run in the worker thread, in order.
        self._open.connect(self.worker.open_library)
        self._add_folder.connect(self.worker.add_folder)
        self._rescan_all.connect(self.worker.rescan_all)
        self._close.connect(self.worker.close)
        self.paths: LibraryPaths | None = None
        self._jobs: set[int] = set()
        self.ready.connect(self._on_ready)
        self.job_done.connect(self._on_job_done)
        for name in ("ready", "progress", "photos_changed", "scan_started", "scan_finished", "failed",
                     "job_done"):
            getattr(self.worker, name).connect(getattr(self, name))  # queued: receiver is here

    def start(self) -> None:
        self._thread.start()
        self._open.emit()

    @Slot(object)
    def _on_ready(self, paths: LibraryPaths) -> None:
        self.paths = paths

    @Slot(int)
    def _on_job_done(self, job: int) -> None:
        self._jobs.discard(job)

    @property
    def busy(self) -> bool:
        """A job was asked for and has not finished (it may still be queued)."""
        return bool(self._jobs)

    def add_folder(self, folder: str | Path) -> None:
        job = self._cancel.next_job()
        self._jobs.add(job)
        self._add_folder.emit(job, str(folder))

    def rescan_all(self) -> None:
        job = self._cancel.next_job()
        self._jobs.add(job)
        self._rescan_all.emit(job)

    def cancel(self) -> None:
        """Thread-safe and immediate: the running scan stops after the files in flight."""
        self._cancel.cancel()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel, close the library in its thread, and stop the thread (only at exit)."""
        if not self._thread.isRunning():
            return
        self._cancel.cancel()
        self._close.emit()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            log.error("the worker did not stop within %d ms", timeout_ms)
