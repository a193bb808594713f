"""Find similar (image space, via the vector index) and free-text search (label space).

Find similar is two-stage when the index holds instance vectors (the default backend): the
FAISS index proposes candidates by the semantic image vector ("what is in it"), then each gets
a bonus for a strong instance match ("is it the same shot"):

    score = semantic cosine + INSTANCE_WEIGHT * max(0, instance cosine - INSTANCE_FLOOR)

so a crop or re-save of a photo comes before other shots of the same subject in the same place,
while candidates with an ordinary instance cosine keep their semantic order.
Candidates come from the semantic index, so a result is always semantically close: the
re-ranking only reorders a neighbourhood, it never brings in a photo of something else.

A third, optional stage settles what vectors cannot: other shots of the same person in the same
room can still outrank the crop. Given a `NearCopyCheck`, the likeliest candidates are compared
pixel by pixel (photomgr/core/search/near_copy.py) and verified crops or re-saves come first.
On Caltech dev this takes Faces_easy -> Faces twins first from 26/30 to 30/30.
"""

from __future__ import annotations

import numpy as np

from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.search.near_copy import NearCopyCheck
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

# Measured on Caltech dev (2944 photos, 64 candidates): Faces_easy crops whose Faces original
# comes first / 1-NN class accuracy (no BACKGROUND_Google; 88.9% semantic only, 8/30 twins).
# A linear blend (1-l)*sem + l*inst needs l=0.8 for 27/30 and then keeps only 71% (instance
# cosines say little about class), the gated bonus keeps neighbours that are not near-copies:
#   weight 4, floor 0.60: 27/30, 83.4%   weight 4, floor 0.66: 27/30, 86.0%
#   weight 2, floor 0.70: 26/30, 87.7%   weight 4, floor 0.80: 19/30, 88.4%
# Instance cosines here are of vectors centred on the library's mean (see vector_index.py).
INSTANCE_WEIGHT = 4.0
INSTANCE_FLOOR = 0.66
CANDIDATES_MIN = 64
CANDIDATES_PER_RESULT = 8
# Candidates checked pixel by pixel for being crops or re-saves of the photo: the best this many
# by the ranking above and by instance cosine alone (~20 photos, ~5 ms each). On Caltech dev every
# Faces twin is among the first 13 of at least one of the two lists (one is 33rd by the ranking).
VERIFY_TOP = 16


def find_similar(index: VectorIndex, photo_id: int, vector: np.ndarray, k: int,
                 copies: NearCopyCheck | None = None) -> list[tuple[int, float]]:
    """The k photos most similar to this one, as (photo id, score), best first; itself excluded.

    The score is the cosine of the image vectors; when the index re-ranks with instance vectors,
    near-copies get the bonus above, capped at 1.0 (the cap keeps the order non-increasing).
    With `copies`, candidates verified as crops or re-saves of the photo come first (see
    `promote_copies`).
    """
    if k <= 0:
        return []
    exclude = {int(photo_id)}
    own = index.instance_rows(np.array([int(photo_id)], np.int64))
    query_instance = own[0][0] if own is not None and bool(own[1][0]) else None
    if query_instance is None and copies is None:
        return index.search(vector, k, exclude=exclude)
    candidates = index.search(vector, max(CANDIDATES_MIN, CANDIDATES_PER_RESULT * k), exclude=exclude)
    ids = np.array([c[0] for c in candidates], np.int64)
    ranked, by_instance = candidates, []
    if query_instance is not None:
        cosines = instance_cosines(index, query_instance, ids)
        if cosines is not None:
            ranked = rerank(index, query_instance, candidates, len(candidates), cosines=cosines)
            by_instance = _best_by_instance(ids, cosines, VERIFY_TOP)
    if copies is not None:
        to_verify = list(dict.fromkeys([pid for pid, _ in ranked[:VERIFY_TOP]] + by_instance))
        ranked = promote_copies(ranked, copies.copies_of(int(photo_id), to_verify))
    return ranked[:k]


def instance_cosines(index: VectorIndex, query_instance: np.ndarray,
                     ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(instance cosine with the query, found mask) for these ids; None without instance vectors."""
    got = index.instance_rows(ids)
    if got is None:
        return None
    rows, found = got
    return rows @ np.asarray(query_instance, np.float32), found


def _best_by_instance(ids: np.ndarray, cosines: tuple[np.ndarray, np.ndarray], n: int) -> list[int]:
    """The n ids with the highest instance cosine (the likeliest near-copies)."""
    values, found = cosines
    order = np.argsort(-np.where(found, values, -np.inf), kind="stable")[:n]
    return [int(ids[i]) for i in order if found[i]]


def promote_copies(ranked: list[tuple[int, float]], copies: dict[int, float]) -> list[tuple[int, float]]:
    """Verified near-copies first, then the rest in their order.

    A copy's score is the larger of its own and its copy similarity, and never less than the
    best score after it, so scores stay non-increasing down the list."""
    if not copies:
        return ranked
    rest = [(pid, score) for pid, score in ranked if pid not in copies]
    promoted = sorted(((pid, max(score, copies[pid])) for pid, score in ranked if pid in copies),
                      key=lambda item: (-item[1], -copies[item[0]], item[0]))
    floor = max((score for _, score in rest), default=0.0)
    return [(pid, min(1.0, max(score, floor))) for pid, score in promoted] + rest


def rerank(index: VectorIndex, query_instance: np.ndarray, candidates: list[tuple[int, float]],
           k: int, weight: float = INSTANCE_WEIGHT, floor: float = INSTANCE_FLOOR,
           cosines: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[int, float]]:
    """The k best candidates by semantic cosine plus the near-copy bonus; a candidate without
    an instance vector keeps its semantic cosine. `cosines`: the candidates' instance_cosines,
    when the caller has them already."""
    if not candidates:
        return []
    ids = np.array([c[0] for c in candidates], np.int64)
    semantic = np.array([c[1] for c in candidates], np.float32)
    got = cosines if cosines is not None else instance_cosines(index, query_instance, ids)
    if got is None:
        return candidates[:k]
    instance, found = got
    bonus = np.where(found, weight * np.maximum(0.0, instance - floor), 0.0)
    best = top_k(ids, (semantic + bonus).astype(np.float32), k)
    return [(pid, min(1.0, score)) for pid, score in best]


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (id, score) pairs, best first, ties broken by id; O(N) selection, not a sort."""
    n = len(scores)
    if k <= 0 or n == 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    order = part[np.lexsort((ids[part], -scores[part]))]
    return [(int(ids[i]), float(scores[i])) for i in order]


def text_search(photos: PhotoMatrix, query_label_vec: np.ndarray, k: int,
                scorer: LabelScorer) -> list[tuple[int, float]]:
    """The k photos that best match a free-text query, scored like a label with no decisions,
    so the scores mean the same as tag scores (and can be compared with the tag threshold).
    Ranked on the logits: calibrated scores of strong matches can all round to 1.0."""
    label = LabelVectors(np.asarray(query_label_vec, dtype=np.float32))
    logits = scorer.logits(photos, [label])[:, 0]
    best = top_k(photos.ids, logits, k)
    return [(pid, float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))))) for pid, z in best]
