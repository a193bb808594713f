"""Scoring labels on the whole library at once: a few matrix products, no per-photo Python.

Adding or renaming a label must re-score a 100,000-photo library in under 100 ms, so scores are
computed from vectors held in memory (PhotoMatrix): the text half is one product over the
label-space matrix; the image half (confirmed / rejected photos) is cached per decisions
(image_terms.py). The formula and its per-backend constants live in calibration.py.
Scores of a photo never depend on which other photos are in the matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from photomgr.core.tagging.calibration import Calibration, calibration_for
from photomgr.core.tagging.image_terms import ImageTermCache, ImageTerms
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.photo_matrix import PhotoMatrix

__all__ = ["LabelScorer", "PhotoMatrix", "sigmoid"]

BLOCK_VALUES = 16 << 20  # floats per (photos x labels) block of the text product; see image_terms


def sigmoid(x: np.ndarray) -> np.ndarray:
    """float32 logistic, in place on a copy; clipped so exp never overflows."""
    out = np.clip(np.asarray(x, np.float32), -40.0, 40.0)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


class LabelScorer:
    """Calibrated label scores in [0, 1], comparable across the labels of one backend."""

    def __init__(self, backend: str, calibration: Calibration | None = None) -> None:
        self.backend = backend
        self.cal = calibration if calibration is not None else calibration_for(backend)
        self._image_terms = ImageTermCache()

    @property
    def default_threshold(self) -> float:
        """One threshold for multi-label auto tagging, whatever the label."""
        return self.cal.threshold

    def score(self, photos: PhotoMatrix, label: LabelVectors) -> np.ndarray:
        """(N,) calibrated scores of one label."""
        return self.score_all(photos, [label])[:, 0]

    def score_all(self, photos: PhotoMatrix, labels: Sequence[LabelVectors]) -> np.ndarray:
        """(N, n_labels) calibrated scores, float32."""
        return sigmoid(self.logits(photos, labels))

    def logits(self, photos: PhotoMatrix, labels: Sequence[LabelVectors]) -> np.ndarray:
        """(N, n_labels) scores before the sigmoid: rank on these (the sigmoid saturates)."""
        n = len(photos)
        out = np.empty((n, len(labels)), np.float32)
        if n == 0 or not labels:
            return out
        dim = photos.label_space.shape[1]
        for lab in labels:
            if lab.text.shape[0] != dim:
                raise ValueError(f"label text has dim {lab.text.shape[0]}, photos' label space {dim}")
        self._text_logits(photos, np.stack([lab.text for lab in labels], axis=1), out)
        for j, terms in enumerate(self._image_terms.terms(photos, labels)):
            if terms.proto is not None or terms.rejected is not None:
                out[:, j] = self._blend(out[:, j], terms)
        return out

    # -- the two halves ------------------------------------------------------------------------
    def _text_logits(self, photos: PhotoMatrix, text: np.ndarray, out: np.ndarray) -> None:
        cal = self.cal
        if cal.fused_classes:
            self._fused_logits(photos, text, out)
            return
        space = photos.label_space
        single = text.shape[1] == 1
        t1 = np.ascontiguousarray(text[:, 0]) if single else text
        rows = max(1024, BLOCK_VALUES // text.shape[1])
        for start in range(0, len(photos), rows):
            stop = min(len(photos), start + rows)
            # a matrix-vector product for one label: OpenBLAS is much slower on a 1-column GEMM
            raw = (space[start:stop] @ t1)[:, None] if single else space[start:stop] @ t1
            x = np.log(np.maximum(raw, 0.0) + cal.text_eps) if cal.text_log else raw
            out[start:stop] = cal.text_scale * (x - cal.text_center)

    def _fused_logits(self, photos: PhotoMatrix, text: np.ndarray, out: np.ndarray) -> None:
        """a * log(P + eps) + (b * cos + c), each label's (a, b, c) read from its own vector.

        Two products over column slices of the space (no copy: BLAS takes the row stride), so
        the cost stays one pass over the library's label space.
        """
        cal = self.cal
        k = cal.fused_classes
        space = photos.label_space
        if space.shape[1] <= k + 2:
            raise ValueError(f"fused scoring needs more than {k + 2} label-space columns, "
                             f"got {space.shape[1]}")
        single = text.shape[1] == 1
        w = np.ascontiguousarray(text[:k, 0] if single else text[:k])
        rest = np.ascontiguousarray(text[k:, 0] if single else text[k:])
        a = text[-1, :].astype(np.float32)
        rows = max(1024, BLOCK_VALUES // text.shape[1])
        for start in range(0, len(photos), rows):
            stop = min(len(photos), start + rows)
            block = space[start:stop]
            mass, linear = block[:, :k] @ w, block[:, k:] @ rest
            if single:
                mass, linear = mass[:, None], linear[:, None]
            x = a * np.log(np.maximum(mass, 0.0) + cal.text_eps) + linear
            out[start:stop] = cal.text_scale * (x - cal.text_center)

    def _blend(self, text_logit: np.ndarray, terms: ImageTerms) -> np.ndarray:
        """(1 - w) * text + w * prototype, minus the push away from rejected photos."""
        cal = self.cal
        logit = text_logit
        if terms.proto is not None:
            p = terms.n_positives
            w = cal.proto_weight_max * p / (p + cal.shots_half)
            growth = np.sqrt(p / (1.0 + (p - 1) * cal.proto_rho))  # see calibration.py
            proto_logit = cal.proto_scale * (terms.proto / np.float32(growth) - cal.proto_center)
            logit = np.float32(1.0 - w) * text_logit + np.float32(w) * proto_logit
        if terms.rejected is not None:
            floor = np.float32(cal.neg_margin)
            if terms.proto is not None:
                floor = np.maximum(floor, terms.proto)
            logit = logit - cal.neg_scale * np.maximum(terms.rejected - floor, 0.0)
        return logit
