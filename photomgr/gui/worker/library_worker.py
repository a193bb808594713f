"""The background worker: the one writer of the library and the owner of the model.

`LibraryWorker` lives in its own QThread and opens the Library there, so the write
connection is only ever used from that thread. The model loads (seconds: torch is imported)
in a thread of its own, never the GUI's: a first index records photos and thumbnails while it
loads, and the worker takes the model over between two batches once it is in. The GUI talks
to it through `WorkerHost` (host.py), whose methods return at once: the GUI thread
never waits on it.

Two kinds of work:
- long jobs (index a folder, rescan, switch model) arrive as queued signals and run one at a
  time;
- quick jobs (label edits, tag decisions, scores, searches; see jobs.py) arrive on a queue
  that is drained when the worker is idle *and* between files while a long job runs, so
  tagging and searching stay usable during an hour-long first index.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from photomgr.core.library import gallery
from photomgr.core.library.database import Library
from photomgr.core.library.errors import LibraryError, LibraryReadOnly
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.settings import Settings
from photomgr.core.library.vectors import VectorStore
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.describing import descriptions_enabled
from photomgr.core.ops.library_ops import LibraryOps
from photomgr.core.scanning.scanner import ScanProgress, ScanReport
from photomgr.gui.worker.results import ModelState

if TYPE_CHECKING:
    from photomgr.core.models.base import Embedder, TextEncoder
    from photomgr.core.services.model_choice import LazyEmbedder, ModelChoice

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.1  # a progress signal per file would flood the GUI's event queue
ADDED_EVERY_S = 0.25  # how often newly recorded photo ids are announced during a scan

QuickJob = Callable[["LibraryWorker"], None]
CLIP_ENV = "PHOTOMGR_CLIP_WEIGHTS"  # as photomgr.core.models.clip_weights.ENV_WEIGHTS


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
    warning = Signal(str)  # e.g. CLIP weights missing: the offline default stands in
    job_done = Signal(int)  # after every long job, whether it ran, failed or was skipped
    model_state = Signal(object)  # ModelState
    labels_changed = Signal(list)  # list[LabelSummary], after any label or decision change
    photo_set = Signal(object)  # PhotoSet: a label's photos, search results, duplicates
    label_scores = Signal(object)  # LabelScores, for the threshold slider
    photo_tags = Signal(int, list)  # photo id, list[TagRow]
    similar = Signal(int, list)  # photo id, list[Hit]
    changed = Signal(object)  # OpChanges, after every write operation
    op_done = Signal(int, object, object)  # token, the operation's value, its error (or None)
    _model_loaded = Signal(object)  # from the loading thread: the LazyEmbedder whose load ended

    def __init__(self, library_root: Path, cancel: _Cancelled,
                 quick: queue.SimpleQueue[QuickJob]) -> None:
        super().__init__()
        self._root = library_root
        self._cancel = cancel
        self._quick = quick
        self._draining = False
        self._model_tried = False  # quick jobs wait for it: they need the engine it sets up
        self._loading: LazyEmbedder | None = None  # the model loading in its own thread
        self._scanning = False
        self.library: Library | None = None
        self.ops: LibraryOps | None = None
        self.embedder: Embedder | None = None  # the model that embeds new photos
        self._text_encoder: TextEncoder | None = None  # the active model's text side, when not `embedder`
        self._describing = False  # `embedder` was loaded with its captioner (descriptions on)
        self._told_describe_problem = False  # "no descriptions because..." is said once a session
        self.state = ModelState()
        self._model_loaded.connect(self._adopt_model)  # queued: emitted by the loading thread

    # -- opening -------------------------------------------------------------------------------
    @Slot()
    def open_library(self) -> None:
        try:
            self.library = Library(self._root)
        except LibraryReadOnly:  # its message names CLI commands: say what it means here
            log.exception("cannot open library")
            self.failed.emit(f"Cannot open the library {self._root} in the window: it cannot be written "
                             "(a read-only folder or disk?), and the window needs to write to it. Make "
                             "it writable, or read it from a terminal: `photomgr --library "
                             f"{shlex.quote(str(self._root))} labels list` (also tags, search, similar).")
            return
        except Exception as exc:  # LibraryError and OS errors alike go to the user
            log.exception("cannot open library")
            self.failed.emit(f"Cannot open the library {self._root}: {exc}")
            return
        self.ops = LibraryOps(self.library)
        self.ready.emit(self.library.paths)
        self._emit_state(ModelState(state="loading", detail="Loading the model…"))

    @Slot()
    def load_model(self) -> None:
        """Start loading the library's model (once), in its own thread: this one stays free for a
        scan. The window asks for it after its first paint: importing torch holds the GIL for a
        few hundred ms at a time, which would delay that paint."""
        if self.library is None or self._model_tried or self._loading is not None:
            return
        self._start_loading()

    # -- the model ------------------------------------------------------------------------------
    def _start_loading(self) -> LazyEmbedder:
        library = self.library
        assert library is not None
        from photomgr.core.services.model_choice import LazyEmbedder, ModelChoice

        settings = Settings(library.conn)
        self._describing = descriptions_enabled(settings)
        lazy = LazyEmbedder(ModelChoice.read(settings), cache_dir=library.paths.cache_dir,
                            describe=self._describing)
        self._loading = lazy
        self._emit_state(replace(self.state, state="loading", detail="Loading the model…"))
        lazy.start_loading(on_done=lambda: self._announce_loaded(lazy))
        return lazy

    def _announce_loaded(self, lazy: LazyEmbedder) -> None:
        with contextlib.suppress(RuntimeError):  # in the loading thread; the window may be gone
            self._model_loaded.emit(lazy)

    @Slot(object)
    def _adopt_model(self, lazy: LazyEmbedder | None = None) -> bool:
        """Take over a model whose background load ended (from its signal, or between two scan
        batches); a load abandoned for another model's (use_model) is dropped. True if taken."""
        lazy = lazy or self._loading
        if lazy is None or lazy is not self._loading or not lazy.finished or self.library is None:
            return False
        self._loading = None
        self._model_tried = True
        self.embedder = None
        self._text_encoder = None
        if lazy.error is not None:
            self._report_load_failure(lazy.error)
        else:
            self.embedder = lazy.get()
            if lazy.warning:
                self.warning.emit(lazy.warning)
        self.vectors_changed()
        if self._scanning and self.embedder is not None:
            self.vectors_changed(embedding=True)
        self.drain()
        return True

    def _report_load_failure(self, exc: BaseException) -> None:
        log.error("model load failed", exc_info=exc)
        self.failed.emit(f"The model could not be loaded: {exc}. Photos are still scanned, "
                         "but not tagged or searchable.")

    def _load_model(self, choice: ModelChoice | None) -> None:
        """Load the chosen model (the library's setting when `choice` is None), here and now."""
        library = self.library
        assert library is not None
        self._model_tried = True
        self._loading = None  # a background load still running is for a model no longer wanted
        self._emit_state(replace(self.state, state="loading", detail="Loading the model…"))
        self.embedder = None
        self._text_encoder = None
        try:
            from photomgr.core.services.model_choice import ModelChoice, load_chosen

            settings = Settings(library.conn)
            choice = choice or ModelChoice.read(settings)
            self._describing = descriptions_enabled(settings)
            loaded = load_chosen(choice, cache_dir=library.paths.cache_dir, describe=self._describing)
            self.embedder = loaded.embedder
            if loaded.warning:
                self.warning.emit(loaded.warning)
        except Exception as exc:  # ImportError, ModelUnavailable, a broken install: say so
            self._report_load_failure(exc)
        self.vectors_changed()

    def encoder(self) -> TextEncoder:
        """The active model's text side, for label texts and search queries (loaded on first use):
        the loaded embedder when it made the active vectors, else only the text tower."""
        library = self.library
        active = self.state.active
        assert library is not None and active is not None
        if self.embedder is not None and self.embedder.info.model_id == active:
            return self.embedder
        if self._text_encoder is None or self._text_encoder.info.model_id != active:
            from photomgr.core.services.model_choice import ModelChoice, text_encoder_for_model_id

            self._text_encoder = text_encoder_for_model_id(
                active, ModelChoice.read(Settings(library.conn)), cache_dir=library.paths.cache_dir)
        return self._text_encoder

    def vectors_changed(self, *, embedding: bool = False) -> None:
        """Vectors or the model changed: point tags and search at the active model, tell the GUI."""
        library, ops = self.library, self.ops
        if library is None or ops is None:
            return
        from photomgr.core.services.model_choice import ModelChoice, active_model_id

        settings = Settings(library.conn)
        vectors = VectorStore(library.conn)
        active = active_model_id(settings)
        loaded = self.embedder.info.model_id if self.embedder is not None else None
        choice = ModelChoice.read(settings)
        if self.state.clip_checked:  # the full check imports open_clip: done once, on demand
            clip_ok, clip_message, checked = self.state.clip_available, self.state.clip_message, True
        else:
            clip_ok, clip_message, checked = _clip_quick_state(choice)
        if embedding:
            word = "embedding"
        elif self._loading is not None:
            word = "loading"  # the scan went on while the model loads; it is taken over then
        else:
            word = "no model" if loaded is None else ("ready" if active else "no vectors")
        state = ModelState(
            loaded=loaded, active=active, backend=choice.backend, state=word,
            detail="Loading the model…" if word == "loading" else "",
            vectors=vectors.count(active) if active else 0,
            pending=len(vectors.pending(loaded)) if loaded else 0,
            clip_available=clip_ok, clip_message=clip_message, clip_checked=checked)
        if not embedding and self._loading is None:  # while loading: once it is in (_adopt_model)
            try:
                ops.use_active_model(self.encoder)
            except LibraryError as exc:  # e.g. an active model this photomgr does not know
                self.failed.emit(str(exc))
                ops.tags.use_model(None, self.encoder)
            ops.sync()
        self._emit_state(state)
        if not embedding and self._loading is None:
            self.labels_changed.emit(ops.tags.summaries())
            self.changed.emit(OpChanges(ops.library_revision(), label_list=True, vectors=True))

    def _emit_state(self, state: ModelState) -> None:
        self.state = state
        self.model_state.emit(state)

    # -- long jobs -------------------------------------------------------------------------------
    @Slot(int, str)
    def add_folder(self, job: int, folder: str) -> None:
        try:
            path = Path(folder).expanduser().resolve()
            if not path.is_dir():
                self.failed.emit(f"Cannot add {path}: it is not a folder")
                return
            self._index(job, [path])
        finally:
            self.job_done.emit(job)

    @Slot(int)
    def rescan_all(self, job: int) -> None:
        try:
            if self.library is not None:
                roots = [Path(r) for r in PhotoStore(self.library.conn).roots()]
                if roots:
                    self._index(job, roots)
        finally:
            self.job_done.emit(job)

    @Slot(int)
    def resume_embedding(self, job: int) -> None:
        """Embed photos an earlier run left without vectors (closed or killed mid-index or mid
        model switch), scanning no folder: a drive that is not plugged in at launch must not
        have its photos marked missing because the app started. Files that cannot be found
        are skipped, not marked as errors (see embed_pending)."""
        try:
            if self.library is not None:
                self._index(job, [])
        finally:
            self.job_done.emit(job)

    @Slot(int, str, str, str)
    def use_model(self, job: int, backend: str, pretrained: str, weights: str) -> None:
        """Switch model: save the choice, load it, re-embed every photo in the background.

        The old vectors stay active (tags, search) until every photo has a new one:
        index_folders only then marks the new model active.
        """
        try:
            library = self.library
            if library is None:
                return
            from photomgr.core.services.model_choice import ModelChoice

            choice = ModelChoice(backend, pretrained or ModelChoice().clip_pretrained,
                                 Path(weights) if weights else None)
            choice.write(Settings(library.conn))
            self.state = replace(self.state, clip_checked=False)  # new weights: look again
            self._load_model(choice)
            loaded = self.embedder.info.model_id if self.embedder is not None else None
            roots = [Path(r) for r in PhotoStore(library.conn).roots()]
            if roots and loaded is not None and self.state.pending:
                self._index(job, roots)
            elif loaded is not None and loaded != self.state.active \
                    and VectorStore(library.conn).count(loaded) > 0:
                # Every photo already has this model's vectors (a switch back): use them now.
                from photomgr.core.services.model_choice import set_active_model_id

                set_active_model_id(Settings(library.conn), loaded)
                self.vectors_changed()
        except Exception as exc:
            log.exception("model switch failed")
            self.failed.emit(f"Could not switch the model: {exc}")
        finally:
            self.job_done.emit(job)

    @Slot(int)
    def apply_descriptions_setting(self, job: int) -> None:
        """The descriptions setting changed: reload the model with (or without) its captioner,
        so indexing runs the captioner only while descriptions are on."""
        try:
            library = self.library
            tried = self._model_tried or self._loading is not None  # a load under way: its setting
            if library is None or not tried or not self._cancel.start(job):
                return
            if descriptions_enabled(Settings(library.conn)) != self._describing:
                self._load_model(None)
        finally:
            self.job_done.emit(job)

    def _index(self, job: int, roots: list[Path]) -> None:
        library = self.library
        if library is None or not self._cancel.start(job):
            return
        # The model is not waited for: photos and thumbnails are recorded while it loads, and
        # the photos met before it is in are embedded after the scan (index_folders).
        loading = self._loading
        if self.embedder is None and not self._model_tried and loading is None:
            loading = self._start_loading()
        from photomgr.core.services.indexing import index_folders

        reporter = _ProgressReporter(self, PhotoStore(library.conn))
        self.scan_started.emit()
        self._scanning = True
        if self.embedder is not None:
            self.vectors_changed(embedding=True)
        try:
            result = index_folders(library, roots, embedder=self.embedder,
                                   model=loading if self.embedder is None else None,
                                   progress=reporter, cancel=self._cancel.event,
                                   between_batches=self.drain)
            report = result.scan
            if roots and self.ops is not None:  # kept across launches: offered for resuming
                self.ops.record_scan_end([str(r) for r in roots], finished=not report.cancelled)
            if not roots:  # embedding only: the report's count is the whole library's
                report.photos = PhotoStore(library.conn).count_present()
            if result.embed.failed:
                self.failed.emit(f"{result.embed.failed:,} photos could not be embedded (they are "
                                 "listed with their error; the rest are tagged and searchable)")
            if result.describe_problem and not self._told_describe_problem:
                self._told_describe_problem = True
                self.failed.emit(f"Photos get no descriptions: {result.describe_problem} (turn "
                                 "them off in the Model menu)")
        except Exception as exc:  # reported, and the worker stays usable
            log.exception("indexing failed")
            self.failed.emit(f"Indexing {', '.join(map(str, roots))} failed: {exc}")
            report = ScanReport(cancelled=True)
        self._scanning = False
        reporter.finish()
        if not self._adopt_model():  # loaded by now when the scan embedded anything
            self.vectors_changed()
        self.scan_finished.emit(report)

    def notice_other_writers(self) -> None:
        """Another process (a `photomgr` command, a second window) wrote to the library since we
        last looked: drop the caches and refresh every view, as after a change of our own. Not
        during our own scan or model load, whose writes move the revision too (their end
        refreshes everything anyway)."""
        if self.ops is None or self._scanning or self._loading is not None or not self.ops.sync():
            return
        self.vectors_changed()  # the active model, the label list and tags, every score
        self.photos_changed.emit([])  # photos another index added or marked missing

    # -- quick jobs --------------------------------------------------------------------------
    @Slot()
    def drain(self) -> None:
        """Run the queued quick jobs (from the event loop, or between files during a long job).

        Never inside another transaction: a user operation is its own transaction, so it can
        only be rolled back by its own failure, never by a failing scan batch.
        """
        if self._draining or self.library is None or not self._model_tried:
            return
        if self.library.conn.in_transaction:
            return  # mid-batch: the scan calls again between batches
        self._draining = True
        try:
            while True:
                try:
                    job = self._quick.get_nowait()
                except queue.Empty:
                    return
                try:
                    job(self)
                except Exception as exc:  # shown in the window; the worker carries on
                    log.exception("worker job failed")
                    self.failed.emit(str(exc) or type(exc).__name__)
        finally:
            self._draining = False

    def run_op(self, token: int, op: Callable[[LibraryOps], object]) -> None:
        """Run one operation (from WorkerHost.run_op) and answer with op_done; a write's
        OpChanges also go out on `changed` and refresh the label list."""
        assert self.ops is not None
        try:
            result = op(self.ops)
        except Exception as exc:  # the caller's callback decides how to show it
            log.info("operation failed: %s", exc)
            self.op_done.emit(token, None, exc)
            return
        if isinstance(result, OpResult):
            self.changed.emit(result.changes)
            if result.changes.tags:
                self.labels_changed.emit(self.ops.tags.summaries())
            self.op_done.emit(token, result.value, None)
        else:
            self.op_done.emit(token, result, None)

    @Slot()
    def close(self) -> None:
        if self.library is not None:
            self.library.close()
            self.library = None


def _clip_quick_state(choice: ModelChoice) -> tuple[bool, str, bool]:
    """(available, message, final): an explicit weights file (the library's setting or
    $PHOTOMGR_CLIP_WEIGHTS) answers at once; otherwise the answer waits for check_clip()."""
    explicit = choice.clip_weights or (Path(os.environ[CLIP_ENV]) if os.environ.get(CLIP_ENV) else None)
    if explicit is not None:
        return (*clip_state(choice), True)
    return False, "Looking for CLIP weights…", False


def clip_state(choice: ModelChoice) -> tuple[bool, str]:
    """Are CLIP's weights on this machine? The core's one answer (files only)."""
    clip = choice.clip()
    return clip.available, clip.message


class _ProgressReporter:
    """index_folders' progress callback: throttles signals, computes the rate, announces new
    ids, and runs queued quick jobs between files.

    Runs in the worker thread, between files, so using the write connection here is safe.
    """

    def __init__(self, worker: LibraryWorker, store: PhotoStore) -> None:
        self._worker = worker
        self._store = store
        self._last_id = gallery.max_photo_id(store.conn)
        self._last_progress = 0.0
        self._last_added = time.monotonic()
        self._phase = ""
        self._phase_started = time.monotonic()

    def __call__(self, p: ScanProgress) -> None:
        now = time.monotonic()
        if p.phase != self._phase:
            self._phase, self._phase_started = p.phase, now
            self._last_added = 0.0  # a new phase: what the last one recorded is shown now
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
        self._worker._adopt_model()  # the model loading alongside the scan: in use from now on
        self._worker.drain()

    def _announce(self) -> None:
        # The scanner commits every few hundred rows; readers see rows once committed, so
        # the gallery re-reads on each announcement and once more when the scan finishes.
        ids = gallery.photo_ids_after(self._store.conn, self._last_id)
        if ids:
            self._last_id = ids[-1]
            self._worker.photos_changed.emit(ids)

    def finish(self) -> None:
        self._announce()
