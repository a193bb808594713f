"""The scoring space of a model's photos, derived from their stored vectors (numpy only).

Tags and text search score `photo_label_space @ label_vector`. For CLIP that space is the stored
image vector itself; for the default model it is built here from the stored columns, so new
heads never need a photo decoded again (see default_text.py for the layout).
"""

from __future__ import annotations

import numpy as np

from photomgr.core.models.default_ids import ADOPTS, FUSED_LAYOUT_IDS, MODEL_ID, N_CLASSES


def photo_label_space(model_id: str, image: np.ndarray, label: np.ndarray | None) -> np.ndarray | None:
    """(N, L) scoring space, or None when it is the image space (shared-space backends)."""
    if model_id not in FUSED_LAYOUT_IDS or label is None:
        return label
    from photomgr.core.models.heads import load_heads

    heads = load_heads()
    n = len(label)
    out = np.zeros((n, N_CLASSES + heads.dim + 2), np.float32)
    if n:
        out[:, :N_CLASSES] = label
        out[:, N_CLASSES:N_CLASSES + heads.dim] = heads.image(image)
        out[:, -2] = 1.0
    return out


def adoptable_ids(model_id: str) -> tuple[str, ...]:
    """Older model ids whose stored rows this model can use as they are."""
    return ADOPTS if model_id == MODEL_ID else ()
