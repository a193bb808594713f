"""caption_infer.FastGreedy: the indexing decoder must write the training module's words.

The reference here recomputes the whole sentence so far at every step (teacher forcing through
CaptionDecoder.forward, no cache at all), so the preallocated key/value cache, the fused
products and the dropping of closed sentences are all checked against the plain network.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from photomgr.core.models.caption_decoder import CaptionDecoder, DecoderConfig
from photomgr.core.models.caption_infer import FastGreedy, _Linear
from photomgr.core.models.caption_search import _beam_search, greedy_search
from photomgr.core.models.caption_vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID


def full_greedy(model: CaptionDecoder, maps: torch.Tensor, max_words: int) -> list[list[int]]:
    """Greedy decoding the slow way: every sentence so far through the whole network for each
    word (all photos stay in the batch; a closed sentence's later words are ignored)."""
    ids = torch.full((maps.shape[0], 1), BOS_ID)
    for position in range(max_words + 1):
        logits = model(maps, ids)[:, -1]
        logits[:, [PAD_ID, BOS_ID, UNK_ID]] = float("-inf")
        word = logits.argmax(dim=1) if position < max_words else torch.full_like(ids[:, 0], EOS_ID)
        ids = torch.cat([ids, word[:, None]], dim=1)
    out = []
    for row in ids[:, 1:].tolist():
        out.append(row[:row.index(EOS_ID)])
    return out


def tiny_model(seed: int, eos_bias: float) -> CaptionDecoder:
    """A small random decoder whose sentences close at different steps (`eos_bias` on EOS)."""
    torch.manual_seed(seed)
    model = CaptionDecoder(DecoderConfig(vocab_size=40, width=32, heads=2, max_tokens=20)).eval()
    with torch.no_grad():
        model.head.bias[EOS_ID] += eos_bias
    return model


# (seed, EOS bias): sentences of 6-18 words, of 4-8 words, of 4-7 words; none closing early
@pytest.mark.parametrize(("seed", "eos_bias"), [(0, 1.2), (0, 1.5), (2, 0.9), (1, 0.0)])
def test_fast_greedy_writes_the_full_decodes_words(seed: int, eos_bias: float) -> None:
    model = tiny_model(seed, eos_bias)
    torch.manual_seed(100 + seed)
    maps = torch.rand(12, 1280, 7, 7) * 2
    max_words = model.cfg.max_tokens - 2
    with torch.inference_mode():
        reference = full_greedy(model, maps, max_words)
        assert FastGreedy(model)(maps) == reference
        assert greedy_search(model, maps) == reference
        assert _beam_search(model, maps, beam=1, length_penalty=0.0, max_words=max_words) == reference
        shorter = FastGreedy(model)(maps, max_words=5)
    assert shorter == full_greedy(model, maps, 5)
    lengths = sorted(len(seq) for seq in reference)
    if eos_bias:  # sentences closed at different steps: the batch was compacted on the way
        assert len(set(lengths)) >= 3 and lengths[len(lengths) // 2] < max_words
    else:  # every sentence ran to the limit, where the last step may only close it
        assert set(lengths) == {max_words}


def test_fast_greedy_never_writes_special_words_and_handles_empty_batches() -> None:
    model = tiny_model(3, 0.0)
    with torch.no_grad():  # make the words it may never write the most likely ones
        model.head.bias[[PAD_ID, BOS_ID, UNK_ID]] += 50.0
    for dtype in (torch.float32, torch.bfloat16):
        fast = FastGreedy(model, dtype)
        with torch.inference_mode():
            out = fast(torch.rand(5, 1280, 7, 7), max_words=7)
            assert fast(torch.rand(0, 1280, 7, 7)) == []
        assert len(out) == 5
        assert all(len(seq) <= 7 and not {PAD_ID, BOS_ID, UNK_ID, EOS_ID} & set(seq) for seq in out)


def test_bfloat16_products_equal_plain_bfloat16_linear() -> None:
    # the oneDNN-packed weight is only a faster layout: the products must not change
    torch.manual_seed(4)
    weight, bias = torch.randn(96, 64), torch.randn(96)
    lin = _Linear(weight, bias, torch.bfloat16)
    x = torch.randn(3, 7, 64).to(torch.bfloat16)
    expected = F.linear(x, weight.to(torch.bfloat16), bias.to(torch.bfloat16))
    assert torch.equal(lin(x), expected)
    assert _Linear(weight, bias, torch.float32).packed is None


def test_bfloat16_decoding_mostly_agrees_with_float32() -> None:
    # bf16 changes a word where two are nearly tied; on a decoder with clear margins (trained,
    # or here a random one with scaled-up logits) the sentences stay the same
    model = tiny_model(5, 1.0)
    with torch.no_grad():
        model.head.weight *= 4
    maps = torch.rand(16, 1280, 7, 7)
    with torch.inference_mode():
        exact = FastGreedy(model, torch.float32)(maps)
        half = FastGreedy(model, torch.bfloat16)(maps)
    assert sum(a == b for a, b in zip(exact, half, strict=True)) >= 12
