"""WorkerHost: the GUI's only handle on the background worker. Every method returns at once.

Long jobs (indexing, a model switch) go to the worker as queued signals; quick jobs (labels,
tags, searches) go on a queue the worker drains between files, so they are answered even
while a long job runs. Answers come back as the worker's typed signals, relayed by signals of
the same name here: this object lives in the GUI thread, so connect to these, not to the
worker's, from GUI code and from tests.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QThread, Signal, Slot

from photomgr.core.library.paths import LibraryPaths
from photomgr.core.ops.searching import DUPLICATE_THRESHOLD
from photomgr.core.ops.tagging import Memo
from photomgr.gui.worker import jobs
from photomgr.gui.worker.library_worker import LibraryWorker, QuickJob, _Cancelled
from photomgr.gui.worker.results import ModelState

if TYPE_CHECKING:
    from photomgr.core.ops.library_ops import LibraryOps

log = logging.getLogger(__name__)
T = TypeVar("T")
OnDone = Callable[[Any], None]
OnError = Callable[[Exception], None]


def _run_op(w: LibraryWorker, token: int, op: Callable[[LibraryOps], object]) -> None:
    w.run_op(token, op)

RELAYED = ("ready", "progress", "photos_changed", "scan_started", "scan_finished", "failed", "warning",
           "job_done", "model_state", "labels_changed", "photo_set", "label_scores", "photo_tags",
           "similar", "changed")


class WorkerHost(QObject):
    ready = Signal(object)
    progress = Signal(int, int, float, float, str)
    photos_changed = Signal(list)
    scan_started = Signal()
    scan_finished = Signal(object)
    failed = Signal(str)
    warning = Signal(str)
    job_done = Signal(int)
    model_state = Signal(object)
    labels_changed = Signal(list)
    photo_set = Signal(object)
    label_scores = Signal(object)
    photo_tags = Signal(int, list)
    similar = Signal(int, list)
    changed = Signal(object)  # OpChanges: every view decides from it what to redraw

    _open = Signal()
    _add_folder = Signal(int, str)
    _rescan_all = Signal(int)
    _resume_embedding = Signal(int)
    _use_model = Signal(int, str, str, str)
    _load_model = Signal()
    _apply_descriptions = Signal(int)
    _wake = Signal()
    _close = Signal()

    def __init__(self, library_root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = _Cancelled()
        self._quick: queue.SimpleQueue[QuickJob] = queue.SimpleQueue()
        self._thread = QThread()
        self._thread.setObjectName("photomgr-worker")
        self.worker = LibraryWorker(library_root, self._cancel, self._quick)
        self.worker.moveToThread(self._thread)
        # Cross-thread connections: queued, so the slots run in the worker thread, in order.
        self._open.connect(self.worker.open_library)
        self._add_folder.connect(self.worker.add_folder)
        self._rescan_all.connect(self.worker.rescan_all)
        self._resume_embedding.connect(self.worker.resume_embedding)
        self._use_model.connect(self.worker.use_model)
        self._load_model.connect(self.worker.load_model)
        self._apply_descriptions.connect(self.worker.apply_descriptions_setting)
        self._wake.connect(self.worker.drain)
        self._close.connect(self.worker.close)
        self.paths: LibraryPaths | None = None
        self.model = ModelState()
        self._model_asked = False
        self._jobs: set[int] = set()
        self.ready.connect(self._on_ready)
        self.job_done.connect(self._on_job_done)
        self.model_state.connect(self._on_model_state)
        for name in RELAYED:
            getattr(self.worker, name).connect(getattr(self, name))  # queued: receiver is here
        self.worker.op_done.connect(self._on_op_done)
        self._callbacks: dict[int, tuple[OnDone | None, OnError | None]] = {}
        self._next_token = 0

    def start(self) -> None:
        self._thread.start()
        self._open.emit()

    @Slot(object)
    def _on_ready(self, paths: LibraryPaths) -> None:
        self.paths = paths

    @Slot(int)
    def _on_job_done(self, job: int) -> None:
        self._jobs.discard(job)

    @Slot(object)
    def _on_model_state(self, state: ModelState) -> None:
        self.model = state

    @property
    def busy(self) -> bool:
        """A long job was asked for and has not finished (it may still be queued)."""
        return bool(self._jobs)

    def load_model(self) -> None:
        """Load the model in the worker (once; the window asks after its first paint)."""
        if not self._model_asked:
            self._model_asked = True
            self._load_model.emit()

    # -- long jobs ----------------------------------------------------------------------------
    def _long(self) -> int:
        job = self._cancel.next_job()
        self._jobs.add(job)
        return job

    def add_folder(self, folder: str | Path) -> None:
        self._add_folder.emit(self._long(), str(folder))

    def rescan_all(self) -> None:
        self._rescan_all.emit(self._long())

    def resume_embedding(self) -> None:
        """Embed the photos that have no vector for the loaded model yet, without a scan."""
        self._resume_embedding.emit(self._long())

    def use_model(self, backend: str, pretrained: str = "", weights: str | Path | None = None) -> None:
        """Switch to `backend` ("default" | "clip"); photos are re-embedded in the background."""
        self._use_model.emit(self._long(), backend, pretrained, str(weights) if weights else "")

    def set_descriptions(self, on: bool) -> None:
        """Turn the model's descriptions on or off for indexing; the model is reloaded with (or
        without) its captioner once the running job, if any, is done."""
        self.run_op(lambda ops: ops.descriptions.set_enabled(on))
        self._apply_descriptions.emit(self._long())

    def cancel(self) -> None:
        """Thread-safe and immediate: the running scan stops after the files in flight."""
        self._cancel.cancel()

    # -- operations -----------------------------------------------------------------------------
    def run_op(self, op: Callable[[LibraryOps], T], on_done: Callable[[T], None] | None = None,
               on_error: Callable[[Exception], None] | None = None) -> None:
        """Run any core operation in the worker thread; `on_done(value)` runs here afterwards.

        The one place a new operation needs in the GUI: write it in photomgr.core.ops, call it
        here. A write's OpChanges also arrive on `changed`; an error goes to `on_error`, or to
        the window's banner (`failed`) when there is none.
        """
        self._next_token += 1
        token = self._next_token
        self._callbacks[token] = (on_done, on_error)
        self.submit(partial(_run_op, token=token, op=op))

    @Slot(int, object, object)
    def _on_op_done(self, token: int, value: object, error: object) -> None:
        on_done, on_error = self._callbacks.pop(token, (None, None))
        if isinstance(error, Exception):
            if on_error is not None:
                on_error(error)
            else:
                self.failed.emit(str(error) or type(error).__name__)
        elif on_done is not None:
            on_done(value)

    # -- quick jobs ---------------------------------------------------------------------------
    def submit(self, job: QuickJob) -> None:
        self._quick.put(job)
        self._wake.emit()  # an idle worker drains at once; a busy one between two files

    def check_clip(self) -> None:
        """Ask whether CLIP's weights are on this machine (answered by a model_state)."""
        if not self.model.clip_checked:
            self.submit(jobs.check_clip)

    def refresh_labels(self) -> None:
        self.submit(jobs.refresh_labels)

    def notice_other_writers(self) -> None:
        """Refresh every view if another process changed the library (one indexed read if not)."""
        self.submit(jobs.notice_other_writers)

    def label_photos(self, label_id: int) -> None:
        self.submit(partial(jobs.label_photos, label_id=label_id))

    def request_scores(self, label_id: int) -> None:
        self.submit(partial(jobs.label_scores, label_id=label_id))

    def request_tags(self, photo_id: int) -> None:
        self.submit(partial(jobs.photo_tags, photo_id=photo_id))

    def find_similar(self, photo_id: int, k: int = 12) -> None:
        self.submit(partial(jobs.find_similar, photo_id=photo_id, k=k))

    def search(self, text: str) -> None:
        self.submit(partial(jobs.text_search, text=text))

    def duplicates(self, threshold: float = DUPLICATE_THRESHOLD) -> None:
        self.submit(partial(jobs.duplicates, threshold=threshold))

    # Label and tag edits: core operations run through run_op (labels/undo.py pairs them up).
    def add_label(self, name: str, prompts: list[str] | None, threshold: float | None, memo: Memo) -> None:
        self.run_op(lambda ops: ops.tags.add_label(name, prompts, threshold, memo))

    def undo_add_label(self, memo: Memo) -> None:
        self.run_op(lambda ops: ops.tags.undo_add_label(memo))

    def remove_label(self, label_id: int, memo: Memo) -> None:
        self.run_op(lambda ops: ops.tags.remove_label(label_id, memo))

    def undo_remove_label(self, memo: Memo) -> None:
        self.run_op(lambda ops: ops.tags.undo_remove_label(memo))

    def rename_label(self, label_id: int, new: str) -> None:
        self.run_op(lambda ops: ops.tags.rename_label(label_id, new))

    def edit_label(self, label_id: int, *, prompts: list[str] | None = None, threshold: float | None = None,
                   clear_threshold: bool = False) -> None:
        self.run_op(lambda ops: ops.tags.edit_label(label_id, prompts=prompts, threshold=threshold,
                                                    clear_threshold=clear_threshold))

    def decide(self, photo_ids: list[int], label_id: int, state: str | None, memo: Memo) -> None:
        ids = list(photo_ids)
        self.run_op(lambda ops: ops.tags.decide(ids, label_id, state, memo))

    def undo_decide(self, label_id: int, memo: Memo) -> None:
        self.run_op(lambda ops: ops.tags.undo_decide(label_id, memo))

    # -- the end ------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel, close the library in its thread, and stop the thread (only at exit)."""
        if not self._thread.isRunning():
            return
        self._cancel.cancel()
        while True:  # queued quick jobs are dropped: their answers would have no one to go to
            try:
                self._quick.get_nowait()
            except queue.Empty:
                break
        self._close.emit()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            log.error("the worker did not stop within %d ms", timeout_ms)
