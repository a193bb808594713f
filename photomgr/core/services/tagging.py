"""Tags from labels: every label scored on every photo from the stored vectors.

No image file is opened and the image model does not run: adding, renaming or editing a label
costs one text embedding plus a matrix product over the library. The user's decisions
(confirm / reject / manual tag) override scores and sharpen the label (few-shot prototypes).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from photomgr.core.library.errors import LibraryError
from photomgr.core.library.labels import CONFIRMED, REJECTED, Decision, Label, LabelStore
from photomgr.core.library.migrations import current_version
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models.spaces import photo_label_space
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix
from photomgr.core.tagging.space_cache import PhotoSpaceCache

if TYPE_CHECKING:  # the model layer imports torch: the GUI thread uses TagInfo without it
    from photomgr.core.models.base import TextEncoder

class UnknownModel(LibraryError):
    """The library's active model id names no backend this photomgr has."""


TAGGED = "tagged"  # auto tag at or above the label's threshold, not reviewed
UNTAGGED = "untagged"  # auto score below the threshold


@dataclass(frozen=True)
class TagInfo:
    label_id: int
    label: str
    score: float
    source: str  # "auto" | "manual"
    state: str  # TAGGED | UNTAGGED | CONFIRMED | REJECTED

    @property
    def applies(self) -> bool:
        """Does the photo carry this tag (what a user would see on it)?"""
        return self.state in (TAGGED, CONFIRMED)

    def as_json(self) -> dict[str, object]:
        return {"label": self.label, "score": round(self.score, 4), "source": self.source,
                "state": self.state}


class TagEngine:
    """Scores labels for one model's vectors.

    `encoder` is called only when a label's text vector is not cached yet, so listing tags or
    deciding one never loads a model; adding or editing a label loads the text side once.
    """

    def __init__(self, conn: sqlite3.Connection, model_id: str, backend: str,
                 encoder: Callable[[], TextEncoder], space_cache: PhotoSpaceCache | None = None) -> None:
        """space_cache: where the photos' derived scoring space is kept between processes (the
        library's cache folder); None computes it on each load."""
        self.conn = conn
        self.space_cache = space_cache
        self.labels = LabelStore(conn)
        self.vectors = VectorStore(conn)
        self.model_id = model_id
        try:
            self.scorer = LabelScorer(backend)
        except ValueError as exc:  # a library written by another photomgr, or edited by hand
            raise UnknownModel(
                f"this library's photos were embedded by {model_id!r}, a model this photomgr does "
                "not know; run `photomgr model use default` (or `clip`), then `photomgr index` to "
                "re-embed. Labels and decisions are kept") from exc
        self._encoder_factory = encoder
        self._encoder: TextEncoder | None = None
        self._matrix: PhotoMatrix | None = None

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = self._encoder_factory()
            if self._encoder.info.model_id != self.model_id:
                raise RuntimeError(f"text encoder {self._encoder.info.model_id} does not match "
                                   f"the vectors' model {self.model_id}")
        return self._encoder

    # -- the library's vectors, held in memory ------------------------------------------------
    def matrix(self) -> PhotoMatrix:
        if self._matrix is None:
            m = self.vectors.matrix(self.model_id, instances=False)
            # the scoring space comes from the stored columns (the default model adds its heads')
            if self.space_cache is not None and m.rowids is not None:
                space = self.space_cache.space(self.model_id, current_version(self.conn), m.rowids,
                                               m.image, m.label)
            else:
                space = photo_label_space(self.model_id, m.image, m.label)
            self._matrix = PhotoMatrix(m.ids, m.image, space)
        return self._matrix

    def invalidate(self) -> None:
        """Call when photos or vectors changed (after indexing)."""
        self._matrix = None

    def _rows(self, photo_ids: list[int]) -> np.ndarray:
        return self.matrix().rows_of(photo_ids)

    # -- labels -------------------------------------------------------------------------------
    def compute_text_vector(self, label: Label) -> np.ndarray:
        """The label's text vector (cached, or from the text model), without storing it."""
        cached = self.labels.cached_vector(label, self.model_id) if label.id else None
        if cached is not None:
            return cached
        return np.asarray(self.encoder.embed_label(label.texts), dtype=np.float32)

    def text_vector(self, label: Label) -> np.ndarray:
        """The label's text vector; a newly computed one is cached in the library.

        Operations compute vectors before their transaction (core/ops/tagging.py), so this
        only computes when a label's cache is cold for this model (e.g. after a model switch).
        """
        cached = self.labels.cached_vector(label, self.model_id)
        if cached is not None:
            return cached
        vector = self.compute_text_vector(label)
        # A read-only library cannot cache it: the vector serves this process and is recomputed.
        with contextlib.suppress(sqlite3.OperationalError):
            self.labels.store_vector(label, self.model_id, vector)
        return vector

    def label_vectors(self, label: Label, decisions: list[Decision] | None = None) -> LabelVectors:
        if decisions is None:
            decisions = self.labels.decisions_for_label(label.id)
        image = self.matrix().image
        pos = self._rows([d.photo_id for d in decisions if d.state == CONFIRMED])
        neg = self._rows([d.photo_id for d in decisions if d.state == REJECTED])
        return LabelVectors(self.text_vector(label), image[pos], image[neg])

    def threshold(self, label: Label) -> float:
        return label.threshold if label.threshold is not None else self.scorer.default_threshold

    def scores(self, label: Label) -> np.ndarray:
        """(N,) calibrated scores of one label over matrix().ids."""
        return self.scorer.score(self.matrix(), self.label_vectors(label))

    def score_table(self, labels: list[Label] | None = None,
                    decisions: dict[int, list[Decision]] | None = None) -> tuple[list[Label], np.ndarray]:
        """(labels, (N, len(labels)) scores); `decisions` (label id -> its decisions, every
        label's) saves reading them again when the caller has them."""
        labels = self.labels.all() if labels is None else labels
        if not labels or len(self.matrix().ids) == 0:
            return labels, np.zeros((len(self.matrix().ids), len(labels)), np.float32)
        by_label = decisions
        if by_label is None:
            by_label = {}
            for d in self.labels.all_decisions():
                by_label.setdefault(d.label_id, []).append(d)
        vecs = [self.label_vectors(lab, by_label.get(lab.id, [])) for lab in labels]
        return labels, self.scorer.score_all(self.matrix(), vecs)

    # -- tags -------------------------------------------------------------------------------------
    def _tag(self, label: Label, score: float, decision: Decision | None) -> TagInfo:
        if decision is not None:
            return TagInfo(label.id, label.name, score, decision.source, decision.state)
        state = TAGGED if score >= self.threshold(label) else UNTAGGED
        return TagInfo(label.id, label.name, score, "auto", state)

    def tags_for_photo(self, photo_id: int) -> list[TagInfo]:
        """Every label with its score on this photo, best first."""
        labels = self.labels.all()
        decided = {d.label_id: d for d in self.labels.decisions_for_photo(photo_id)}
        rows = self._rows([photo_id])
        if len(rows) and labels:
            m = self.matrix()
            one = PhotoMatrix(m.ids[rows], m.image[rows], None if m.label is None else m.label[rows])
            by_label: dict[int, list[Decision]] = {}
            for d in self.labels.all_decisions():
                if d.photo_id != photo_id:  # the score is the label's opinion of this photo as
                    # taught by the *other* photos: a photo's own rejection would push its score to
                    # ~0 and a confirmation to ~1, which says nothing the state does not say already
                    by_label.setdefault(d.label_id, []).append(d)
            vecs = [self.label_vectors(lab, by_label.get(lab.id, [])) for lab in labels]
            scores = self.scorer.score_all(one, vecs)[0]
        else:
            scores = np.zeros(len(labels), np.float32)
        tags = [self._tag(lab, float(s), decided.get(lab.id)) for lab, s in zip(labels, scores, strict=True)]
        return sorted(tags, key=lambda t: -t.score)

    def all_tags(self) -> list[tuple[int, list[TagInfo]]]:
        labels, table = self.score_table()
        decided: dict[tuple[int, int], Decision] = {
            (d.photo_id, d.label_id): d for d in self.labels.all_decisions()}
        out = []
        for row, pid in enumerate(self.matrix().ids.tolist()):
            tags = [self._tag(lab, float(table[row, j]), decided.get((pid, lab.id)))
                    for j, lab in enumerate(labels)]
            out.append((pid, sorted(tags, key=lambda t: -t.score)))
        return out

    def photos_with(self, label: Label) -> np.ndarray:
        """Ids of photos carrying this label: above threshold and not rejected, or confirmed."""
        m = self.matrix()
        scores = self.scores(label)
        keep = scores >= self.threshold(label)
        decisions = self.labels.decisions_for_label(label.id)
        rejected = self._rows([d.photo_id for d in decisions if d.state == REJECTED])
        keep[rejected] = False
        tagged = set(m.ids[keep].tolist())
        tagged.update(d.photo_id for d in decisions if d.state == CONFIRMED)
        return np.array(sorted(tagged), dtype=np.int64)
