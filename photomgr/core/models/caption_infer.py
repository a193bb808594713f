"""Greedy decoding for indexing: the trained CaptionDecoder repacked for few, large operations.

`caption_search.greedy_search` runs the training module one word at a time; inside the indexing
pipeline most of its cost was not arithmetic but the number of operations per step (each a
parallel region the second OpenMP thread must wake up for while the decode workers hold the
cores) and tensor copies: the image keys/values gathered per layer and per tensor whenever a
sentence closed, the word cache grown by torch.cat. This module computes the same network with:

- one matrix product for each self-attention's query, key and value, and one for both
  decoder layers' image keys/values;
- every layer's image keys/values in one tensor and the words' keys/values in one
  preallocated cache, so dropping closed sentences is two gathers, and only once a quarter
  of the rows have closed (a closed row costs a step's arithmetic; a gather copies every
  row's cache);
- the words that may never be written (<pad>, <bos>, <unk>) excluded through the output
  layer's bias, and the last allowed step (which may only close the sentence) not computed;
- the chosen word by `max(...).indices` (argmax's slow reduction cost 3x as much);
- optionally bfloat16 weights, so the matrix products use the CPU's bf16 units (AMX /
  AVX512-BF16) like the image tower (cpu_inference.py), packed once for oneDNN; the output
  layer, which picks the word, stays float32.
"""

from __future__ import annotations

from typing import cast

import torch
from torch.nn import functional as F

from photomgr.core.models.caption_decoder import CaptionDecoder, DecoderLayer, EncoderLayer
from photomgr.core.models.caption_vocab import BOS_ID, EOS_ID, MAX_WORDS, PAD_ID, UNK_ID

COMPACT_AT = 0.75  # gather the still-open sentences once at most this share of the rows is open


class _Linear:
    """weight (out, in) and bias of an nn.Linear, in the decoding dtype; in bfloat16 on the CPU,
    the weight is packed once into oneDNN's blocked layout (`_packed`)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype) -> None:
        self.weight = weight.detach().to(dtype).contiguous()
        self.bias = bias.detach().to(dtype).contiguous()
        self.packed = _packed(self.weight, self.bias)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return F.linear(x, self.weight, self.bias)
        rows = x.reshape(-1, x.shape[-1])
        y = torch.ops.mkldnn._linear_pointwise(rows, self.packed, self.bias, "none", [], "")
        return cast(torch.Tensor, y).view(*x.shape[:-1], -1)


def _packed(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor | None:
    """The weight reordered for oneDNN, or None where that does not apply or would change a result.

    F.linear on a bfloat16 CPU tensor reorders the weight on every call; for the decoder's
    products (a few dozen rows) that was a third of their cost. The packed weight gives
    bit-identical results (checked here on a sample, else not used).
    """
    if weight.dtype != torch.bfloat16 or weight.device.type != "cpu":
        return None
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        packed = cast(torch.Tensor, torch.ops.mkldnn._reorder_linear_weight(weight, 32))
        sample = torch.randn(5, weight.shape[1], generator=torch.Generator().manual_seed(0)).to(weight.dtype)
        got = torch.ops.mkldnn._linear_pointwise(sample, packed, bias, "none", [], "")
    except (AttributeError, RuntimeError):  # an older or a non-oneDNN build of torch
        return None
    return packed if torch.equal(got, F.linear(sample, weight, bias)) else None


class _Norm:
    def __init__(self, norm: torch.nn.LayerNorm, dtype: torch.dtype) -> None:
        self.shape = norm.normalized_shape
        self.weight = norm.weight.detach().to(dtype).contiguous()
        self.bias = norm.bias.detach().to(dtype).contiguous()
        self.eps = norm.eps

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.shape, self.weight, self.bias, self.eps)


def _linear(layer: torch.nn.Module, dtype: torch.dtype) -> _Linear:
    lin = cast(torch.nn.Linear, layer)
    return _Linear(lin.weight, lin.bias, dtype)


class _DecoderStep:
    """One decoder layer's weights, packed."""

    def __init__(self, layer: DecoderLayer, dtype: torch.dtype) -> None:
        a, c = layer.self_attn, layer.cross_attn
        self.norm1, self.norm2, self.norm3 = (_Norm(n, dtype)
                                              for n in (layer.norm1, layer.norm2, layer.norm3))
        self.qkv = _Linear(torch.cat([a.q.weight, a.kv.weight]), torch.cat([a.q.bias, a.kv.bias]), dtype)
        self.self_out = _linear(a.out, dtype)
        self.cross_q = _linear(c.q, dtype)
        self.cross_out = _linear(c.out, dtype)
        self.ff1, self.ff2 = _linear(layer.ff[0], dtype), _linear(layer.ff[3], dtype)


class FastGreedy:
    """CaptionDecoder's greedy decoding for inference only (no dropout, no gradients)."""

    def __init__(self, model: CaptionDecoder, dtype: torch.dtype = torch.float32) -> None:
        cfg = model.cfg
        self.cfg, self.dtype = cfg, dtype
        self.heads, self.width = cfg.heads, cfg.width
        self.project = _linear(model.project[0], dtype)
        self.project_norm = _Norm(cast(torch.nn.LayerNorm, model.project[1]), dtype)
        self.image_pos = model.image_pos.detach().to(dtype)
        self.encoder = [(_Norm(e.norm1, dtype), _Linear(torch.cat([e.attn.q.weight, e.attn.kv.weight]),
                                                        torch.cat([e.attn.q.bias, e.attn.kv.bias]), dtype),
                         _linear(e.attn.out, dtype), _Norm(e.norm2, dtype),
                         _linear(e.ff[0], dtype), _linear(e.ff[3], dtype))
                        for e in cast(list[EncoderLayer], list(model.encoder))]
        self.image_norm = _Norm(model.image_norm, dtype)
        layers = cast(list[DecoderLayer], list(model.layers))
        # every decoder layer's image keys/values from one product: (W) -> (layers * 2 * W)
        self.image_kv = _Linear(torch.cat([layer.cross_attn.kv.weight for layer in layers]),
                                torch.cat([layer.cross_attn.kv.bias for layer in layers]), dtype)
        self.layers = [_DecoderStep(layer, dtype) for layer in layers]
        self.embed = model.embed.weight.detach().to(dtype).contiguous()
        self.token_pos = model.token_pos.detach().to(dtype).contiguous()
        # the output layer in float32 whatever `dtype`: bfloat16 logits (8-bit mantissa, steps of
        # 0.06 at 10) tie or swap close words; in float32 on Caltech maps 97 % of the sentences
        # match float32 decoding's instead of 91 %, for ~0.2 ms a photo (docs/benchmarks.md §12)
        self.norm = _Norm(model.norm, torch.float32)
        bias = model.head.bias.detach().clone()
        bias[[PAD_ID, BOS_ID, UNK_ID]] = float("-inf")  # never written: an unknown word reads badly
        self.head = _Linear(model.head.weight, bias, torch.float32)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, W) -> (N, heads, T, W / heads)."""
        n, t, _ = x.shape
        return x.view(n, t, self.heads, -1).transpose(1, 2)

    def encode(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, C, 7, 7) maps -> image keys/values of every decoder layer, (layers, 2, N, heads, 49, d)."""
        x = maps.flatten(2).transpose(1, 2).to(self.dtype)  # (N, 49, C)
        x = self.project_norm(self.project(x)) + self.image_pos
        n, t, w = x.shape
        for norm1, qkv, out, norm2, ff1, ff2 in self.encoder:
            q, k, v = qkv(norm1(x)).split(w, dim=2)
            q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
            y = F.scaled_dot_product_attention(q, k, v)
            x = x + out(y.transpose(1, 2).reshape(n, t, w))
            x = x + ff2(F.gelu(ff1(norm2(x))))
        kv = self.image_kv(self.image_norm(x))  # (N, 49, layers * 2 * W)
        d = w // self.heads
        return kv.view(n, t, len(self.layers), 2, self.heads, d).permute(2, 3, 0, 4, 1, 5).contiguous()

    def step(self, ids: torch.Tensor, position: int, image: torch.Tensor,
             cache: torch.Tensor) -> torch.Tensor:
        """(rows,) newest word ids at `position` -> (rows,) next word ids; writes this word's
        keys/values into `cache` (layers, 2, rows, heads, positions, d)."""
        rows, w, heads = ids.shape[0], self.width, self.heads
        d = w // heads
        x = F.embedding(ids, self.embed) + self.token_pos[position]  # (rows, W)
        for i, layer in enumerate(self.layers):
            q, kv = layer.qkv(layer.norm1(x)).split([w, 2 * w], dim=1)
            cache[i, :, :, :, position] = kv.view(rows, 2, heads, d).transpose(0, 1)
            seen = cache[i, :, :, :, :position + 1]  # this word's and the earlier words'
            y = F.scaled_dot_product_attention(q.view(rows, heads, 1, d), seen[0], seen[1])
            x = x + layer.self_out(y.view(rows, w))
            q = layer.cross_q(layer.norm2(x)).view(rows, heads, 1, d)
            y = F.scaled_dot_product_attention(q, image[i, 0], image[i, 1])
            x = x + layer.cross_out(y.view(rows, w))
            x = x + layer.ff2(F.gelu(layer.ff1(layer.norm3(x))))
        # max(...).indices: the same first-of-ties word as argmax, at a third of its cost here
        return self.head(self.norm(x.float())).max(dim=1).indices

    def __call__(self, maps: torch.Tensor, *, max_words: int = MAX_WORDS) -> list[list[int]]:
        """(N, C, 7, 7) feature maps -> N lists of word ids (no BOS/EOS), at most `max_words`."""
        n = maps.shape[0]
        if n == 0:
            return []
        max_words = min(max_words, self.cfg.max_tokens - 2)
        image = self.encode(maps)
        # the words' keys/values, every layer: (layers, 2, rows, heads, positions, d)
        cache = image.new_empty((len(self.layers), 2, n, self.heads, max_words, self.width // self.heads))
        photo = list(range(n))  # the photo of each row
        open_rows = [True] * n
        out: list[list[int]] = [[] for _ in range(n)]
        ids = torch.full((n,), BOS_ID, dtype=torch.long, device=image.device)
        for position in range(max_words):
            rows = len(photo)
            word = self.step(ids, position, image, cache)
            for row, w_id in enumerate(word.tolist()):
                if open_rows[row]:
                    if w_id == EOS_ID:
                        open_rows[row] = False
                    else:
                        out[photo[row]].append(w_id)
            still = sum(open_rows)
            if still == 0:
                return out
            if still <= COMPACT_AT * rows:
                kept = [r for r in range(rows) if open_rows[r]]
                keep = torch.tensor(kept, device=image.device)
                photo = [photo[r] for r in kept]
                image, cache, word = image[:, :, keep], cache[:, :, keep], word[keep]
                open_rows = [True] * still
            ids = word
        return out  # the sentences still open stop here: the last step may only close them
