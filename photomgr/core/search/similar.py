"""Find similar (image space, via the vector index) and free-text search (label space).

Find similar is two-stage when the index holds instance vectors (the default backend): the
FAISS index proposes candidates by the semantic image vector ("what is in it"), then each gets
a bonus for a strong instance match ("is it the same shot"):

    rank key = semantic cosine + INSTANCE_WEIGHT * max(0, instance cosine - INSTANCE_FLOOR)

so a crop or re-save of a photo comes before other shots of the same subject in the same place,
while candidates with an ordinary instance cosine keep their semantic order.
Candidates come from the semantic index, so a result is always semantically close: the
re-ranking only reorders a neighbourhood, it never brings in a photo of something else.

How many candidates: a crop's semantic rank grows with the library (more photos of the same
kind crowd in before it), so the pool is a fraction of the library with a floor and a ceiling
(`candidate_pool`), fitted on the FIT half of the evaluation pairs (bench/bench_near_copy.py).

A third, optional stage settles what vectors cannot: other shots of the same person in the same
room can still outrank the crop. Given a `NearCopyCheck`, the likeliest candidates are compared
pixel by pixel (photomgr/core/search/near_copy.py) and verified crops or re-saves come first.

The score shown is a similarity, never the rank key (which can exceed 1): a verified copy shows
its pixel similarity (near_copy.copy_similarity: 1.00 = the same pixels, >= COPY_THRESHOLD =
a crop, resize or re-save), every other photo its image-vector cosine (1.00 only for the same
picture). Results come in rank order (copies first), so scores need not decrease down the list.
"""

from __future__ import annotations

import math

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
# The candidate pool (see candidate_pool), fitted on the FIT pairs (`python -m
# bench.bench_near_copy --fit`): the worst FIT original ranked 33rd of 3,094 photos by semantic
# cosine; the pool is 4x that fraction of the library (a margin for libraries denser in one
# subject than Caltech: 4.3% is ~130 at 3,000 photos, ~430 at 10,000), at least CANDIDATES_MIN,
# at most CANDIDATES_MAX (an IVF index scans a few cells per query; asking for more than it
# scans returns no more, and the instance cosines of 4,096 rows cost well under a millisecond).
CANDIDATES_MIN = 64
CANDIDATES_MAX = 4096
POOL_FRACTION = 0.043
CANDIDATES_PER_RESULT = 8
# Candidates checked pixel by pixel for being crops or re-saves of the photo: the best this many
# by the rank key and by instance cosine alone (~20-30 photos, ~5 ms each). On the FIT pairs every
# original was within the first 2 of one of the two lists; 16 keeps a margin at ~0.1 s a query.
VERIFY_TOP = 16


def candidate_pool(library_size: int, k: int) -> int:
    """How many semantic neighbours are re-ranked for a query with k results."""
    by_library = math.ceil(POOL_FRACTION * max(0, library_size))
    return max(CANDIDATES_MIN, CANDIDATES_PER_RESULT * k, min(CANDIDATES_MAX, by_library))


def find_similar(index: VectorIndex, photo_id: int, vector: np.ndarray, k: int,
                 copies: NearCopyCheck | None = None) -> list[tuple[int, float]]:
    """The k photos most similar to this one, as (photo id, score), in rank order; itself excluded.

    Order: verified copies first (with `copies`), then by semantic cosine plus the instance
    bonus. Score: a copy's pixel similarity, anyone else's image-vector cosine (module docstring).
    """
    if k <= 0:
        return []
    exclude = {int(photo_id)}
    own = index.instance_rows(np.array([int(photo_id)], np.int64))
    query_instance = own[0][0] if own is not None and bool(own[1][0]) else None
    if query_instance is None and copies is None:
        return index.search(vector, k, exclude=exclude)
    candidates = index.search(vector, candidate_pool(len(index), k), exclude=exclude)
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
    """Verified near-copies first, best copy similarity first, each shown with its copy
    similarity; then the rest in their order with their own scores."""
    if not copies:
        return ranked
    rest = [(pid, score) for pid, score in ranked if pid not in copies]
    promoted = sorted(((pid, copies[pid]) for pid, _ in ranked if pid in copies),
                      key=lambda item: (-item[1], item[0]))
    return promoted + rest


def rerank(index: VectorIndex, query_instance: np.ndarray, candidates: list[tuple[int, float]],
           k: int, weight: float = INSTANCE_WEIGHT, floor: float = INSTANCE_FLOOR,
           cosines: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[int, float]]:
    """The k best candidates by semantic cosine plus the near-copy bonus (a candidate without an
    instance vector has no bonus), each with its semantic cosine: the bonus orders, it is not
    shown. `cosines`: the candidates' instance_cosines, when the caller has them already."""
    if not candidates:
        return []
    ids = np.array([c[0] for c in candidates], np.int64)
    semantic = np.array([c[1] for c in candidates], np.float32)
    got = cosines if cosines is not None else instance_cosines(index, query_instance, ids)
    if got is None:
        return candidates[:k]
    instance, found = got
    bonus = np.where(found, weight * np.maximum(0.0, instance - floor), 0.0)
    cosine_of = dict(candidates)
    return [(pid, cosine_of[pid]) for pid, _ in top_k(ids, (semantic + bonus).astype(np.float32), k)]


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
