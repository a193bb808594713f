"""Search by meaning and by words fused into one ranking (reciprocal rank fusion)."""

from __future__ import annotations

import numpy as np

from photomgr.core.search.combined import RRF_K, fuse, semantic_ranks
from photomgr.core.search.similar import text_search
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix


def _matrix(n: int = 50, dim: int = 16) -> tuple[PhotoMatrix, np.ndarray]:
    rng = np.random.default_rng(3)
    ids = rng.permutation(np.arange(100, 100 + n))  # ids need not be in order
    image = rng.standard_normal((n, dim)).astype(np.float32)
    query = rng.standard_normal(dim).astype(np.float32)
    return PhotoMatrix(ids, image, None), query / np.linalg.norm(query)


def test_semantic_ranks_agree_with_text_search() -> None:
    photos, query = _matrix()
    scorer = LabelScorer("clip")
    full = text_search(photos, query, len(photos), scorer)
    picked = [full[0][0], full[17][0], full[49][0], 9999]  # 9999: no vector
    got = semantic_ranks(photos, query, scorer, picked)
    assert set(got) == set(picked[:3])
    for rank in (0, 17, 49):
        pid, score = full[rank]
        assert got[pid][0] == rank and abs(got[pid][1] - score) < 1e-6


def test_a_photo_both_searches_find_comes_first_and_text_matches_are_marked() -> None:
    semantic = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    text = [4, 7]  # 4 is also 4th by meaning; 7 is far down (rank 500)
    hits = fuse(semantic, text, {4: (3, 0.6), 7: (500, 0.1)}, k=10, worst=1000)
    # The words count as much as the looks: the second text match, however unlike the query it
    # looks, comes before the best photo found by meaning alone.
    assert [h.photo_id for h in hits] == [4, 7, 1, 2, 3]
    assert [h.text_match for h in hits] == [True, True, False, False, False]
    assert hits[0].fused == 1 / RRF_K + 1 / (RRF_K + 3) and hits[1].score == 0.1
    assert [h.photo_id for h in fuse(semantic, [], {}, k=2, worst=4)] == [1, 2]
    unvectored = fuse(semantic, [8], {}, k=1, worst=4)  # a text match with no vector yet
    assert unvectored[0].photo_id == 8 and unvectored[0].score == 0.0
