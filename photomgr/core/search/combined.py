"""One ranking from two searches: by meaning (the query's vector against every photo's) and by
words (full text over descriptions, file names and folders, core/library/descriptions.py).

Reciprocal rank fusion (Cormack et al., 2009): a photo's fused score is the sum over the
rankings it appears in of 1 / (RRF_K + rank). It needs no common scale between a cosine-like
score and FTS5's bm25, and a photo both searches rank well comes first, so "dog in water" finds
the photos whose description says so and those that only look like it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

RRF_K = 60  # the constant of the original paper: damps the weight of the very first ranks


@dataclass(frozen=True)
class FusedHit:
    photo_id: int
    score: float  # the semantic score (comparable to a tag threshold); 0.0 without a vector
    text_match: bool
    fused: float  # the rank key


def semantic_ranks(photos: PhotoMatrix, query_label_vec: np.ndarray, scorer: LabelScorer,
                   photo_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
    """photo id -> (0-based rank by meaning among all photos, score), for the given photos
    that have a vector: the same logits and calibrated score as similar.text_search."""
    if not len(photos) or not photo_ids:
        return {}
    logits = scorer.logits(photos, [LabelVectors(np.asarray(query_label_vec, dtype=np.float32))])[:, 0]
    wanted = np.asarray(list(photo_ids), dtype=np.int64)
    order = np.argsort(photos.ids)
    found = np.searchsorted(photos.ids, wanted, sorter=order)
    found = np.minimum(found, len(order) - 1)
    rows = order[found]
    present = photos.ids[rows] == wanted
    ranked = np.sort(-logits)  # ascending: best first
    out: dict[int, tuple[int, float]] = {}
    for pid, row in zip(wanted[present].tolist(), rows[present].tolist(), strict=True):
        z = float(logits[row])
        rank = int(np.searchsorted(ranked, -z, side="left"))
        out[pid] = (rank, float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))))
    return out


def fuse(semantic: Sequence[tuple[int, float]], text: Sequence[int],
         text_semantic: dict[int, tuple[int, float]], k: int, worst: int) -> list[FusedHit]:
    """The best `k` photos of both rankings, best first.

    `semantic`: the best photos by meaning, best first, with their scores; `text`: the photos
    that hold the query's words, best first; `text_semantic`: their rank and score by meaning
    wherever they are (a photo without a vector ranks `worst`).
    """
    rank_of = {pid: rank for rank, (pid, _) in enumerate(semantic)}
    score_of = dict(semantic)
    for pid, (rank, score) in text_semantic.items():
        rank_of.setdefault(pid, rank)
        score_of.setdefault(pid, score)
    fused: dict[int, float] = {pid: 1.0 / (RRF_K + rank) for rank, (pid, _) in enumerate(semantic)}
    matched = set(text)
    for rank, pid in enumerate(text):
        fused[pid] = 1.0 / (RRF_K + rank) + 1.0 / (RRF_K + rank_of.get(pid, worst))
    order = sorted(fused, key=lambda pid: (-fused[pid], rank_of.get(pid, worst)))[:k]
    return [FusedHit(pid, float(score_of.get(pid, 0.0)), pid in matched, fused[pid]) for pid in order]
