"""Find similar (image space, via the vector index) and free-text search (label space)."""

from __future__ import annotations

import numpy as np

from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix


def find_similar(index: VectorIndex, photo_id: int, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k photos most similar to this one, as (photo id, cosine), best first; itself excluded."""
    return index.search(vector, k, exclude={int(photo_id)})


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
