"""Decoding a batch of photos into word ids: beam search (beam 1 is greedy decoding).

All photos and their beams advance together, one word per step, with the decoder's cached keys
and values reordered to follow the surviving beams; a finished beam stays as it is (its score
no longer changes) until every beam of every photo has finished or the length limit is hit.
"""

from __future__ import annotations

import torch

from photomgr.core.models.caption_decoder import KV, CaptionDecoder
from photomgr.core.models.caption_vocab import BOS_ID, EOS_ID, MAX_WORDS, PAD_ID, UNK_ID


def _allowed(scores: torch.Tensor, *, last: bool) -> torch.Tensor:
    """`scores` (rows, vocab) with the words that may not be written at this step at -inf, in place."""
    scores[:, [PAD_ID, BOS_ID, UNK_ID]] = float("-inf")  # never written: an unknown word reads badly
    if last:  # the last step may only close the sentence
        scores[:, :EOS_ID] = float("-inf")
        scores[:, EOS_ID + 1:] = float("-inf")
    return scores


def _expand(kv: list[KV], beam: int) -> list[KV]:
    return [(k.repeat_interleave(beam, 0), v.repeat_interleave(beam, 0)) for k, v in kv]


def beam_search(model: CaptionDecoder, maps: torch.Tensor, *, beam: int = 3, length_penalty: float = 0.0,
                max_words: int = MAX_WORDS) -> list[list[int]]:
    """(N, C, 7, 7) feature maps -> N lists of word ids (no BOS/EOS), at most `max_words` long.

    The best finished beam is the one with the highest log-probability / length**length_penalty
    (0: plain log-probability, which favours short sentences; 1: mean per word).
    """
    if beam == 1:
        return greedy_search(model, maps, max_words=max_words)
    return _beam_search(model, maps, beam=beam, length_penalty=length_penalty, max_words=max_words)


def _beam_search(model: CaptionDecoder, maps: torch.Tensor, *, beam: int, length_penalty: float,
                 max_words: int) -> list[list[int]]:
    n = maps.shape[0]
    if n == 0:
        return []
    max_words = min(max_words, model.cfg.max_tokens - 2)
    image = _expand(model.encode(maps), beam)
    rows = n * beam
    device = maps.device
    tokens = torch.full((rows, 1), BOS_ID, dtype=torch.long, device=device)
    scores = torch.zeros(n, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one until the first split
    finished = torch.zeros(rows, dtype=torch.bool, device=device)
    lengths = torch.zeros(rows, device=device)  # words + the closing EOS
    cache: list[KV] | None = None
    base = (torch.arange(n, device=device) * beam).unsqueeze(1)
    for position in range(max_words + 1):
        logits, cache = model.step(tokens[:, -1:], position, image, cache)
        logp = _allowed(torch.log_softmax(logits.float(), dim=-1), last=position == max_words)
        logp[finished] = float("-inf")
        logp[finished, PAD_ID] = 0.0  # a finished beam carries on unchanged, writing padding
        vocab = logp.shape[1]
        top = (scores.reshape(rows, 1) + logp).reshape(n, beam * vocab).topk(beam, dim=1)
        source = (base + top.indices // vocab).reshape(-1)
        word = (top.indices % vocab).reshape(-1)
        was_finished = finished[source]
        tokens = torch.cat([tokens[source], word.unsqueeze(1)], dim=1)
        lengths = lengths[source] + (~was_finished).float()
        finished = was_finished | (word == EOS_ID)
        cache = [(k[source], v[source]) for k, v in cache]
        scores = top.values
        if bool(finished.all()):
            break
    ranked = scores / lengths.clamp(min=1).reshape(n, beam) ** length_penalty
    best = (base.squeeze(1) + ranked.argmax(dim=1)).tolist()
    out = []
    for row in best:
        ids = [int(i) for i in tokens[row, 1:].tolist()]
        out.append([i for i in ids[:ids.index(EOS_ID)] if i != PAD_ID] if EOS_ID in ids else ids)
    return out


def greedy_search(model: CaptionDecoder, maps: torch.Tensor, *,
                  max_words: int = MAX_WORDS) -> list[list[int]]:
    """Beam 1, with finished sentences dropped from the batch as they close.

    The same words as `beam_search(beam=1)`, but a batch no longer runs as many steps as its
    longest sentence for every photo: on Caltech the mean sentence is ~10 words and a batch of
    32 runs ~20 steps.
    """
    n = maps.shape[0]
    if n == 0:
        return []
    max_words = min(max_words, model.cfg.max_tokens - 2)
    image = model.encode(maps)
    rows = torch.arange(n, device=maps.device)  # the photo of each row still being written
    ids = torch.full((n, 1), BOS_ID, dtype=torch.long, device=maps.device)
    out: list[list[int]] = [[] for _ in range(n)]
    cache: list[KV] | None = None
    for position in range(max_words + 1):
        logits, cache = model.step(ids, position, image, cache)
        word = _allowed(logits, last=position == max_words).argmax(dim=1)
        going = word != EOS_ID
        for row, w in zip(rows.tolist(), word.tolist(), strict=True):
            if w != EOS_ID:
                out[row].append(w)
        if not bool(going.any()):
            break
        if not bool(going.all()):
            rows, word = rows[going], word[going]
            image = [(k[going], v[going]) for k, v in image]
            cache = [(k[going], v[going]) for k, v in cache]
        ids = word.unsqueeze(1)
    return out
