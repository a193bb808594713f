"""CLIP built on the meta device and given the checkpoint's tensors (no random initialisation)
is the same model, with the same transform, as open_clip's own loader makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photomgr.core.models import clip_backend
from photomgr.core.models.clip_backend import ClipEmbedder
from photomgr.core.models.cpu_inference import ENV_PRECISION
from photomgr.core.models.registry import load_embedder
from tests.core.models.conftest import TINY_MODEL, TINY_TAG, TinyClip


def _load(**kwargs: object) -> ClipEmbedder:
    embedder = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu",
                             **kwargs)  # type: ignore[arg-type]
    assert isinstance(embedder, ClipEmbedder)
    return embedder


def _open_clip_path(monkeypatch: pytest.MonkeyPatch) -> ClipEmbedder:
    with monkeypatch.context() as m:
        m.setattr(clip_backend, "_build_on_meta", lambda *a: None)
        return _load()


def _photos() -> list[Image.Image]:
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (90 + 7 * i, 120, 3), dtype=np.uint8))
            for i in range(4)]


def test_meta_build_is_the_open_clip_model(tiny_clip: TinyClip, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PRECISION, "fp32")
    built = clip_backend._build_on_meta(TINY_MODEL, TINY_TAG, tiny_clip.checkpoint)
    assert built is not None  # the tiny checkpoint has exactly the model's tensors: fast path
    fast, reference = _load(), _open_clip_path(monkeypatch)
    a, b = fast.model.state_dict(), reference.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
    assert torch.equal(fast.model.attn_mask, reference.model.attn_mask)
    assert fast.model.visual.preprocess_cfg == reference.model.visual.preprocess_cfg
    photos = _photos()
    batch = torch.stack([fast.preprocess(p) for p in photos])
    assert torch.equal(batch, torch.stack([reference.preprocess(p) for p in photos]))
    np.testing.assert_array_equal(fast.embed_images(batch).image, reference.embed_images(batch).image)
    np.testing.assert_array_equal(fast.embed_label(["a dog"]), reference.embed_label(["a dog"]))


def test_half_precision_checkpoint_runs_in_float32(tiny_clip: TinyClip, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv(ENV_PRECISION, "fp32")
    half = tmp_path / "half.safetensors"
    save_file({k: v.half() for k, v in load_file(str(tiny_clip.checkpoint)).items()}, str(half))
    embedder = _load(clip_weights=half)
    assert {p.dtype for p in embedder.model.parameters()} == {torch.float32}
    assert embedder.embed_label(["dog"]).dtype == np.float32


def test_other_layouts_go_through_open_clip(tiny_clip: TinyClip, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint whose tensors are not exactly the model's (here: one extra) is left to
    open_clip's loader, which converts or rejects it as before."""
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv(ENV_PRECISION, "fp32")
    state = load_file(str(tiny_clip.checkpoint))
    extra = tmp_path / "extra.safetensors"
    save_file({**state, "unexpected.weight": torch.zeros(2)}, str(extra))
    assert clip_backend._build_on_meta(TINY_MODEL, TINY_TAG, extra) is None
    with pytest.raises(Exception, match="could not load CLIP"):
        _load(clip_weights=extra)  # strict open_clip load: the extra key is an error, as before
