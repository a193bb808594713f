"""Turning a label's texts into the sentences a text encoder embeds.

A label arrives as a list of texts: its name when the user gave no prompts, else the user's
prompts. Rules, shared by both backends:

- A text containing "{}" is a template; it is filled with each plain text of the label
  (``["dog", "a drawing of a {}"]`` -> "a drawing of a dog"). A template with no plain text to
  fill it is used with the braces removed.
- A plain text that looks like a name (a few words, not already a sentence such as
  "a photo of ...") is expanded with the backend's default templates; anything longer is the
  user's own prompt and is embedded exactly as written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from photomgr.core.models.base import l2_normalise, label_texts

_MAX_NAME_WORDS = 4
_SENTENCE_STARTS = ("a ", "an ", "the ", "photo ", "picture ", "image ", "itap ")


def is_name(text: str) -> bool:
    """True for "golden retriever", False for "a photo of my dog on the beach"."""
    lowered = text.lower()
    return len(text.split()) <= _MAX_NAME_WORDS and not lowered.startswith(_SENTENCE_STARTS)


def fill(template: str, name: str) -> str:
    """str.format without its pitfalls: other braces in user text are kept verbatim."""
    return template.replace("{}", name)


def expand_prompts(prompts: Sequence[str] | str, templates: Sequence[str]) -> list[str]:
    """The sentences to embed for one label (see module docstring); never empty."""
    texts = label_texts(prompts)
    user_templates = [t for t in texts if "{}" in t]
    plain = [t for t in texts if "{}" not in t]
    out: list[str] = []
    if user_templates:
        if plain:
            out += [fill(t, name) for t in user_templates for name in plain]
        else:
            out += [" ".join(fill(t, "").split()) for t in user_templates]
    else:
        for text in plain:
            out += [fill(t, text) for t in templates] if is_name(text) and templates else [text]
    return [t for t in out if t] or texts


# -- CLIP: labels and queries as the mean direction of prompt-template sentences ------------------

# A few of CLIP's ImageNet prompt templates: an ensemble is steadier than any single prompt.
CLIP_TEMPLATES = (
    "a photo of {}.",
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a photo of many {}.",
    "a good photo of a {}.",
    "itap of a {}.",
)
CLIP_QUERY_TEMPLATES = ("a photo of {}.",)


class PromptedText:
    """Labels and queries as CLIP sees them: the mean direction of prompt-template sentences.
    Shared by the full model, its text tower alone and the numpy tower, so all give the same
    vectors. Here, not in clip_backend.py: the numpy tower must not import torch."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def _mean_direction(self, sentences: Sequence[str]) -> np.ndarray:
        return l2_normalise(self.embed_texts(sentences).mean(axis=0))

    def embed_label(self, prompts: Sequence[str]) -> np.ndarray:
        return self._mean_direction(expand_prompts(prompts, CLIP_TEMPLATES))

    def embed_query(self, text: str) -> np.ndarray:
        text = text.strip()
        if not text:
            raise ValueError("an empty search query")
        return self._mean_direction([text, *(t.replace("{}", text) for t in CLIP_QUERY_TEMPLATES)])
