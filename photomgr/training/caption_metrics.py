"""BLEU-1..4 and CIDEr of generated sentences against reference captions.

The scorers are pycocoevalcap's own Bleu and Cider classes (the MS-COCO caption evaluation),
used directly. Their usual front end, the Stanford PTB tokenizer, needs Java; instead every
sentence (generated and reference) goes through the captioner's own normalisation
(caption_vocab.words: lower case, alphabetic words), then is joined by spaces, which is what the
scorers split on. pycocoevalcap is in the `bench` extra: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from photomgr.core.models.caption_vocab import words


class ScorerMissing(Exception):
    """pycocoevalcap is not installed; the message says how to install it."""


def normalise(text: str) -> str:
    return " ".join(words(text))


def caption_scores(generated: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """{"bleu1".."bleu4", "cider"} over the photos in `generated` (corpus-level, as in COCO)."""
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
    except ImportError as exc:
        raise ScorerMissing("caption scores need pycocoevalcap: pip install -e '.[bench]'") from exc
    keys = sorted(generated)
    if not keys:
        raise ValueError("no generated captions to score")
    res = {k: [normalise(generated[k]) or "empty"] for k in keys}
    gts = {k: [normalise(r) for r in references[k]] for k in keys}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    out = {f"bleu{i + 1}": float(b) for i, b in enumerate(bleu)}
    out["cider"] = float(cider)
    return out
