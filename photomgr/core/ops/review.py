"""Review mode's question: which photos should the user judge next to teach a label fastest?

The photos the label is least sure about: undecided photos whose score is nearest the label's
threshold (uncertainty sampling). Each answer is a confirmation or rejection, which re-scores
the label (few-shot), so the next question is asked again after every answer.
bench/eval_review.py measures it against judging photos picked at random.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from photomgr.core.ops.tagging import TagOps


def review_order(scores: npt.NDArray[np.floating], threshold: float,
                 candidates: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Rows of `scores` among `candidates`, least certain first (nearest `threshold`)."""
    rows = np.flatnonzero(candidates)
    distance = np.abs(scores[rows].astype(np.float64) - threshold)
    return rows[np.argsort(distance, kind="stable")].astype(np.int64)


def review_candidates(tags: TagOps, label_id: int, n: int = 5, skip: Collection[int] = ()) -> list[int]:
    """Up to `n` photo ids to ask about for `label_id`, first the one to ask now; photos with a
    decision for the label, and those in `skip` (skipped by the user), are never asked."""
    engine = tags.engine
    if engine is None or len(engine.matrix().ids) == 0:
        return []
    label = tags.label(label_id)
    matrix = engine.matrix()
    scores = engine.scores(label)
    candidates = np.ones(len(scores), dtype=bool)
    decided = [d.photo_id for d in tags.labels.decisions_for_label(label_id)]
    candidates[matrix.rows_of([*decided, *skip])] = False
    rows = review_order(scores, engine.threshold(label), candidates)[:n]
    return [int(i) for i in matrix.ids[rows]]
