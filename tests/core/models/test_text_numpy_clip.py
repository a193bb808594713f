"""CLIP's text side without torch: the BPE tokenizer gives open_clip's ids, the numpy tower
open_clip's vectors, and the text extract it reads is written once, atomically, and never stale."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from photomgr.core.models.base import ModelUnavailable
from photomgr.core.models.clip_backend import ClipTextEncoder
from photomgr.core.models.registry import load_text_encoder
from photomgr.core.models.text_numpy.clip_bpe import ClipTokenizer
from photomgr.core.models.text_numpy.clip_text import (
    NumpyClipTextEncoder,
    NumpyClipTower,
    load_clip_text_encoder,
    text_cache_path,
    write_text_extract,
)
from photomgr.core.models.text_numpy.weights import SafetensorsWeights
from tests.core.models.conftest import TINY_MODEL, TINY_TAG, TinyClip

TEXTS = [
    "a photo of a dog.", "Hello, World!!! It's 2026; we'll see...", "Ünïcödé café naïve — “quotes” ‘x’",
    "红色的汽车 and 東京タワー", "emoji 🐶🐱👍🏽 ok", "tabs\tand\nnewlines\r\n  spaces",
    "&amp;amp;amp; &lt;b&gt; Tom &amp; Jerry", "<start_of_text> hi <end_of_text>", "x" * 300,
    " ".join(["word"] * 100), "don't I'M you're THEY'VE she'd we'll", "123456 3.14159 1e-9", "", "   ",
    "Ｆｕｌｌｗｉｄｔｈ ﬁ ligature", "\x00\x07ctrl\x1b[31mred", "Ã©tÃ© mojibake", "ß ẞ İstanbul ǅ",
    "a" * 80 + " b", "\u200bzero\u200dwidth", "semi;colons,commas.periods!?", "C++ & C# (2024) -- ok",
]


@pytest.fixture(scope="module")
def tokenizer() -> ClipTokenizer:
    return ClipTokenizer()


def test_token_ids_are_open_clips(tokenizer: ClipTokenizer) -> None:
    import open_clip

    theirs = open_clip.get_tokenizer("ViT-B-32")(TEXTS).numpy()
    ours = tokenizer(TEXTS)
    assert ours.dtype == np.int64 and ours.shape == (len(TEXTS), 77)
    for text, a, b in zip(TEXTS, ours, theirs, strict=True):
        assert a.tolist() == b.tolist(), text
    assert (ours[:, -1] == tokenizer.end_id).sum() >= 2  # the long texts were cut and still end


def _tower_state(cfg: dict[str, object], seed: int,
                 quick_gelu: bool) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """A randomly initialised open_clip text tower's tensors (with larger-than-init weights, so
    every block matters)."""
    from open_clip.model import _build_text_tower

    torch.manual_seed(seed)
    tower = _build_text_tower(int(cfg["embed_dim"]), cfg["text_cfg"], quick_gelu=quick_gelu)  # type: ignore[arg-type]
    with torch.no_grad():
        for p in tower.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return tower.eval(), {k: v.contiguous() for k, v in tower.state_dict().items()}


@pytest.mark.parametrize(("width", "layers", "heads", "quick_gelu"), [
    (64, 2, 2, False), (64, 2, 4, True), (512, 12, 8, False)])  # the last: ViT-B-32's own size
def test_numpy_tower_gives_open_clips_vectors(tmp_path: Path, tokenizer: ClipTokenizer, width: int,
                                              layers: int, heads: int, quick_gelu: bool,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from open_clip.factory import _MODEL_CONFIGS

    cfg = {"embed_dim": 32 if width == 64 else 512, "quick_gelu": quick_gelu,
           "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": width, "heads": heads,
                        "layers": layers}}
    monkeypatch.setitem(_MODEL_CONFIGS, "photomgr-test-text", cfg)
    tower, state = _tower_state(cfg, seed=width + layers, quick_gelu=quick_gelu)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"stand-in")  # the extract is keyed by this file; its tensors come from `state`
    extract = write_text_extract("photomgr-test-text", "none", weights, state=state)
    assert extract is not None and extract.is_file()
    ours = NumpyClipTower(extract)(tokenizer(TEXTS))
    with torch.inference_mode():
        theirs = torch.nn.functional.normalize(tower(torch.from_numpy(tokenizer(TEXTS))), dim=-1).numpy()
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, TEXTS[int(cosines.argmin())]
    np.testing.assert_allclose(ours, theirs, atol=5e-4)


def test_registry_extracts_once_then_serves_numpy(tiny_clip: TinyClip, tmp_path: Path) -> None:
    weights = tmp_path / "tiny.safetensors"
    weights.write_bytes(tiny_clip.safetensors_bytes)
    first = load_text_encoder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, clip_weights=weights)
    assert isinstance(first, ClipTextEncoder)  # no extract yet: open_clip, writing one
    extract = text_cache_path(TINY_MODEL, TINY_TAG, weights)
    assert extract.is_file() and not list(extract.parent.glob("*.tmp"))
    second = load_text_encoder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, clip_weights=weights)
    assert isinstance(second, NumpyClipTextEncoder) and second.info == first.info
    for prompts in (["dog"], ["a photo of my dog Rex", "{} on a beach"], ["東京タワー"]):
        assert float(second.embed_label(prompts) @ first.embed_label(prompts)) >= 0.9999
    assert float(second.embed_query("a dog on a beach") @ first.embed_query("a dog on a beach")) >= 0.9999
    # The extract holds the text tower only
    names = SafetensorsWeights(extract).names
    assert "text_projection" in names and not any(n.startswith("visual.") for n in names)


def test_a_changed_checkpoint_is_never_served_from_a_stale_extract(tiny_clip: TinyClip,
                                                                   tmp_path: Path) -> None:
    weights = tmp_path / "tiny.safetensors"
    weights.write_bytes(tiny_clip.safetensors_bytes)
    before = write_text_extract(TINY_MODEL, TINY_TAG, weights)
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert text_cache_path(TINY_MODEL, TINY_TAG, weights) != before
    assert text_cache_path(TINY_MODEL, "other-tag", weights) != text_cache_path(TINY_MODEL, TINY_TAG, weights)


def test_a_damaged_extract_is_made_again(tiny_clip: TinyClip, tmp_path: Path) -> None:
    weights = tmp_path / "tiny.safetensors"
    weights.write_bytes(tiny_clip.safetensors_bytes)
    extract = write_text_extract(TINY_MODEL, TINY_TAG, weights)
    assert extract is not None
    extract.write_bytes(extract.read_bytes()[:5000])  # a truncated file (a full disk)
    with pytest.raises(ModelUnavailable):
        NumpyClipTextEncoder(TINY_MODEL, TINY_TAG, extract)
    encoder = load_clip_text_encoder(TINY_MODEL, TINY_TAG, weights)
    assert encoder.embed_query("dog").shape == (32,)


@pytest.mark.parametrize("damage", [
    lambda b: b[:4],
    lambda b: (10**9).to_bytes(8, "little") + b[8:],
    lambda b: b[:8] + b"[1, 2]" + b[14:],
    lambda b: b.replace(b'"data_offsets":[0,', b'"data_offsets":[9,', 1),
])
def test_weights_reader_refuses_damaged_files(tmp_path: Path, damage: object) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "w.safetensors"
    save_file({"a": np.ones((4, 4), np.float32), "b": np.zeros(3, np.float32)}, str(path))
    assert SafetensorsWeights(path)["a"].sum() == 16
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(ValueError):
        SafetensorsWeights(path)


def test_loading_the_full_model_writes_the_extract(tiny_clip: TinyClip, tmp_path: Path) -> None:
    from photomgr.core.models.registry import load_embedder

    weights = tmp_path / "tiny.safetensors"
    weights.write_bytes(tiny_clip.safetensors_bytes)
    full = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, clip_weights=weights,
                         device="cpu")
    assert text_cache_path(TINY_MODEL, TINY_TAG, weights).is_file()
    text = load_text_encoder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, clip_weights=weights)
    assert isinstance(text, NumpyClipTextEncoder)
    assert float(text.embed_label(["dog"]) @ full.embed_label(["dog"])) >= 0.9999
