"""The default captioner's network: a small Transformer over EfficientNet-Lite0's 7x7 map.

The 49 positions of the frozen backbone's final feature map (1280 channels) are projected to
`width`, given learned position embeddings and mixed by a small Transformer encoder; a
Transformer decoder writes the sentence word by word, cross-attending to them. The same module
trains (teacher forcing, whole sentences) and runs (one word at a time with cached keys and
values, so a word costs one position's work, not the whole prefix's).

Attention is written out here rather than taken from nn.TransformerDecoder because that class
cannot cache the cross-attention keys/values of the image or the self-attention of earlier
words; both matter for CPU decoding inside the indexing pipeline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from photomgr.core.models.caption_vocab import MAX_WORDS


@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int
    feature_dim: int = 1280  # channels of the backbone's final map
    positions: int = 49  # 7 x 7
    width: int = 256
    heads: int = 4
    encoder_layers: int = 1
    decoder_layers: int = 2
    ff_mult: int = 4
    dropout: float = 0.1
    max_tokens: int = MAX_WORDS + 2  # BOS + words + EOS

    def as_metadata(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> DecoderConfig:
        kinds = {k: type(v) for k, v in asdict(cls(vocab_size=1)).items()}
        return cls(**{k: kinds[k](meta[k]) for k in kinds})  # type: ignore[arg-type]


KV = tuple[torch.Tensor, torch.Tensor]


class Attention(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)
        self.dropout = dropout

    def keys_values(self, x: torch.Tensor) -> KV:
        """(N, T, W) -> keys and values, each (N, heads, T, W / heads)."""
        n, t, w = x.shape
        k, v = self.kv(x).view(n, t, 2, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        return k, v

    def forward(self, x: torch.Tensor, kv: KV, causal: bool = False) -> torch.Tensor:
        n, t, w = x.shape
        q = self.q(x).view(n, t, self.heads, w // self.heads).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, kv[0], kv[1], dropout_p=p, is_causal=causal)
        return self.out(y.transpose(1, 2).reshape(n, t, w))


class FeedForward(nn.Sequential):
    def __init__(self, width: int, mult: int, dropout: float) -> None:
        super().__init__(nn.Linear(width, mult * width), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(mult * width, width))


class EncoderLayer(nn.Module):
    """Pre-norm self-attention over the 49 image positions + feed-forward."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(cfg.width), nn.LayerNorm(cfg.width)
        self.attn = Attention(cfg.width, cfg.heads, cfg.dropout)
        self.ff = FeedForward(cfg.width, cfg.ff_mult, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, self.attn.keys_values(h)))
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, cross-attention to the image, feed-forward."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(cfg.width) for _ in range(3))
        self.self_attn = Attention(cfg.width, cfg.heads, cfg.dropout)
        self.cross_attn = Attention(cfg.width, cfg.heads, cfg.dropout)
        self.ff = FeedForward(cfg.width, cfg.ff_mult, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, image_kv: KV, past: KV | None = None) -> tuple[torch.Tensor, KV]:
        """x: all positions (training, past=None, causal mask) or only the newest (decoding,
        past = keys/values of the earlier positions). Returns the output and the updated cache."""
        h = self.norm1(x)
        k, v = self.self_attn.keys_values(h)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        x = x + self.drop(self.self_attn(h, (k, v), causal=past is None))
        x = x + self.drop(self.cross_attn(self.norm2(x), image_kv))
        return x + self.drop(self.ff(self.norm3(x))), (k, v)


class CaptionDecoder(nn.Module):
    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.project = nn.Sequential(nn.Linear(cfg.feature_dim, cfg.width), nn.LayerNorm(cfg.width))
        self.image_pos = nn.Parameter(torch.zeros(cfg.positions, cfg.width))
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.image_norm = nn.LayerNorm(cfg.width)
        self.embed = nn.Embedding(cfg.vocab_size, cfg.width)
        self.token_pos = nn.Parameter(torch.zeros(cfg.max_tokens, cfg.width))
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.decoder_layers))
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.image_pos, std=0.02)
        nn.init.normal_(self.token_pos, std=0.02)
        nn.init.normal_(self.embed.weight, std=0.02)

    def encode(self, maps: torch.Tensor) -> list[KV]:
        """(N, C, 7, 7) feature maps -> each decoder layer's cross-attention keys/values."""
        x = maps.flatten(2).transpose(1, 2).to(self.image_pos.dtype)  # (N, 49, C)
        x = self.drop(self.project(x) + self.image_pos)
        for layer in self.encoder:
            x = layer(x)
        x = self.image_norm(x)
        return [cast(DecoderLayer, layer).cross_attn.keys_values(x) for layer in self.layers]

    def _tokens(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        return self.drop(self.embed(ids) + self.token_pos[start:start + ids.shape[1]])

    def forward(self, maps: torch.Tensor, ids: torch.Tensor,
                owner: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher forcing: (P, C, 7, 7) maps and (N, T) input ids -> (N, T, vocab) next-word
        logits. `owner` (N,): the photo of each sentence (default: sentence i is photo i), so a
        photo with five captions is encoded once."""
        image = self.encode(maps)
        if owner is not None:
            image = [(k[owner], v[owner]) for k, v in image]
        x = self._tokens(ids, 0)
        for layer, kv in zip(self.layers, image, strict=True):
            x, _ = layer(x, kv)
        return self.head(self.norm(x))

    def step(self, ids: torch.Tensor, position: int, image: list[KV],
             cache: list[KV] | None) -> tuple[torch.Tensor, list[KV]]:
        """One decoding step: (N, 1) newest ids at `position` -> (N, vocab) logits, new cache."""
        x = self._tokens(ids, position)
        new_cache = []
        for i, (layer, kv) in enumerate(zip(self.layers, image, strict=True)):
            x, past = layer(x, kv, None if cache is None else cache[i])
            new_cache.append(past)
        return self.head(self.norm(x[:, -1])), new_cache
