"""Find similar (via the index) and text search (via the scorer)."""

from __future__ import annotations

import numpy as np

from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.search.similar import find_similar, text_search, top_k
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_find_similar_excludes_the_photo_itself() -> None:
    rng = np.random.default_rng(0)
    vectors = unit(rng.standard_normal((200, 16)))
    vectors[1] = unit(vectors[0] + 0.05 * rng.standard_normal(16))  # photo 101 resembles 100
    ids = np.arange(200) + 100
    index = VectorIndex.build(ids, vectors, "m", "fp")
    hits = find_similar(index, 100, vectors[0], 5)
    assert len(hits) == 5 and 100 not in [i for i, _ in hits]
    assert hits[0][0] == 101 and hits[0][1] > 0.9
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_text_search_ranks_by_score_and_reports_calibrated_scores() -> None:
    rng = np.random.default_rng(1)
    image = unit(rng.standard_normal((50, 16)))
    query = unit(rng.standard_normal(16))
    ids = np.arange(50) * 2
    photos = PhotoMatrix(ids, image, None)
    scorer = LabelScorer("clip")
    hits = text_search(photos, query, 7, scorer)
    best = np.argsort(-(image @ query))[:7]
    assert [i for i, _ in hits] == [int(ids[b]) for b in best]
    assert all(0.0 <= s <= 1.0 for _, s in hits)
    assert len(text_search(photos, query, 500, scorer)) == 50
    assert text_search(photos, query, 0, scorer) == []


def test_top_k_breaks_ties_by_id() -> None:
    ids = np.array([5, 3, 9, 1])
    scores = np.array([0.5, 0.9, 0.5, 0.1], np.float32)
    assert top_k(ids, scores, 3) == [(3, 0.8999999761581421), (5, 0.5), (9, 0.5)]
