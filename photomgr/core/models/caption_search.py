"""Decoding a batch of photos into word ids: beam search (beam 1 is greedy decoding).

All photos and their beams advance together, one word per step, with the decoder's cached keys
and values reordered to follow the surviving beams; a finished beam stays as it is (its score
no longer changes) until every beam of every photo has finished or the length limit is hit.
"""

from __future__ import annotations

import torch

from photomgr.core.models.caption_decoder import KV, CaptionDecoder
from photomgr.core.models.caption_vocab import BOS_ID, EOS_ID, MAX_WORDS, PAD_ID, UNK_ID


def _expand(kv: list[KV], beam: int) -> list[KV]:
    return [(k.repeat_interleave(beam, 0), v.repeat_interleave(beam, 0)) for k, v in kv]


def beam_search(model: CaptionDecoder, maps: torch.Tensor, *, beam: int = 3, length_penalty: float = 0.0,
                max_words: int = MAX_WORDS) -> list[list[int]]:
    """(N, C, 7, 7) feature maps -> N lists of word ids (no BOS/EOS), at most `max_words` long.

    The best finished beam is the one with the highest log-probability / length**length_penalty
    (0: plain log-probability, which favours short sentences; 1: mean per word).
    """
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
        logp = torch.log_softmax(logits.float(), dim=-1)
        logp[:, [PAD_ID, BOS_ID, UNK_ID]] = float("-inf")  # never written: an unknown word reads badly
        if position == max_words:  # the last step may only close the sentence
            logp[:, :EOS_ID] = float("-inf")
            logp[:, EOS_ID + 1:] = float("-inf")
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
