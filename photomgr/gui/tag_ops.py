"""Label and tag operations as the worker runs them: Qt-free, on the worker's write connection.

Each method does what the matching CLI command does (photomgr/cli/labels_cmd.py, tags_cmd.py)
and returns plain values (photomgr.gui.results) for the window. Undo support: the mutating
methods record what they replaced in a `Memo`, which the matching undo call reads back. Both
run in the worker thread, one after the other, so the memo needs no lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from photomgr.core.library.labels import CONFIRMED, REJECTED, Decision, Label, LabelStore, NoSuchLabel
from photomgr.gui.results import LabelScores, LabelSummary, PhotoSet, TagRow

if TYPE_CHECKING:
    from photomgr.core.models.base import Embedder
    from photomgr.core.services.tagging import TagEngine


@dataclass
class Memo:
    """What an undoable operation replaced, kept between its redo and its undo (worker thread only)."""

    done: bool = False  # False: the operation failed (or never ran), so undo has nothing to do
    label: Label | None = None
    decisions: list[Decision] = field(default_factory=list)
    before: dict[int, Decision | None] = field(default_factory=dict)  # photo id -> old decision


class TagOps:
    """Owns the TagEngine for the active model (None until some photo has a vector)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.labels = LabelStore(conn)
        self.engine: TagEngine | None = None
        self._counts: dict[int, tuple[tuple[object, ...], int]] = {}  # label id -> (key, count)

    # -- the engine's life -------------------------------------------------------------------
    def use_model(self, model_id: str | None, encoder: Callable[[], Embedder]) -> None:
        """Score with `model_id`'s vectors from now on (None: no vectors yet, every count is 0)."""
        if model_id is None:
            self.engine = None
        elif self.engine is None or self.engine.model_id != model_id:
            from photomgr.core.services.model_choice import backend_of
            from photomgr.core.services.tagging import TagEngine

            self.engine = TagEngine(self.conn, model_id, backend_of(model_id), encoder)
        self.invalidate()

    def invalidate(self) -> None:
        """Photos or vectors changed (after indexing): re-read the vectors on next use."""
        if self.engine is not None:
            self.engine.invalidate()
        self._counts.clear()

    # -- reading -----------------------------------------------------------------------------
    def _label(self, label_id: int) -> Label:
        label = self.labels.by_id(label_id)
        if label is None:
            raise NoSuchLabel(f"#{label_id}")
        return label

    def threshold(self, label: Label) -> float:
        if self.engine is not None:
            return self.engine.threshold(label)
        return label.threshold if label.threshold is not None else 0.5

    def _carrying(self, label: Label) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the photos carrying `label`, best first: the rule of photos_with()."""
        engine = self.engine
        decisions = self.labels.decisions_for_label(label.id)
        confirmed = [d.photo_id for d in decisions if d.state == CONFIRMED]
        if engine is None or len(engine.matrix().ids) == 0:
            ids = np.asarray(sorted(confirmed), dtype=np.int64)
            return ids, np.zeros(len(ids), np.float32)
        m = engine.matrix()
        scores = engine.scores(label)
        keep = scores >= engine.threshold(label)
        keep[m.rows_of([d.photo_id for d in decisions if d.state == REJECTED])] = False
        keep[m.rows_of(confirmed)] = True
        rows = np.flatnonzero(keep)
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        ids, out = m.ids[rows], scores[rows]
        extra = sorted(set(confirmed) - set(ids.tolist()))  # confirmed photos without a vector
        if extra:
            ids = np.concatenate([ids, np.asarray(extra, dtype=np.int64)])
            out = np.concatenate([out, np.zeros(len(extra), np.float32)])
        return ids, out

    def _count(self, label: Label) -> int:
        # The decisions' signature: which photos, which confirmed (decided_at has 1 s resolution).
        signature = self.conn.execute(
            "SELECT COUNT(*), TOTAL(photo_id), TOTAL(state = 'confirmed'),"
            " TOTAL(photo_id * (state = 'confirmed')) FROM tag_decisions WHERE label_id = ?",
            (label.id,)).fetchone()
        key = (label.text_key, label.threshold, tuple(signature))
        cached = self._counts.get(label.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        count = len(self._carrying(label)[0])
        self._counts[label.id] = (key, count)
        return count

    def summaries(self) -> list[LabelSummary]:
        """Every label with its photo count (counts are cached until the label or its decisions change)."""
        return [LabelSummary(lab.id, lab.name, lab.prompts, self.threshold(lab), lab.threshold is not None,
                             self._count(lab)) for lab in self.labels.all()]

    def photos_for_label(self, label_id: int) -> PhotoSet:
        label = self._label(label_id)
        ids, scores = self._carrying(label)
        captions = {int(i): f"{s:.2f}" for i, s in zip(ids.tolist(), scores.tolist(), strict=True)}
        return PhotoSet("label", label_id, ids, captions, f"{label.name}: {len(ids):,} photos")

    def label_scores(self, label_id: int) -> LabelScores:
        label = self._label(label_id)
        decisions = self.labels.decisions_for_label(label.id)
        confirmed = sum(1 for d in decisions if d.state == CONFIRMED)
        engine = self.engine
        if engine is None or len(engine.matrix().ids) == 0:
            return LabelScores(label_id, np.zeros(0, np.float32), confirmed, self.threshold(label), 0.5)
        scores = engine.scores(label)
        undecided = np.ones(len(scores), dtype=bool)
        undecided[engine.matrix().rows_of([d.photo_id for d in decisions])] = False
        return LabelScores(label_id, np.sort(scores[undecided]).astype(np.float32), confirmed,
                           engine.threshold(label), engine.scorer.default_threshold)

    def tags_for_photo(self, photo_id: int) -> list[TagRow]:
        if self.engine is None:
            labels = {lab.id: lab.name for lab in self.labels.all()}
            return [TagRow(d.label_id, labels.get(d.label_id, "?"), 0.0, d.source, d.state)
                    for d in self.labels.decisions_for_photo(photo_id)]
        return [TagRow(t.label_id, t.label, t.score, t.source, t.state)
                for t in self.engine.tags_for_photo(photo_id)]

    # -- labels ------------------------------------------------------------------------------
    def add_label(self, name: str, prompts: list[str] | None, threshold: float | None, memo: Memo) -> Label:
        """Add (first time) or put back (a redo after an undo: the same id, so later commands
        on the stack still find it)."""
        if memo.label is not None:
            self.labels.restore(memo.label, [])
            label = memo.label
        else:
            label = self.labels.add(name, prompts, threshold)
            memo.label = label
        memo.done = True
        return label

    def undo_add_label(self, memo: Memo) -> None:
        if memo.done and memo.label is not None:
            self.conn.execute("DELETE FROM labels WHERE id = ?", (memo.label.id,))
            memo.done = False

    def remove_label(self, label_id: int, memo: Memo) -> Label:
        label = self._label(label_id)
        memo.label = label
        memo.decisions = self.labels.decisions_for_label(label_id)
        self.labels.remove(label.name)
        memo.done = True
        self._counts.pop(label_id, None)
        return label

    def undo_remove_label(self, memo: Memo) -> None:
        if memo.done and memo.label is not None:
            self.labels.restore(memo.label, memo.decisions)
            memo.done = False

    def rename_label(self, label_id: int, new: str) -> Label:
        return self.labels.rename(self._label(label_id).name, new)

    def edit_label(self, label_id: int, *, prompts: list[str] | None = None,
                   threshold: float | None = None, clear_threshold: bool = False) -> Label:
        return self.labels.update(label_id, prompts=prompts, threshold=threshold,
                                  clear_threshold=clear_threshold)

    # -- decisions ---------------------------------------------------------------------------
    def decide(self, photo_ids: list[int], label_id: int, state: str | None, memo: Memo) -> None:
        """Confirm, reject (or with None forget) `label` on photos; the old decisions go in `memo`.

        Confirming a tag whose score is below the threshold is the user tagging by hand
        ("manual"), as in `photomgr tag --confirm`.
        """
        label = self._label(label_id)
        before = {d.photo_id: d for d in self.labels.decisions_for_label(label_id)}
        auto_yes: dict[int, bool] = {}
        if state == CONFIRMED and self.engine is not None and len(self.engine.matrix().ids):
            m = self.engine.matrix()
            scores = self.engine.scores(label)
            threshold = self.engine.threshold(label)
            rows = m.rows_of(photo_ids)
            auto_yes = {int(m.ids[r]): bool(scores[r] >= threshold) for r in rows}
        memo.before = {pid: before.get(pid) for pid in photo_ids}
        for pid in photo_ids:
            if state is None:
                self.labels.clear_decision(pid, label_id)
            else:
                source = "manual" if state == CONFIRMED and not auto_yes.get(pid, False) else "auto"
                self.labels.set_decision(pid, label_id, state, source)
        memo.done = True

    def undo_decide(self, label_id: int, memo: Memo) -> None:
        if not memo.done:
            return
        for pid, old in memo.before.items():
            if old is None:
                self.labels.clear_decision(pid, label_id)
            else:
                self.labels.set_decision(pid, label_id, old.state, old.source)
        memo.done = False
