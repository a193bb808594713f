"""Label and tag operations: the business rules of labels, decisions and their counts.

Both the CLI (`photomgr labels ...`, `tags`, `tag`) and the GUI's worker call these. Writes run
in one transaction each and return an OpResult; reads return plain values (core/ops/results.py).
Undo support: the mutating methods record what they replaced in a `Memo`, which the matching
undo call reads back (both run in the worker thread, one after the other, so no lock).

The text model is needed only where a label's text vector must be computed (adding a label,
changing its prompts): it is computed *before* the transaction opens, so a failing or slow
model never holds the write lock and never leaves a half-made label behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photomgr.core.library.labels import (
    CONFIRMED,
    REJECTED,
    Decision,
    Label,
    LabelStore,
    NoSuchLabel,
    clean_name,
)
from photomgr.core.library.transaction import DEFAULT_WAIT, WaitPolicy, write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.results import LabelScores, LabelSummary, PhotoSet, TagRow

if TYPE_CHECKING:
    from photomgr.core.models.base import TextEncoder
    from photomgr.core.services.tagging import TagEngine

DEFAULT_THRESHOLD_NO_MODEL = 0.5
COUNT_BLOCK_VALUES = 8 << 20  # photos x labels scored at once by _count_many (32 MB of float32)
COUNT_TIE = 1e-4  # far above a float32 product's rounding of a score in [0, 1]


@dataclass
class Memo:
    """What an undoable operation replaced, kept between its redo and its undo (worker thread only)."""

    done: bool = False  # False: the operation failed (or never ran), so undo has nothing to do
    label: Label | None = None
    decisions: list[Decision] = field(default_factory=list)
    before: dict[int, Decision | None] = field(default_factory=dict)  # photo id -> old decision


@dataclass(frozen=True)
class NewLabel:
    name: str
    prompts: tuple[str, ...] = ()
    threshold: float | None = None


class TagOps:
    """Owns the TagEngine for the active model (None until some photo has a vector)."""

    def __init__(self, conn: sqlite3.Connection, wait: WaitPolicy = DEFAULT_WAIT,
                 space_cache_dir: Path | None = None) -> None:
        """space_cache_dir: the library's folder for the photos' derived scoring space
        (core/tagging/space_cache.py); None computes it whenever the vectors are read."""
        self.conn = conn
        self.wait = wait
        self.space_cache_dir = space_cache_dir
        self.labels = LabelStore(conn)
        self.engine: TagEngine | None = None
        # label id -> ((label revision, vectors generation), count): exact, because a label's
        # revision moves with every change of its text, threshold or decisions.
        self._counts: dict[int, tuple[tuple[int, int], int]] = {}
        self._generation = 0  # bumped whenever the photos' vectors are re-read

    # -- the engine's life -------------------------------------------------------------------
    def use_model(self, model_id: str | None, encoder: Callable[[], TextEncoder]) -> None:
        """Score with `model_id`'s vectors from now on (None: no vectors yet, every count is 0)."""
        if model_id is None:
            self.engine = None
        elif self.engine is None or self.engine.model_id != model_id:
            from photomgr.core.services.model_choice import backend_of
            from photomgr.core.services.tagging import TagEngine
            from photomgr.core.tagging.space_cache import PhotoSpaceCache

            cache = None if self.space_cache_dir is None else PhotoSpaceCache(self.space_cache_dir)
            self.engine = TagEngine(self.conn, model_id, backend_of(model_id), encoder, cache)
        self.invalidate()

    def invalidate(self) -> None:
        """Photos or vectors changed (after indexing): re-read the vectors on next use."""
        if self.engine is not None:
            self.engine.invalidate()
        self._generation += 1

    def _write(self) -> AbstractContextManager[int]:
        return write_transaction(self.conn, self.wait)

    # -- reading -----------------------------------------------------------------------------
    def label(self, label_id: int) -> Label:
        label = self.labels.by_id(label_id)
        if label is None:
            raise NoSuchLabel(f"#{label_id}")
        return label

    def threshold(self, label: Label) -> float:
        if self.engine is not None:
            return self.engine.threshold(label)
        return label.threshold if label.threshold is not None else DEFAULT_THRESHOLD_NO_MODEL

    def carrying(self, label: Label) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the photos carrying `label`, best first: above its threshold and not
        rejected, or confirmed (with or without a vector)."""
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

    def count(self, label: Label) -> int:
        key = (label.revision, self._generation)
        cached = self._counts.get(label.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        count = len(self.carrying(label)[0])
        self._counts[label.id] = (key, count)
        return count

    def summary(self, label: Label) -> LabelSummary:
        return LabelSummary(label.id, label.name, label.prompts, self.threshold(label),
                            label.threshold is not None, self.count(label))

    def summaries(self) -> list[LabelSummary]:
        """Every label with its photo count (cached per label revision and vectors generation)."""
        labels = self.labels.all()
        self._count_many(labels)
        return [self.summary(lab) for lab in labels]

    def _count_many(self, labels: Sequence[Label]) -> None:
        """Fill the count cache of the stale labels among `labels` with one product per block of
        labels instead of one pass over the library per label (memory-bound: 107 labels took
        0.31 s one by one at 2,944 photos).

        A batched product may round a score an ulp away from the one-label product `carrying`
        uses, so a label with any score within COUNT_TIE of its threshold is counted the
        one-label way: the counts are exactly `len(carrying(label))`.
        """
        engine = self.engine
        stale = [lab for lab in labels
                 if (c := self._counts.get(lab.id)) is None or c[0] != (lab.revision, self._generation)]
        if engine is None or len(stale) < 2 or len(engine.matrix().ids) == 0:
            return
        m = engine.matrix()
        by_label: dict[int, list[Decision]] = {}
        for d in self.labels.all_decisions():
            by_label.setdefault(d.label_id, []).append(d)
        block = max(1, COUNT_BLOCK_VALUES // len(m.ids))
        for start in range(0, len(stale), block):
            part = stale[start:start + block]
            _, table = engine.score_table(part, by_label)
            for j, label in enumerate(part):
                scores = table[:, j]
                threshold = engine.threshold(label)
                if np.any(np.abs(scores - threshold) < COUNT_TIE):
                    continue  # left to count(): exact at the threshold
                decisions = by_label.get(label.id, [])
                keep = scores >= threshold
                keep[m.rows_of([d.photo_id for d in decisions if d.state == REJECTED])] = False
                confirmed = [d.photo_id for d in decisions if d.state == CONFIRMED]
                rows = m.rows_of(confirmed)
                keep[rows] = True
                count = int(keep.sum()) + len(confirmed) - len(rows)  # + confirmed without a vector
                self._counts[label.id] = ((label.revision, self._generation), count)

    def photos_for_label(self, label_id: int) -> PhotoSet:
        label = self.label(label_id)
        ids, scores = self.carrying(label)
        captions = {int(i): f"{s:.2f}" for i, s in zip(ids.tolist(), scores.tolist(), strict=True)}
        n = len(ids)
        return PhotoSet("label", label_id, ids, captions, f"{label.name}: {n:,} photo{'' if n == 1 else 's'}")

    def label_scores(self, label_id: int) -> LabelScores:
        label = self.label(label_id)
        decisions = self.labels.decisions_for_label(label.id)
        confirmed = sum(1 for d in decisions if d.state == CONFIRMED)
        engine = self.engine
        if engine is None or len(engine.matrix().ids) == 0:
            return LabelScores(label_id, np.zeros(0, np.float32), confirmed, self.threshold(label),
                               DEFAULT_THRESHOLD_NO_MODEL)
        scores = engine.scores(label)
        undecided = np.ones(len(scores), dtype=bool)
        undecided[engine.matrix().rows_of([d.photo_id for d in decisions])] = False
        rows = np.flatnonzero(undecided)
        rows = rows[np.argsort(scores[rows], kind="stable")]
        return LabelScores(label_id, scores[rows].astype(np.float32), confirmed,
                           engine.threshold(label), engine.scorer.default_threshold,
                           engine.matrix().ids[rows].astype(np.int64))

    def tags_for_photo(self, photo_id: int) -> list[TagRow]:
        if self.engine is None:
            labels = {lab.id: lab.name for lab in self.labels.all()}
            return [TagRow(d.label_id, labels.get(d.label_id, "?"), 0.0, d.source, d.state)
                    for d in self.labels.decisions_for_photo(photo_id)]
        return self.engine.tags_for_photo(photo_id)

    # -- labels ------------------------------------------------------------------------------
    def _text_vectors(self, labels: Sequence[Label]) -> list[np.ndarray] | None:
        """Text vectors for labels about to be written, computed outside any transaction."""
        if self.engine is None:
            return None  # no vectors yet: the text is embedded when the first photos are
        return [self.engine.compute_text_vector(lab) for lab in labels]

    def _store_vectors(self, labels: Sequence[Label], vectors: list[np.ndarray] | None) -> None:
        if self.engine is not None and vectors is not None:
            for label, vector in zip(labels, vectors, strict=True):
                self.labels.store_vector(label, self.engine.model_id, vector)

    def add_labels(self, new: Sequence[NewLabel]) -> OpResult[list[Label]]:
        """Add several labels in one transaction: all of them, or (on any error) none."""
        names = [clean_name(n.name) for n in new]
        if any(not n for n in names):
            raise ValueError("a label needs a name")
        folded = [n.casefold() for n in names]
        if len(set(folded)) != len(folded):
            raise ValueError("the same label name is given twice")
        drafts = [Label(0, name, n.prompts, n.threshold) for name, n in zip(names, new, strict=True)]
        vectors = self._text_vectors(drafts)
        with self._write() as revision:
            added = [self.labels.add(d.name, list(d.prompts) or None, d.threshold) for d in drafts]
            self._store_vectors(added, vectors)
        return OpResult(added, OpChanges(revision, label_list=True,
                                         labels=frozenset(lab.id for lab in added)))

    def add_label(self, name: str, prompts: list[str] | None, threshold: float | None,
                  memo: Memo) -> OpResult[Label]:
        """Add (first time) or put back (a redo after an undo: the same id, so later commands
        on the stack still find it)."""
        if memo.label is not None:
            with self._write() as revision:
                self.labels.restore(memo.label, [])
            label = self.label(memo.label.id)
        else:
            result = self.add_labels([NewLabel(name, tuple(prompts or ()), threshold)])
            label, revision = result.value[0], result.changes.revision
            memo.label = label
        memo.done = True
        return OpResult(label, OpChanges(revision, label_list=True, labels=frozenset({label.id})))

    def undo_add_label(self, memo: Memo) -> OpResult[None]:
        if not (memo.done and memo.label is not None):
            return OpResult(None)
        with self._write() as revision:
            self.labels.delete(memo.label.id)
        memo.done = False
        return OpResult(None, OpChanges(revision, label_list=True))

    def remove_label(self, label_id: int, memo: Memo | None = None) -> OpResult[Label]:
        memo = memo or Memo()
        with self._write() as revision:
            label = self.label(label_id)
            memo.label = label
            memo.decisions = self.labels.decisions_for_label(label_id)
            self.labels.delete(label.id)
        memo.done = True
        self._counts.pop(label_id, None)
        return OpResult(label, OpChanges(revision, label_list=True,
                                         photos=frozenset(d.photo_id for d in memo.decisions)))

    def undo_remove_label(self, memo: Memo) -> OpResult[None]:
        if not (memo.done and memo.label is not None):
            return OpResult(None)
        with self._write() as revision:
            self.labels.restore(memo.label, memo.decisions)
        memo.done = False
        return OpResult(None, OpChanges(revision, label_list=True, labels=frozenset({memo.label.id})))

    def rename_label(self, label_id: int, new: str) -> OpResult[Label]:
        old = self.label(label_id)
        draft = Label(old.id, clean_name(new), old.prompts, old.threshold)
        vectors = self._text_vectors([draft]) if not old.prompts else None  # the name is the text
        with self._write() as revision:
            label = self.labels.rename(old.name, new)
            self._store_vectors([label], vectors)
        return OpResult(label, OpChanges(revision, label_list=True, labels=frozenset({label_id})))

    def edit_label(self, label_id: int, *, prompts: list[str] | None = None,
                   threshold: float | None = None, clear_threshold: bool = False) -> OpResult[Label]:
        old = self.label(label_id)
        vectors = None
        if prompts is not None and tuple(prompts) != old.prompts:
            vectors = self._text_vectors([Label(old.id, old.name, tuple(prompts), old.threshold)])
        with self._write() as revision:
            label = self.labels.update(label_id, prompts=prompts, threshold=threshold,
                                       clear_threshold=clear_threshold)
            self._store_vectors([label], vectors)
        return OpResult(label, OpChanges(revision, labels=frozenset({label_id})))

    # -- decisions ---------------------------------------------------------------------------
    def decide(self, photo_ids: list[int], label_id: int, state: str | None,
               memo: Memo | None = None) -> OpResult[None]:
        """Confirm, reject (or with None forget) `label` on photos; the old decisions go in `memo`.

        Confirming a tag whose score is below the threshold is the user tagging by hand
        ("manual"). Needs the photos' vectors but never the model.
        """
        memo = memo or Memo()
        label = self.label(label_id)
        auto_yes: dict[int, bool] = {}
        if state == CONFIRMED and self.engine is not None and len(self.engine.matrix().ids):
            m = self.engine.matrix()
            scores = self.engine.scores(label)
            threshold = self.engine.threshold(label)
            rows = m.rows_of(photo_ids)
            auto_yes = {int(m.ids[r]): bool(scores[r] >= threshold) for r in rows}
        with self._write() as revision:
            before = {d.photo_id: d for d in self.labels.decisions_for_label(label_id)}
            memo.before = {pid: before.get(pid) for pid in photo_ids}
            for pid in photo_ids:
                if state is None:
                    self.labels.clear_decision(pid, label_id)
                else:
                    source = "manual" if state == CONFIRMED and not auto_yes.get(pid, False) else "auto"
                    self.labels.set_decision(pid, label_id, state, source)
        memo.done = True
        return OpResult(None, OpChanges(revision, labels=frozenset({label_id}),
                                        photos=frozenset(photo_ids)))

    def undo_decide(self, label_id: int, memo: Memo) -> OpResult[None]:
        if not memo.done:
            return OpResult(None)
        with self._write() as revision:
            for pid, old in memo.before.items():
                if old is None:
                    self.labels.clear_decision(pid, label_id)
                else:
                    self.labels.set_decision(pid, label_id, old.state, old.source)
        memo.done = False
        return OpResult(None, OpChanges(revision, labels=frozenset({label_id}),
                                        photos=frozenset(memo.before)))
