"""CLIP (open_clip) backend: one shared space for photos and label texts.

The image vector is also the label-space vector (stored once), and a label's score is the
cosine between the photo and the mean of its normalised prompt embeddings. Weights are found by
clip_weights.resolve_clip_weights and loaded safely: safetensors, or torch.load with
weights_only=True (open_clip's loader), never an arbitrary pickle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from photomgr.core.models.base import EmbeddingBatch, ModelInfo, ModelUnavailable, cpu_threads, l2_normalise
from photomgr.core.models.prompts import expand_prompts

# A few of CLIP's ImageNet prompt templates: an ensemble is steadier than any single prompt.
TEMPLATES = (
    "a photo of {}.",
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a photo of many {}.",
    "a good photo of a {}.",
    "itap of a {}.",
)
QUERY_TEMPLATES = ("a photo of {}.",)


def _preprocess_config(model_name: str, pretrained: str) -> dict[str, Any]:
    """Mean/std/interpolation and QuickGELU of a pretrained tag, as open_clip would apply them
    had it downloaded the weights itself (a file path alone does not carry them)."""
    from open_clip.pretrained import get_pretrained_cfg

    cfg = get_pretrained_cfg(model_name, pretrained)
    out: dict[str, Any] = {"force_quick_gelu": bool(cfg.get("quick_gelu", False))}
    for key, arg in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"),
                     ("resize_mode", "image_resize_mode")):
        if cfg.get(key) is not None:
            out[arg] = cfg[key]
    return out


class ClipEmbedder:
    """open_clip model + its eval transform + tokenizer."""

    def __init__(self, model_name: str, pretrained: str, weights: Path, *, device: str = "cpu") -> None:
        import open_clip

        self.device = device
        if device == "cpu":
            cpu_threads()
        try:
            model, _, transform = open_clip.create_model_and_transforms(
                model_name, pretrained=str(weights), device=device, weights_only=True,
                **_preprocess_config(model_name, pretrained))
        except Exception as exc:
            raise ModelUnavailable(f"could not load CLIP {model_name} weights from {weights}: {exc}") from exc
        self.model = model.eval()
        self._transform: Callable[[Image.Image], torch.Tensor] = transform  # type: ignore[assignment]
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self._text_lock = threading.Lock()  # the tokenizer keeps a cache dict: one caller at a time
        self.input_size = int(_image_size(model))
        dim = int(model.text_projection.shape[1]) if hasattr(model, "text_projection") and \
            model.text_projection is not None else int(self._probe_dim())
        self.info = ModelInfo(f"clip:{model_name}:{pretrained}", "clip", image_dim=dim, label_dim=dim,
                              shared_space=True)

    def _probe_dim(self) -> int:
        with torch.inference_mode():
            return int(self.model.encode_text(self._tokenizer(["a"]).to(self.device)).shape[-1])

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        # torchvision's PIL transforms keep no state between calls: safe from many threads
        if image.mode != "RGB":
            image = image.convert("RGB")
        return self._transform(image).float()

    def embed_images(self, batch: torch.Tensor) -> EmbeddingBatch:
        with torch.inference_mode():
            vectors = self.model.encode_image(batch.to(self.device), normalize=True)
        image = l2_normalise(vectors.float().cpu().numpy())
        return EmbeddingBatch(image=image, label=image)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) unit text embeddings of exactly these sentences."""
        with self._text_lock:
            tokens = self._tokenizer(list(texts))
            with torch.inference_mode():
                vectors = self.model.encode_text(tokens.to(self.device), normalize=True)
        return l2_normalise(vectors.float().cpu().numpy())

    def _mean_direction(self, sentences: Sequence[str]) -> np.ndarray:
        return l2_normalise(self.embed_texts(sentences).mean(axis=0))

    def embed_label(self, prompts: Sequence[str]) -> np.ndarray:
        return self._mean_direction(expand_prompts(prompts, TEMPLATES))

    def embed_query(self, text: str) -> np.ndarray:
        text = text.strip()
        if not text:
            raise ValueError("an empty search query")
        return self._mean_direction([text, *(t.replace("{}", text) for t in QUERY_TEMPLATES)])


def _image_size(model: torch.nn.Module) -> int:
    size = getattr(getattr(model, "visual", None), "image_size", 224)
    return int(size[0] if isinstance(size, (tuple, list)) else size)
