"""The default captioner's words: a word-level vocabulary and the tokenizer that fills it.

Word level because the training captions are short, plain English (Flickr8k: ~8,900 distinct
words, ~2,900 of them used five times or more): no subword model is needed, and the shipped
vocabulary is a readable list stored in the weights file's metadata.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
MAX_WORDS = 25  # the longest sentence the captioner writes, in words
_WORD = re.compile(r"[a-z]+")


def words(text: str) -> list[str]:
    """Lower-case alphabetic words: "A dog's toy." -> ["a", "dog", "s", "toy"].

    The same rule makes the vocabulary and normalises references for evaluation, so a caption
    and its references are compared word for word.
    """
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Vocab:
    itos: tuple[str, ...]  # id -> word; the first four are SPECIALS

    def __post_init__(self) -> None:
        if tuple(self.itos[:4]) != SPECIALS:
            raise ValueError("a caption vocabulary must start with " + ", ".join(SPECIALS))

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int) -> Vocab:
        """Words seen at least `min_count` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for c in captions for w in words(c))
        kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls((*SPECIALS, *kept))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, max_words: int = MAX_WORDS) -> list[int]:
        """BOS, the first `max_words` word ids (unknown words -> UNK), EOS."""
        index = {w: i for i, w in enumerate(self.itos)}
        return [BOS_ID, *(index.get(w, UNK_ID) for w in words(text)[:max_words]), EOS_ID]

    def decode(self, ids: Sequence[int]) -> str:
        """Word ids (stopping at EOS; specials dropped) -> "A dog runs through the water." """
        out: list[str] = []
        for i in ids:
            if i == EOS_ID:
                break
            if i >= len(SPECIALS):
                out.append(self.itos[i])
        if not out:
            return ""
        sentence = " ".join(out)
        return sentence[0].upper() + sentence[1:] + "."
