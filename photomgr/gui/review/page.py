"""The review page: one photo at a time, "Does it show <label>?", Y / N / S, and on to the next.

The photos come from core.ops.review (least certain first), asked again after every answer
because each answer re-scores the label. Answers are ordinary undoable decisions (Ctrl+Z).
Photos are decoded like the viewer's (the same loader), the next one ahead of time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photomgr.core.library import gallery as queries
from photomgr.core.ops.review import review_candidates
from photomgr.gui.labels.undo import LabelActions
from photomgr.gui.text import plural
from photomgr.gui.viewer.canvas import ImageCanvas
from photomgr.gui.viewer.loader import SCREEN, ViewerLoader, ViewImage
from photomgr.gui.worker.host import WorkerHost
from photomgr.gui.worker.query_runner import QueryRunner
from photomgr.gui.worker.results import CONFIRMED, REJECTED

BATCH = 4  # candidates asked for at a time: the one to show and a few to decode ahead


class ReviewPage(QWidget):
    closed = Signal()

    def __init__(self, host: WorkerHost, reader: QueryRunner, actions: LabelActions,
                 loader: ViewerLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.reader = reader
        self.label_actions = actions
        self.loader = loader
        self.label_id: int | None = None
        self.label_name = ""
        self.photo_id: int | None = None
        self.queue: list[int] = []
        self.paths: dict[int, str] = {}
        self.seen: set[int] = set()  # answered or skipped in this review
        self.answered = 0
        self._generation = 0
        loader.loaded.connect(self._on_loaded)

        self.question = QLabel()
        font = self.question.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.question.setFont(font)
        self.progress = QLabel()
        self.yes = QPushButton("Yes (Y)")
        self.no = QPushButton("No (N)")
        self.skip = QPushButton("Skip (S)")
        self.done = QPushButton("Done (Esc)")
        self.yes.clicked.connect(lambda: self.answer(CONFIRMED))
        self.no.clicked.connect(lambda: self.answer(REJECTED))
        self.skip.clicked.connect(lambda: self.answer(None))
        self.done.clicked.connect(self.closed.emit)
        bar = QHBoxLayout()
        bar.addWidget(self.question, 1)
        bar.addWidget(self.progress)
        for button in (self.yes, self.no, self.skip, self.done):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys go to the page
            bar.addWidget(button)
        self.canvas = ImageCanvas()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

    # -- flow ----------------------------------------------------------------------------------
    def start(self, label_id: int, name: str) -> None:
        self._generation += 1
        self.label_id, self.label_name = label_id, name
        self.photo_id = None
        self.queue, self.seen, self.answered = [], set(), 0
        self.question.setText(f"Does this photo show <b>{name}</b>?")
        self.canvas.set_image(None, message="Finding the photos this label is least sure about…")
        self._update_progress()
        self._ask()
        self.canvas.setFocus()

    def _ask(self) -> None:
        """Ask the worker for the next candidates (after any answer queued before: FIFO)."""
        label_id, skip, generation = self.label_id, set(self.seen), self._generation
        if label_id is None:
            return
        shown = {self.photo_id} if self.photo_id is not None else set()
        self.host.run_op(lambda ops: review_candidates(ops.tags, label_id, BATCH, skip | shown),
                         lambda ids: self._on_candidates(generation, ids))

    def _on_candidates(self, generation: int, ids: list[int]) -> None:
        if generation != self._generation:
            return
        self.queue = [i for i in ids if i not in self.seen and i != self.photo_id]
        self.reader.submit(lambda conn: queries.paths_and_hashes(conn, ids),
                           lambda found: self._on_paths(generation, found))

    def _on_paths(self, generation: int, found: dict[int, tuple[str, str | None]]) -> None:
        if generation != self._generation:
            return
        self.paths.update({pid: path for pid, (path, _hash) in found.items()})
        if self.photo_id is None:
            self._next()
        self._prefetch()

    def _next(self) -> None:
        while self.queue and self.queue[0] not in self.paths:
            self.queue.pop(0)
        if not self.queue:
            self.photo_id = None
            self.canvas.set_image(None, message=f"No more photos to ask about “{self.label_name}”.")
            return
        self.photo_id = self.queue.pop(0)
        cached = self.loader.cached(self.photo_id, SCREEN)
        if cached is not None:
            self.canvas.set_image(cached.image, cached.full_size)
        else:
            self.canvas.set_image(None, message="Loading…")
        self._prefetch()

    def _prefetch(self) -> None:
        ids = ([self.photo_id] if self.photo_id is not None else []) + self.queue[:2]
        self.loader.want([(pid, SCREEN, self.paths[pid]) for pid in ids if pid in self.paths])

    def answer(self, state: str | None) -> None:
        """Y (CONFIRMED), N (REJECTED) or skip (None) for the photo shown, then the next one."""
        photo_id, label_id = self.photo_id, self.label_id
        if photo_id is None or label_id is None:
            return
        self.seen.add(photo_id)
        if state is not None:
            self.label_actions.decide([photo_id], label_id, self.label_name, state)
            self.answered += 1
        self._update_progress()
        self.photo_id = None
        self._next()
        self._ask()  # the label was re-scored: who is least certain now?

    def _update_progress(self) -> None:
        self.progress.setText(f"{plural(self.answered, 'answer')}")

    @Slot(int, str, object, str)
    def _on_loaded(self, photo_id: int, kind: str, result: ViewImage | None, error: str) -> None:
        if photo_id != self.photo_id or kind != SCREEN:
            return
        if result is None:
            self.canvas.set_image(None, message=f"Could not show this photo: {error} (S skips it)")
        else:
            self.canvas.set_image(result.image, result.full_size)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Y:
            self.answer(CONFIRMED)
        elif key == Qt.Key.Key_N:
            self.answer(REJECTED)
        elif key in (Qt.Key.Key_S, Qt.Key.Key_Right):
            self.answer(None)
        elif key == Qt.Key.Key_Escape:
            self.closed.emit()
        else:
            super().keyPressEvent(event)
