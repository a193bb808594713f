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

RRF_K = 60  # the constant of the original paper: damps the weight of the very first ranks


@dataclass(frozen=True)
class FusedHit:
    photo_id: int
    score: float  # the semantic score (comparable to a tag threshold); 0.0 without a vector
    text_match: bool
    fused: float  # the rank key


def fuse(semantic: Sequence[tuple[int, float]], text: Sequence[int], k: int,
         pool: int) -> list[FusedHit]:
    """The best `k` photos of both rankings, best first.

    `semantic` is every photo with a vector, best first, with its score; `text` the photos that
    hold the query's words, best first. Only the first `pool` semantic ranks compete (as a text
    search alone would show them); a text match keeps its semantic rank wherever it is.
    """
    rank_of = {pid: rank for rank, (pid, _) in enumerate(semantic)}
    score_of = dict(semantic)
    fused: dict[int, float] = {pid: 1.0 / (RRF_K + rank) for rank, (pid, _) in enumerate(semantic[:pool])}
    matched = set(text)
    worst = len(semantic)
    for rank, pid in enumerate(text):
        fused[pid] = 1.0 / (RRF_K + rank) + 1.0 / (RRF_K + rank_of.get(pid, worst))
    order = sorted(fused, key=lambda pid: (-fused[pid], rank_of.get(pid, worst)))[:k]
    return [FusedHit(pid, float(score_of.get(pid, 0.0)), pid in matched, fused[pid]) for pid in order]
