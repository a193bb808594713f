"""Ranking metrics shared by the quality evaluations (eval_words.py, eval_tagging.py)."""

from __future__ import annotations

import numpy as np


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mean of the precision at each positive's rank (ties broken by order); nan with no positive."""
    positive = np.asarray(positive, bool)
    if not positive.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    hits = positive[order]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


def tagged_stats(scores: np.ndarray, positive: np.ndarray, threshold: float) -> tuple[float, float, int]:
    """(fraction of the positives tagged, precision of the tags, number tagged) at a threshold."""
    positive = np.asarray(positive, bool)
    tagged = np.asarray(scores) >= threshold
    n = int(tagged.sum())
    recall = float((tagged & positive).sum() / max(positive.sum(), 1))
    precision = float((tagged & positive).sum() / n) if n else 0.0
    return recall, precision, n
