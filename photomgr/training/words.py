"""Everyday words for fitting and evaluation: a word "is in" a photo when a caption says it."""

from __future__ import annotations

import re

# Words people type, found in everyday captions. Fitting (train_heads, validation split) and
# evaluation (bench/eval_words.py, held-out split) use the same list on disjoint photos.
EVERYDAY_WORDS = (
    "dog", "man", "woman", "child", "people", "beach", "snow", "water", "grass", "street",
    "mountain", "building", "car", "boy", "girl", "ball", "bike", "bird", "horse", "field",
    "shirt", "crowd", "rock", "sand", "pool", "tree", "city", "wave", "baby", "bench",
)

_TOKEN = re.compile(r"[a-z]+")
_FORMS = {"man": ("man", "men"), "woman": ("woman", "women"), "child": ("child", "children"),
          "people": ("people", "person", "persons"), "baby": ("baby", "babies"),
          "city": ("city", "cities")}


def word_forms(word: str) -> tuple[str, ...]:
    return _FORMS.get(word, (word, word + "s", word + "es"))


def caption_has(word: str, caption: str) -> bool:
    forms = set(word_forms(word))
    return any(t in forms for t in _TOKEN.findall(caption.lower()))
