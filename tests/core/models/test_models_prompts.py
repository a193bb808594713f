"""Prompt expansion rules and device choice: pure functions, no model."""

from __future__ import annotations

import pytest
import torch

from photomgr.core.models.prompts import expand_prompts, is_name
from photomgr.core.models.registry import BACKENDS, clip_model_id, pick_device

TEMPLATES = ("a photo of {}.", "a photo of a {}.")


def test_a_name_gets_the_template_ensemble() -> None:
    assert expand_prompts(["golden retriever"], TEMPLATES) == [
        "a photo of golden retriever.", "a photo of a golden retriever."]
    assert expand_prompts("dog", TEMPLATES) == ["a photo of dog.", "a photo of a dog."]


def test_sentences_are_used_as_written() -> None:
    sentence = "a photo of my dog asleep on the sofa"
    assert expand_prompts([sentence], TEMPLATES) == [sentence]
    assert expand_prompts(["dog", sentence], TEMPLATES) == [
        "a photo of dog.", "a photo of a dog.", sentence]


def test_user_templates_are_filled_with_the_name() -> None:
    assert expand_prompts(["cat", "a drawing of a {}"], TEMPLATES) == ["a drawing of a cat"]
    assert expand_prompts(["a drawing of a {}"], TEMPLATES) == ["a drawing of a"]
    assert expand_prompts(["{weird} {}", "x"], TEMPLATES) == ["{weird} x"]  # other braces kept


def test_empty_texts_are_rejected() -> None:
    with pytest.raises(ValueError):
        expand_prompts([" ", ""], TEMPLATES)


def test_is_name() -> None:
    assert is_name("sea horse") and is_name("New York skyline")
    assert not is_name("an old photo of grandma") and not is_name("one two three four five")


def test_pick_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == "cpu"


def test_backends_and_ids() -> None:
    assert BACKENDS == ("default", "clip")
    assert clip_model_id() == "clip:ViT-B-32:laion2b_s34b_b79k"
