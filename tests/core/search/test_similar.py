"""Find similar (via the index) and text search (via the scorer)."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_instance_vectors_put_a_near_copy_first() -> None:
    """Photo 101 is semantically a little further from 100 than 102, but its instance vector
    is nearly the same: the re-ranking puts it first; without instance vectors 102 wins."""
    rng = np.random.default_rng(2)
    vectors = unit(rng.standard_normal((100, 16)))
    vectors[1] = unit(vectors[0] + 0.30 * unit(rng.standard_normal(16)))
    vectors[2] = unit(vectors[0] + 0.15 * unit(rng.standard_normal(16)))
    instance = unit(rng.standard_normal((100, 32)))
    instance[1] = unit(instance[0] + 0.05 * unit(rng.standard_normal(32)))
    ids = np.arange(100) + 100
    plain = find_similar(VectorIndex.build(ids, vectors, "m", "fp"), 100, vectors[0], 3)
    assert plain[0][0] == 102
    reranked = find_similar(VectorIndex.build(ids, vectors, "m", "fp", instance=instance), 100, vectors[0], 3)
    assert [i for i, _ in reranked][:2] == [101, 102] and 100 not in [i for i, _ in reranked]
    # the bonus orders, it is not shown: each photo keeps its image-vector cosine
    cosines = {pid: float(vectors[pid - 100] @ vectors[0]) for pid, _ in reranked}
    assert dict(reranked) == pytest.approx(cosines, abs=1e-5)
    # a photo the index has no instance vector for falls back to the plain ranking
    assert find_similar(VectorIndex.build(ids, vectors, "m", "fp", instance=instance), 999, vectors[0], 1)


def test_a_strong_instance_match_that_is_not_a_copy_never_shows_1() -> None:
    """Other photos with a high instance cosine got rank key sem + 4 * (inst - 0.66) > 1 and
    showed "1.000" next to true copies; now they show their cosine (here ~0.8)."""
    rng = np.random.default_rng(3)
    vectors = unit(rng.standard_normal((50, 16)))
    instance = unit(rng.standard_normal((50, 32)))
    for j in (1, 2, 3):
        vectors[j] = unit(vectors[0] + 0.7 * unit(rng.standard_normal(16)))
        instance[j] = unit(instance[0] + 0.3 * unit(rng.standard_normal(32)))
    ids = np.arange(50) + 100
    index = VectorIndex.build(ids, vectors, "m", "fp", instance=instance)
    hits = find_similar(index, 100, vectors[0], 5)
    assert {101, 102, 103} <= {pid for pid, _ in hits[:3]}
    assert all(score < 0.99 for _, score in hits)


def test_the_candidate_pool_grows_with_the_library() -> None:
    from photomgr.core.search.similar import CANDIDATES_MAX, CANDIDATES_MIN, candidate_pool

    assert candidate_pool(100, 10) == max(CANDIDATES_MIN, 80)
    assert candidate_pool(3_000, 1) < candidate_pool(30_000, 1) < candidate_pool(10_000_000, 1)
    assert candidate_pool(10_000_000, 1) == CANDIDATES_MAX
