"""A tiny deterministic embedder for CLI and GUI tests: no weights, instant, meaningful.

An image's vector points towards its dominant colour; the label texts "red", "green" and
"blue" point the same way, at CLIP-like cosines (~0.28 for a match, ~0 otherwise), so the
real scoring, thresholds, prototypes and FAISS code paths produce checkable results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch
from PIL import Image

from photomgr.core.models.base import EmbeddingBatch, ModelInfo

DIM = 8
COLOURS = {"red": 1, "green": 2, "blue": 3}


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


class FakeEmbedder:
    info = ModelInfo(model_id="clip:fake-colour:v1", backend="clip", image_dim=DIM, label_dim=DIM,
                     shared_space=True)
    device = "cpu"
    input_size = 16

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        small = np.asarray(image.convert("RGB").resize((16, 16)), dtype=np.float32) / 255.0
        return torch.from_numpy(small).permute(2, 0, 1).contiguous()

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        means = batch.mean(dim=(2, 3)).numpy()  # (N, 3)
        spread = batch.std(dim=(2, 3)).numpy()
        out = np.zeros((len(means), DIM), np.float32)
        for i, (rgb, std) in enumerate(zip(means, spread, strict=True)):
            colour = rgb - rgb.mean()
            colour = colour / max(float(np.linalg.norm(colour)), 1e-6)
            vec = np.zeros(DIM, np.float32)
            vec[0] = 0.8
            vec[1:4] = 0.5 * colour
            vec[5:] = 0.5 * std  # texture: tells same-coloured photos apart
            out[i] = _unit(vec)
        return EmbeddingBatch(out, out)

    def _text(self, text: str) -> np.ndarray:
        vec = np.zeros(DIM, np.float32)
        for word, dim in COLOURS.items():
            if word in text.lower():
                vec[dim] = 0.7
        vec[4] = 0.7
        return _unit(vec)

    def embed_label(self, prompts: Sequence[str]) -> np.ndarray:
        return _unit(np.mean([self._text(p) for p in prompts], axis=0))

    def embed_query(self, text: str) -> np.ndarray:
        return self._text(text)


class DescribingFakeEmbedder(FakeEmbedder):
    """The fake loaded with describe=True: it also writes "a red square"-like descriptions,
    naming each photo's dominant colour, as a captioner would from the same forward pass."""

    describer_status: str | None = None
    CAPTIONER = "fake-caption:v1"

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        out = super().embed_images(batch)
        names = list(COLOURS)
        dominant = batch.mean(dim=(2, 3)).numpy().argmax(axis=1)
        out.descriptions = [f"a {names[int(c)]} square on a striped card" for c in dominant]
        out.description_model = self.CAPTIONER
        return out


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """Make every model load in photomgr (whole model or text side) return the fake embedder
    (the describing one when descriptions are asked for)."""
    fake = FakeEmbedder()
    describing = DescribingFakeEmbedder()

    def load(backend: str, **kwargs: object) -> FakeEmbedder:
        return describing if kwargs.get("describe") else fake

    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", load)
    monkeypatch.setattr("photomgr.core.services.model_choice.load_text_encoder", load)
    return fake
