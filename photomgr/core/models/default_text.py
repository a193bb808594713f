"""The default model's text side alone: label and query vectors without the image tower.

`photomgr labels add` and `photomgr search` only need text vectors; loading EfficientNet for
them wastes seconds. `DefaultTextEncoder` loads MiniLM (lazily), the trained heads and the
WordNet table, and nothing else. `DefaultEmbedder` uses one for its own text side.

A label vector has the layout of the scoring space (see `photo_label_space` in spaces.py):

    [ w (1000 ImageNet class weights) | b * t (learned text vector, D) | c | a ]

where the photo side is [ probabilities | projected image vector | 1 | 0 ], so one product gives
the ImageNet mass P = probs @ w and b * cos + c, and the scorer adds a * log(P + eps) (fused
calibration, tagging/calibration.py). (a, b, c) come from the fitted constants of the label's
route at the label's descriptor (heads.Fusion.label_constants); the route is
"hier" when its text names a WordNet synset with ImageNet classes under it (w = 1 on each of
them, so P is the probability the photo shows any of them), else "bridge" (w = the text
bridge's nearest class names, which says little for words ImageNet never learned).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from photomgr.core.models.base import ModelInfo, l2_normalise, label_texts
from photomgr.core.models.default_ids import MODEL_ID, N_CLASSES
from photomgr.core.models.heads import Heads, load_heads
from photomgr.core.models.hierarchy import Hierarchy, load_hierarchy
from photomgr.core.models.prompts import expand_prompts
from photomgr.core.models.text_bridge import TextBridge, imagenet_classes

HIER, BRIDGE = "hier", "bridge"


def label_templates(heads: Heads) -> tuple[str, ...]:
    """The prompt templates a label name is embedded with for the learned space (a prompt
    ensemble, as CLIP does: "dog" -> the mean of "dog", "a photo of a dog.", ...). They ship in
    the heads file because the text head is trained on exactly these (training/word_prompts.py);
    heads without them (h1, h2) embed the name alone."""
    raw = heads.meta.get("label_templates")
    return tuple(json.loads(raw)) if raw else ()


def learned_input(texts: Sequence[str], templates: Sequence[str], bridge: TextBridge) -> np.ndarray:
    """(384,) the unit mean MiniLM embedding the text head reads for a label's texts: names are
    expanded with the templates, sentences are embedded as written (prompts.expand_prompts)."""
    sentences = expand_prompts(texts, templates) if templates else list(texts)
    return l2_normalise(bridge.encode(sentences).mean(axis=0))


def default_info(heads: Heads) -> ModelInfo:
    return ModelInfo(MODEL_ID, "default", image_dim=1280, label_dim=N_CLASSES + heads.dim + 2,
                     shared_space=False)


def class_route(texts: Sequence[str], hierarchy: Hierarchy, bridge: TextBridge,
                text_vector: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """(1000,) class weights and the route name for a label's texts.

    Texts naming a synset cover every class below it (weight 1 each, the union over texts).
    Otherwise the bridge's weights of the texts' mean MiniLM embedding (`text_vector`).
    """
    covered = [idx for idx in (hierarchy.lookup(t) for t in texts) if idx is not None and len(idx)]
    if covered:
        w = np.zeros(N_CLASSES, np.float32)
        w[np.unique(np.concatenate(covered))] = 1.0
        return w, HIER
    if text_vector is None:
        text_vector = l2_normalise(bridge.encode(texts).mean(axis=0))
    return bridge.weights_for_embedding(text_vector), BRIDGE


def route_descriptor(route: str, class_weights: np.ndarray, bridge: TextBridge,
                     text_vector: np.ndarray) -> float:
    """What the fusion constants depend on (heads.Fusion): for "hier", the log of the number of
    classes the label covers; for "bridge", how closely the text matches its best ImageNet class
    name (a class name ~1, an everyday word ~0.5, a sentence ~0.4)."""
    if route == HIER:
        return float(np.log(max(int((class_weights > 0).sum()), 1)))
    return float((bridge.class_matrix() @ np.asarray(text_vector, np.float32)).max())


class DefaultTextEncoder:
    """Label and query vectors of the default model; no image model is loaded. Thread-safe."""

    def __init__(self, *, device: str = "cpu", cache_dir: Path | None = None,
                 heads: Heads | None = None) -> None:
        self.device = device
        self.heads = heads or load_heads()
        self.info = default_info(self.heads)
        self._cache_dir = None if cache_dir is None else Path(cache_dir) / "text_bridge"
        self._bridge: TextBridge | None = None
        self._hierarchy: Hierarchy | None = None
        self._templates = label_templates(self.heads)
        self._lock = threading.Lock()

    @property
    def bridge(self) -> TextBridge:
        with self._lock:
            if self._bridge is None:
                self._bridge = TextBridge(device=self.device, cache_dir=self._cache_dir)
            return self._bridge

    @property
    def hierarchy(self) -> Hierarchy:
        with self._lock:
            if self._hierarchy is None:
                self._hierarchy = load_hierarchy([c.synset for c in imagenet_classes()])
            return self._hierarchy

    def minilm(self, texts: Sequence[str]) -> np.ndarray:
        """The unit mean MiniLM embedding of a label's texts."""
        return l2_normalise(self.bridge.encode(texts).mean(axis=0))

    def learned(self, texts: Sequence[str]) -> np.ndarray:
        """(D,) unit vector of the texts in the learned image-text space."""
        return self.heads.text(learned_input(texts, self._templates, self.bridge)[None, :])[0]

    def route(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        return class_route(texts, self.hierarchy, self.bridge, self.minilm(texts))

    def embed_label(self, prompts: Sequence[str], *, query: bool = False) -> np.ndarray:
        texts = label_texts(prompts)
        mean = self.minilm(texts)
        weights, route = class_route(texts, self.hierarchy, self.bridge, mean)
        # a search query is embedded as typed (its constants were fitted that way); a label's
        # name through the prompt templates
        learned = self.heads.text(mean[None, :])[0] if query else self.learned(texts)
        x = route_descriptor(route, weights, self.bridge, mean)
        a, b, c = self.heads.fusion.label_constants(route, x, weights, learned, query=query)
        return np.concatenate([weights, np.float32(b) * learned,
                               np.array([c, a], np.float32)]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        # A query is scored like a label (same layout, a logistic fit on the same data, so its
        # scores compare with the tag threshold), but sentences ("red car", "dog on a beach")
        # name no synset and get the query constants, which lean on the learned space.
        return self.embed_label([text], query=True)

    def explain_label(self, prompts: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
        """The ImageNet classes a label text was mapped onto, heaviest first."""
        weights, _ = self.route(label_texts(prompts))
        return self.bridge.top_classes(weights, k)
