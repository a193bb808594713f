"""The trained projection heads of the default model: stored vectors -> one image-text space.

EfficientNet-Lite0 and MiniLM stay frozen; two small heads, trained contrastively on captioned
photos (photomgr/training/train_heads.py, docs/training.md), map

- a photo's *stored* image vector (the L2-normalised pooled feature, as kept in the library), and
- a text's MiniLM sentence embedding

into one unit-length space where matching photo and text have a high cosine. The image head
reads the stored vector, so shipping new heads never needs a photo decoded again.

Each head is ``y = x @ W + b`` plus, when the file has them, a residual MLP
``gelu(x @ W1 + b1) @ W2``; y is L2-normalised. Pure numpy: the GUI thread and `labels list`
can project without torch. The file also carries the fusion constants (see `Fusion`), fitted on
held-out data by the same command, so one version string covers everything that changes scores.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from photomgr.core.models.base import ModelUnavailable, l2_normalise
from photomgr.core.models.resources import resources_dir

HEADS_NAME = "default_heads.safetensors"
_SQRT_2_OVER_PI = np.float32(np.sqrt(2.0 / np.pi))


def gelu(x: np.ndarray) -> np.ndarray:
    """torch's tanh-approximated GELU (the heads are trained with approximate="tanh")."""
    return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


@dataclass(frozen=True)
class Head:
    weight: np.ndarray  # (in, out)
    bias: np.ndarray  # (out,)
    mlp: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # W1, b1, W2, b2

    @property
    def in_dim(self) -> int:
        return int(self.weight.shape[0])

    @property
    def out_dim(self) -> int:
        return int(self.weight.shape[1])

    def __call__(self, x: np.ndarray, block: int = 8192) -> np.ndarray:
        """(N, in) -> (N, out) unit rows, in blocks so a 100k library needs little extra memory."""
        x = np.asarray(x, np.float32).reshape(-1, self.in_dim)
        out = np.empty((len(x), self.out_dim), np.float32)
        for start in range(0, len(x), block):
            part = x[start:start + block]
            y = part @ self.weight + self.bias
            if self.mlp is not None:
                w1, b1, w2, b2 = self.mlp
                y += gelu(part @ w1 + b1) @ w2 + b2
            out[start:start + block] = y
        return l2_normalise(out)


@dataclass(frozen=True)
class RouteFit:
    """One route's fusion constants as functions of the label's descriptor x (see `Fusion`).

    a = max(0, a0 + a1 x), b = b0 + b1 x, c = c0 + c1 x. The clamp keeps a label's own ImageNet
    classes from ever counting against it, whatever x.
    """

    a: tuple[float, float]
    b: tuple[float, float]
    c: tuple[float, float]

    @classmethod
    def parse(cls, raw: object) -> RouteFit:
        if isinstance(raw, dict):
            return cls(_pair(raw["a"]), _pair(raw["b"]), _pair(raw["c"]))
        if not isinstance(raw, list) or len(raw) != 3:
            raise ValueError(f"fusion constants: expected [a, b, c] or {{a, b, c}}, got {raw!r}")
        a, b, c = (float(v) for v in raw)  # h1: constants, no descriptor terms
        return cls((a, 0.0), (b, 0.0), (c, 0.0))

    def at(self, x: float) -> tuple[float, float, float]:
        return (max(0.0, self.a[0] + self.a[1] * x), self.b[0] + self.b[1] * x, self.c[0] + self.c[1] * x)


def _pair(v: object) -> tuple[float, float]:
    if not isinstance(v, list) or not 1 <= len(v) <= 2:
        raise ValueError(f"fusion constants: expected [v0, v1], got {v!r}")
    vals = [float(x) for x in v]
    return (vals[0], vals[1] if len(vals) > 1 else 0.0)


@dataclass(frozen=True)
class Reference:
    """A fixed sample of ordinary photos (training split): stored ImageNet probabilities and
    projected image vectors. A label's two evidence terms are centred on their mean over these
    photos, so "dog" (118 classes: some mass on any animal) and "building" (14 rarely likely
    classes) start from the same place. Fixed and shipped, so a photo's score never depends on
    which other photos a library holds."""

    probs: np.ndarray  # (R, 1000)
    image: np.ndarray  # (R, D)


@dataclass(frozen=True)
class Fusion:
    """How the two routes make one logit (see tagging/calibration.py, "fused").

    logit = a * log(P + eps) + b * cos + c, where P is the probability mass the photo puts on the
    label's ImageNet classes and cos the learned-space cosine. Route "hier" is for labels that
    name a WordNet synset with ImageNet classes under it; "bridge" for all other texts, whose
    ImageNet classes are only the nearest class names by text similarity. Per label, (a, b, c)
    follow from the route's `RouteFit` at the label's descriptor x (hier: log of the number of
    classes covered; bridge: the best cosine of the text to an ImageNet class name), and with a
    `Reference`, c also subtracts a and b times the terms' reference means.
    """

    eps: float
    hier: RouteFit
    bridge: RouteFit
    reference: Reference | None = None
    query: RouteFit | None = None  # search queries off the hierarchy (else: bridge)

    def label_constants(self, route: str, x: float, class_weights: np.ndarray, learned: np.ndarray,
                        query: bool = False) -> tuple[float, float, float]:
        fit = self.hier if route == "hier" else self.bridge
        if query and route != "hier" and self.query is not None:
            fit = self.query
        a, b, c = fit.at(x)
        if self.reference is not None:
            m1 = float(np.mean(np.log(self.reference.probs @ class_weights + self.eps)))
            m2 = float(np.mean(self.reference.image @ learned))
            c -= a * m1 + b * m2
        return a, b, c


@dataclass(frozen=True)
class Heads:
    version: str  # goes into the model id
    image: Head
    text: Head
    fusion: Fusion
    meta: dict[str, str]

    @property
    def dim(self) -> int:
        return self.image.out_dim


def head_from_tensors(tensors: dict[str, np.ndarray], prefix: str) -> Head:
    w, b = tensors[f"{prefix}.weight"], tensors[f"{prefix}.bias"]
    mlp = None
    if f"{prefix}.mlp1.weight" in tensors:
        mlp = (tensors[f"{prefix}.mlp1.weight"], tensors[f"{prefix}.mlp1.bias"],
               tensors[f"{prefix}.mlp2.weight"], tensors[f"{prefix}.mlp2.bias"])
    return Head(w, b, mlp)


def read_heads(path: Path) -> Heads:
    """Load and check a heads file; raises ModelUnavailable with a user-facing message."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not path.is_file():
        raise ModelUnavailable(f"the default model's trained heads are missing ({path}); reinstall photomgr")
    try:
        tensors = {k: np.ascontiguousarray(v, np.float32) for k, v in load_file(str(path)).items()}
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as fh:
            meta = dict(fh.metadata() or {})
        fusion = json.loads(meta["fusion"])
        reference = None
        if "reference.probs" in tensors:
            reference = Reference(tensors["reference.probs"], tensors["reference.image"])
        heads = Heads(meta["version"], head_from_tensors(tensors, "image"),
                      head_from_tensors(tensors, "text"),
                      Fusion(float(fusion["eps"]), RouteFit.parse(fusion["hier"]),
                             RouteFit.parse(fusion["bridge"]), reference,
                             RouteFit.parse(fusion["query"]) if "query" in fusion else None),
                      meta)
    except (SafetensorError, KeyError, ValueError, TypeError, OSError) as exc:
        raise ModelUnavailable(f"the default model's trained heads ({path}) are damaged: {exc}; "
                               "reinstall photomgr") from exc
    ref = heads.fusion.reference
    if heads.image.out_dim != heads.text.out_dim or (
            ref is not None and (ref.image.shape[1] != heads.dim or len(ref.image) != len(ref.probs))):
        raise ModelUnavailable(f"the default model's heads ({path}) do not fit together")
    return heads


_lock = threading.Lock()


# (size, mtime_ns) of each heads file as this process read it: what it scores with, even if the
# file on disk has changed since (an update under a running window). Caches keyed on the heads
# (core/tagging/space_cache.cache_key) use this, not the file's present state.
_read_stamps: dict[str, tuple[int, int]] = {}


def read_stamp(path: Path) -> tuple[int, int] | None:
    """The (size, mtime_ns) of `path` when this process loaded heads from it; None if it has not."""
    with _lock:
        return _read_stamps.get(str(path))


@lru_cache(maxsize=4)
def _cached(path: str) -> Heads:
    try:
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (-1, -1)
    heads = read_heads(Path(path))
    _read_stamps[path] = stamp  # stat first: a file replaced meanwhile is seen as changed later
    return heads


def load_heads(path: Path | None = None) -> Heads:
    """The shipped heads (read once per process)."""
    with _lock:
        return _cached(str(path or resources_dir() / HEADS_NAME))
