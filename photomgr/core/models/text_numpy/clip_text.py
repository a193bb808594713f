"""CLIP's text tower in numpy, from a text-only weights file extracted once from the checkpoint.

A query or a label edit needs CLIP's text tower only. Loading it through open_clip costs an
import of torch, torchvision and open_clip (seconds) before any work. Instead, the first time a
checkpoint is used (`photomgr model use clip`, or the first text load) its text tensors are
written, as float32, to a safetensors file in the model cache, together with the tower's
shape and activation; from then on `NumpyClipTextEncoder` reads that file and runs the tower
with numpy: token + position embedding, pre-norm residual blocks under a causal mask, final
LayerNorm, the end token's features times `text_projection`.

The cache file is named by a hash of the checkpoint's path, size and modification time and of
the architecture and pretrained tag, so a replaced or edited checkpoint is never served from a
stale extract. Only open_clip's plain text tower is supported (the ViT CLIPs'); any other
architecture keeps using open_clip.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photomgr.core.models.base import ModelInfo, ModelUnavailable, l2_normalise
from photomgr.core.models.prompts import PromptedText
from photomgr.core.models.text_numpy.clip_bpe import ClipTokenizer
from photomgr.core.models.text_numpy.ops import (
    MASKED,
    attention,
    gelu,
    layer_norm,
    linear,
    one_blas_thread,
    quick_gelu,
)
from photomgr.core.models.text_numpy.weights import SafetensorsWeights
from photomgr.core.tempfiles import make_temp

if TYPE_CHECKING:
    from photomgr.core.models.base import TextEncoder

FORMAT = "photomgr-clip-text"
FORMAT_VERSION = "1"
LAYER_NORM_EPS = 1e-5  # open_clip's LayerNorm
TEXT_PREFIXES = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")
# text_cfg keys of open_clip's plain tower; any other key (a pooling, a mask, an HF model...) means
# a tower this module does not implement
_PLAIN_TEXT_CFG = {"context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio"}
CACHE_ENV = "PHOTOMGR_MODEL_CACHE"


def model_cache_dir() -> Path:
    """Where derived model files live: $PHOTOMGR_MODEL_CACHE, else the user's cache folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return platformdirs.user_cache_path("photomgr", appauthor=False) / "models"


def text_cache_path(model_name: str, pretrained: str, weights: Path) -> Path:
    """The extract's file for this checkpoint as it is now (path, size, mtime)."""
    path = Path(weights).resolve()
    st = path.stat()
    key = "|".join([FORMAT_VERSION, model_name, pretrained, str(path), str(st.st_size), str(st.st_mtime_ns)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
    return model_cache_dir() / f"clip-text-{safe_name}-{digest}.safetensors"


# -- the numpy tower --------------------------------------------------------------------------------

class _Block:
    """A pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, w: SafetensorsWeights, prefix: str) -> None:
        def linear_of(weight: str, bias: str) -> tuple[np.ndarray, np.ndarray]:
            return w[f"{prefix}.{weight}"].T, w[f"{prefix}.{bias}"]  # a view: BLAS takes it as is

        self.ln1 = (w[f"{prefix}.ln_1.weight"], w[f"{prefix}.ln_1.bias"])
        self.qkv = linear_of("attn.in_proj_weight", "attn.in_proj_bias")
        self.out = linear_of("attn.out_proj.weight", "attn.out_proj.bias")
        self.ln2 = (w[f"{prefix}.ln_2.weight"], w[f"{prefix}.ln_2.bias"])
        self.up = linear_of("mlp.c_fc.weight", "mlp.c_fc.bias")
        self.down = linear_of("mlp.c_proj.weight", "mlp.c_proj.bias")

    def __call__(self, x: np.ndarray, mask: np.ndarray, heads: int, act: Any) -> np.ndarray:
        q, k, v = np.split(linear(layer_norm(x, *self.ln1, LAYER_NORM_EPS), *self.qkv), 3, axis=-1)
        x = x + linear(attention(q, k, v, heads, mask), *self.out)
        return x + linear(act(linear(layer_norm(x, *self.ln2, LAYER_NORM_EPS), *self.up)), *self.down)


class NumpyClipTower:
    """Token ids (n, 77) -> (n, embed_dim) unit text features, as open_clip's encode_text."""

    def __init__(self, path: Path) -> None:
        self.weights = w = SafetensorsWeights(path)
        meta = w.metadata
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path} is not a photomgr CLIP text extract of version {FORMAT_VERSION}")
        self.heads = int(meta["heads"])
        self.act = quick_gelu if meta["act"] == "quick_gelu" else gelu
        self.position = w["positional_embedding"]
        self.blocks = [_Block(w, f"transformer.resblocks.{i}") for i in range(int(meta["layers"]))]
        self.ln_final = (w["ln_final.weight"], w["ln_final.bias"])
        self.projection = w["text_projection"]
        self.embed_dim = int(self.projection.shape[1])
        self.context_length = int(self.position.shape[0])

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        end = tokens.argmax(axis=1)  # the end token has the highest id: where the tower pools
        # Causal attention: no position sees a later one, so everything after the last end token
        # (padding) cannot change the pooled features and is never computed.
        length = int(end.max()) + 1
        ids = tokens[:, :length]
        x = self.weights.rows("token_embedding.weight", ids) + self.position[:length]
        causal = np.triu(np.full((length, length), MASKED, np.float32), k=1)
        with one_blas_thread():
            for block in self.blocks:
                x = block(x, causal, self.heads, self.act)
            pooled = layer_norm(x[np.arange(len(x)), end], *self.ln_final, LAYER_NORM_EPS)
            return l2_normalise(pooled @ self.projection)


class NumpyClipTextEncoder(PromptedText):
    """Label and query vectors of a CLIP model from its text extract: the same vectors as
    ClipEmbedder/ClipTextEncoder (same prompt templates), without torch. Thread-safe."""

    def __init__(self, model_name: str, pretrained: str, extract: Path) -> None:
        try:
            self.tower = NumpyClipTower(extract)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailable(f"the CLIP text extract {extract} is unusable: {exc}") from exc
        self.tokenizer = ClipTokenizer(context_length=self.tower.context_length)
        self.device = "cpu"
        dim = self.tower.embed_dim
        self.info = ModelInfo(f"clip:{model_name}:{pretrained}", "clip", image_dim=dim, label_dim=dim,
                              shared_space=True)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.tower(self.tokenizer(list(texts)))


# -- extracting the text tensors from a checkpoint (needs torch and open_clip) -----------------------

def plain_text_tower(cfg: dict[str, Any]) -> bool:
    """Whether open_clip's model config describes the text tower NumpyClipTower implements."""
    text_cfg = cfg.get("text_cfg", {})
    return (isinstance(text_cfg, dict) and not cfg.get("custom_text") and not cfg.get("multimodal_cfg")
            and set(text_cfg) <= _PLAIN_TEXT_CFG)


def write_text_extract(model_name: str, pretrained: str, weights: Path,
                       state: dict[str, Any] | None = None) -> Path | None:
    """Write the text extract of a checkpoint (atomically) unless it exists; its path, or None
    for an architecture NumpyClipTower does not implement. `state`: the text tensors when the
    caller already holds them (a loaded text tower), else they are read from `weights`."""
    from photomgr.core.models.clip_backend import _model_config, read_state_dict

    target = text_cache_path(model_name, pretrained, weights)
    if target.is_file():
        return target
    cfg = _model_config(model_name, pretrained)
    if not plain_text_tower(cfg):
        return None
    if state is None:
        state = read_state_dict(Path(weights))
    tensors = {k: v.detach().float().contiguous().cpu().numpy() for k, v in state.items()
               if k.startswith(TEXT_PREFIXES)}
    text_cfg = cfg["text_cfg"]
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": model_name, "pretrained": pretrained,
            "heads": str(int(text_cfg.get("heads", 8))), "layers": str(int(text_cfg.get("layers", 12))),
            "act": "quick_gelu" if cfg.get("quick_gelu") else "gelu",
            "source": json.dumps({"path": str(Path(weights).resolve())})}
    return _save_atomically(tensors, meta, target)


def _save_atomically(tensors: dict[str, np.ndarray], meta: dict[str, str], target: Path) -> Path:
    from safetensors.numpy import save_file

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp(target.parent, ".clip-text-")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, target)  # a reader sees the whole file or none
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def prepare_text_extract(model_name: str, pretrained: str, weights: Path) -> Path | None:
    """Best effort, for `model use clip`: make the extract now, so the first query is fast.
    A failure here only means the first text load does it (or uses open_clip)."""
    try:
        return write_text_extract(model_name, pretrained, weights)
    except (OSError, ValueError, ModelUnavailable):
        return None


def extract_from_loaded(model_name: str, pretrained: str, weights: Path, model: Any) -> Path | None:
    """Best effort, when the full CLIP model has just been loaded (an index, the GUI): write the
    extract from its tensors unless it exists (a stat when it does)."""
    try:
        if text_cache_path(model_name, pretrained, weights).is_file():
            return None
        state = {k: v for k, v in model.state_dict().items() if k.startswith(TEXT_PREFIXES)}
        return write_text_extract(model_name, pretrained, weights, state=state)
    except (OSError, ValueError, ModelUnavailable):
        return None


def load_clip_text_encoder(model_name: str, pretrained: str, weights: Path,
                           *, device: str | None = None) -> TextEncoder:
    """The text side of a CLIP checkpoint: numpy from its extract when there is one (or can be
    made); open_clip's text tower otherwise, writing the extract for next time."""
    try:
        extract: Path | None = text_cache_path(model_name, pretrained, weights)
    except OSError as exc:
        raise ModelUnavailable(f"CLIP weights {weights} cannot be read: {exc}") from exc
    if extract is not None and extract.is_file() and device in (None, "cpu"):
        try:
            return NumpyClipTextEncoder(model_name, pretrained, extract)
        except ModelUnavailable:
            pass  # damaged (a full disk?): made again below
    from photomgr.core.models.clip_backend import ClipTextEncoder
    from photomgr.core.models.registry import pick_device

    encoder = ClipTextEncoder(model_name, pretrained, weights, device=device or pick_device())
    with contextlib.suppress(OSError, ValueError):  # an optimisation only: the next load tries again
        write_text_extract(model_name, pretrained, weights, state=encoder.model.state_dict())
    return encoder
