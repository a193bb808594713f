"""What every embedder backend provides, and the errors a model load can raise.

A backend turns photos into two vectors (see docs/architecture.md, "Vector spaces"):
an *image vector* for Find similar, near-duplicates and few-shot prototypes, and a
*label-space vector* in which label texts are scored. A label's score on a photo is always the
dot product ``label_space_vector(photo) @ embed_label(prompts)``; each backend makes that a
sensible similarity (cosine for CLIP, expected class probability for the default backend).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # torch takes ~2 s to import: commands that load no model must not pay for it
    import torch
    from PIL import Image


@dataclass(frozen=True)
class ModelInfo:
    model_id: str  # stored with every vector: changes whenever the vectors would change
    backend: str  # "default" | "clip"
    image_dim: int
    label_dim: int
    shared_space: bool  # True when the label space IS the image space (CLIP)


@dataclass
class EmbeddingBatch:
    image: np.ndarray  # (N, image_dim) float32, L2-normalised rows
    label: np.ndarray  # (N, label_dim) float32; the same array as `image` when shared_space
    # (N, D_inst) float32, L2-normalised: a mid-level "instance descriptor" that tells crops of
    # one photo from other shots of the same scene, for Find similar's re-ranking. None when
    # the backend has none (CLIP).
    instance: np.ndarray | None = None
    # One sentence per photo (same order), filled only by an embedder loaded with describe=True
    # whose captioner is usable; None otherwise (then `embedder.describer_status` says why).
    descriptions: list[str] | None = None
    # The captioner's id, stored with every description: changes whenever the sentences would.
    description_model: str | None = None


@runtime_checkable
class TextEncoder(Protocol):
    """The text side of a model: what tagging and search need once photos have vectors.

    Every `Embedder` is one; `registry.load_text_encoder` can give one that loads only the text
    tower, which is all `labels add` and `search` use.
    """

    info: ModelInfo

    def embed_label(self, prompts: Sequence[str]) -> np.ndarray:
        """(label_dim,) float32: one label from its texts (its name, or the user's prompts)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(label_dim,) float32: a free-text search query."""
        ...


@runtime_checkable
class Embedder(TextEncoder, Protocol):
    device: str  # "cpu" | "cuda" | "mps"
    input_size: int  # side of the square model input, e.g. 224

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """Upright RGB image -> (3, S, S) float32. Thread-safe: called from a decode pool."""
        ...

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        """(N, 3, S, S) preprocessed photos -> their image and label-space vectors (and, for an
        embedder loaded with describe=True, one description each: see EmbeddingBatch)."""
        ...


def describer_status(embedder: object) -> str | None:
    """Why `embedder` writes no descriptions (a user-facing sentence), or None when it does.

    Both backends set `describer_status` when loaded with describe=True; an embedder that has no
    such attribute (a test fake, a backend without a captioner) was not asked to describe.
    """
    if hasattr(embedder, "describer_status"):
        status = embedder.describer_status
        return None if status is None else str(status)
    return "this model writes no descriptions"


class ModelUnavailable(Exception):
    """The model cannot be loaded; the message is for the user and says what to do."""


class DownloadCancelled(Exception):
    """The user cancelled a weights download; the partial file has been removed."""


def l2_normalise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32, copy=False)


def label_texts(prompts: Sequence[str] | str) -> list[str]:
    """The non-empty, stripped texts of a label; raises ValueError when there are none.

    A bare string is accepted as one text: ``embed_label("dog")`` must not embed "d", "o", "g".
    """
    if isinstance(prompts, str):
        prompts = [prompts]
    texts = [p.strip() for p in prompts if p and p.strip()]
    if not texts:
        raise ValueError("a label needs at least one non-empty text")
    return texts


def cpu_threads() -> None:
    """Use every core for CPU inference: torch's default can be lower in some launchers."""
    import torch

    count = os.cpu_count() or 1
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
