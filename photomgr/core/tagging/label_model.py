"""What scoring needs to know about one label: its text vector and the user's decisions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _rows(a: np.ndarray | None, dim: int | None = None) -> np.ndarray:
    """A (k, D) float32 matrix; an empty input becomes (0, D) (or (0, 0) when D is unknown)."""
    if a is None:
        return np.zeros((0, dim or 0), np.float32)
    arr = np.asarray(a, dtype=np.float32)
    if arr.size == 0:
        return np.zeros((0, arr.shape[-1] if arr.ndim == 2 else (dim or 0)), np.float32)
    return arr.reshape(-1, arr.shape[-1])


@dataclass(frozen=True)
class LabelVectors:
    """One label for scoring.

    text: (L,) label-space vector of the label's text, from the model layer.
    positives: (p, D) image vectors of photos the user confirmed for this label (may be 0 rows).
    negatives: (n, D) image vectors of photos the user rejected for it (may be 0 rows).
    """

    text: np.ndarray
    positives: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    negatives: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    def __post_init__(self) -> None:
        # frozen: normalise shapes once here so the scorer never meets a 1-D or None decision list
        object.__setattr__(self, "text", np.asarray(self.text, dtype=np.float32).reshape(-1))
        object.__setattr__(self, "positives", _rows(self.positives))
        object.__setattr__(self, "negatives", _rows(self.negatives))

    @property
    def n_positives(self) -> int:
        return int(self.positives.shape[0])

    @property
    def n_negatives(self) -> int:
        return int(self.negatives.shape[0])
