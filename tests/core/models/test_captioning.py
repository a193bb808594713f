"""Descriptions: the shipped default captioner, describe=True on both backends, CoCa offline.

CoCa runs as a tiny random model registered under the real architecture name, with its weights
in a Hugging Face cache under the real repository id, so the production weight resolution and
loading code run unchanged; only the network's size differs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from photomgr.core.models.base import describer_status
from photomgr.core.models.caption_decoder import CaptionDecoder, DecoderConfig
from photomgr.core.models.caption_runtime import BF16_MARK, read_metadata
from photomgr.core.models.caption_search import beam_search
from photomgr.core.models.caption_vocab import MAX_WORDS, Vocab, words
from photomgr.core.models.captioning import (
    COCA_CAPTION_ID,
    COCA_MODEL,
    COCA_PRETRAINED,
    DEFAULT_CAPTION_ID,
    INDEX_BEAM,
    captioner_available,
    captioner_file,
    load_default_captioner,
)
from photomgr.core.models.clip_backend import ClipEmbedder
from photomgr.core.models.clip_weights import KNOWN_SOURCES
from photomgr.core.models.coca_captioner import caption_id, clean_sentence
from photomgr.core.models.cpu_inference import ENV_PRECISION, image_tower_dtype
from photomgr.core.models.default_backend import DefaultEmbedder
from photomgr.core.models.registry import load_embedder
from tests.core.models.conftest import TINY_MODEL, TINY_TAG, TinyClip

TINY_COCA = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "patch_size": 32, "head_width": 32,
                   "attentional_pool": True, "attn_pooler_heads": 2, "output_tokens": True},
    "text_cfg": {"context_length": 76, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1,
                 "embed_cls": True, "output_tokens": True},
    "multimodal_cfg": {"context_length": 76, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1,
                       "attn_pooler_heads": 2},
    "custom_text": True,
}
COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


def scenes() -> list[Image.Image]:
    """Photo-like pictures: sky over grass with a dark figure, a beach, a street at night."""
    out = []
    for sky, ground, figure in (((110, 160, 230), (60, 140, 50), (40, 30, 20)),
                                ((150, 200, 240), (220, 200, 150), (200, 60, 40)),
                                ((20, 20, 40), (70, 70, 70), (240, 220, 120))):
        im = Image.new("RGB", (320, 240), sky)
        draw = ImageDraw.Draw(im)
        draw.rectangle((0, 140, 320, 240), fill=ground)
        draw.ellipse((130, 80, 190, 200), fill=figure)
        out.append(im)
    return out


@pytest.fixture(scope="module")
def default_embedders() -> tuple[DefaultEmbedder, DefaultEmbedder]:
    plain = load_embedder("default", device="cpu")
    describing = load_embedder("default", device="cpu", describe=True)
    assert isinstance(plain, DefaultEmbedder) and isinstance(describing, DefaultEmbedder)
    return plain, describing


def app_caption_id() -> str:
    """The id the app stores: greedy ("+beam1"), in bfloat16 where the CPU runs it natively."""
    bf16 = image_tower_dtype("cpu") == torch.bfloat16
    return DEFAULT_CAPTION_ID + "+beam1" + (BF16_MARK if bf16 else "")


def test_shipped_captioner_file_and_id() -> None:
    meta = read_metadata(captioner_file())
    assert meta["caption_id"] == DEFAULT_CAPTION_ID
    assert int(meta["beam"]) >= 1
    assert captioner_available("default") == (True, captioner_available("default")[1])
    assert captioner_available("default")[0]


def test_describe_fills_descriptions_from_the_same_forward(
        default_embedders: tuple[DefaultEmbedder, DefaultEmbedder]) -> None:
    plain, describing = default_embedders
    batch = torch.stack([plain.preprocess(im) for im in scenes()])
    without = plain.embed_images(batch)
    got = describing.embed_images(batch)
    assert without.descriptions is None and without.description_model is None
    assert describer_status(plain) is not None and describer_status(describing) is None
    assert got.description_model == app_caption_id()  # the app decodes greedily
    assert got.descriptions is not None and len(got.descriptions) == len(batch)
    for sentence in got.descriptions:
        assert sentence and sentence.endswith(".") and 2 <= len(words(sentence)) <= MAX_WORDS
    # the vectors do not change when descriptions are on: the decoder only reads the map
    np.testing.assert_array_equal(got.image, without.image)
    np.testing.assert_array_equal(got.label, without.label)
    assert got.instance is not None and without.instance is not None
    np.testing.assert_array_equal(got.instance, without.instance)


def test_feature_map_averages_to_the_pooled_vector(default_embedders: tuple[DefaultEmbedder, DefaultEmbedder]
                                                   ) -> None:
    plain, _ = default_embedders
    batch = torch.stack([plain.preprocess(im) for im in scenes()[:2]])
    with torch.inference_mode():
        pooled, _, _, spatial = plain.forward_maps(batch)
    assert spatial.shape == (2, 1280, 7, 7)
    # equal up to the tower's precision: the pooled vector is averaged in bfloat16 where the CPU
    # runs the tower in it (cpu_inference.py), the map is returned as float32
    tol = 1e-4 if plain.image_dtype == torch.float32 else 2e-2
    torch.testing.assert_close(spatial.float().mean(dim=(2, 3)), pooled, atol=tol, rtol=tol)


def test_missing_captioner_file_leaves_descriptions_off(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setattr("photomgr.core.models.captioning.resources_dir", lambda: tmp_path)
    assert captioner_available("default:whatever")[0] is False
    embedder = DefaultEmbedder(device="cpu", with_text=False, describe=True)
    status = describer_status(embedder)
    assert status is not None and "captioner" in status
    out = embedder.embed_images(torch.stack([embedder.preprocess(scenes()[0])]))
    assert out.descriptions is None and out.description_model is None


def test_incremental_decoding_matches_teacher_forcing() -> None:
    torch.manual_seed(0)
    model = CaptionDecoder(DecoderConfig(vocab_size=50, width=32, heads=2)).eval()
    maps, ids = torch.rand(3, 1280, 7, 7), torch.randint(4, 50, (3, 9))
    with torch.inference_mode():
        full = model(maps, ids)
        image, cache, steps = model.encode(maps), None, []
        for position in range(ids.shape[1]):
            logits, cache = model.step(ids[:, position:position + 1], position, image, cache)
            steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, dim=1), full, atol=1e-5, rtol=1e-4)


def test_beam_search_respects_length_and_never_writes_unknown_words() -> None:
    torch.manual_seed(1)
    model = CaptionDecoder(DecoderConfig(vocab_size=40, width=32, heads=2)).eval()
    with torch.inference_mode():
        for beam in (1, 3):
            out = beam_search(model, torch.rand(4, 1280, 7, 7), beam=beam, max_words=6)
            assert len(out) == 4 and all(len(seq) <= 6 and min(seq, default=4) >= 4 for seq in out)
    assert beam_search(model, torch.rand(0, 1280, 7, 7)) == []


def test_the_app_decodes_greedily_and_says_so_in_the_id() -> None:
    # Beam 3 doubled the indexing time (docs/benchmarks.md §12): the app decodes greedily, and
    # the id stored with each sentence tells the two decodings apart.
    from photomgr.core.models.caption_runtime import DefaultCaptioner

    shipped = read_metadata(captioner_file())
    app, status = load_default_captioner()
    assert status is None and isinstance(app, DefaultCaptioner)
    assert app.beam == INDEX_BEAM == 1 and app.model_id == app_caption_id()
    assert app.greedy is not None and app.greedy.dtype == image_tower_dtype("cpu")
    as_trained = DefaultCaptioner.from_file(captioner_file())
    assert as_trained.beam == int(shipped["beam"]) and as_trained.model_id == shipped["caption_id"]


@pytest.mark.parametrize(("precision", "dtype", "mark"), [("fp32", torch.float32, ""),
                                                         ("bf16", torch.bfloat16, BF16_MARK)])
def test_the_decoding_precision_follows_the_image_tower_and_marks_the_id(
        monkeypatch: pytest.MonkeyPatch, precision: str, dtype: torch.dtype, mark: str) -> None:
    # bfloat16 changes some sentences (docs/benchmarks.md §12): the stored id must tell them apart
    monkeypatch.setenv(ENV_PRECISION, precision)
    app, status = load_default_captioner()
    assert status is None and app is not None
    assert app.model_id == DEFAULT_CAPTION_ID + "+beam1" + mark
    assert app.greedy.dtype == dtype  # type: ignore[attr-defined]


@pytest.mark.parametrize(("beam", "dtype", "given", "expected"), [
    (1, torch.bfloat16, "x+beam1", "x+beam1" + BF16_MARK),
    (1, torch.float32, "x+beam1", "x+beam1"),
    (1, torch.float32, "x+beam1" + BF16_MARK, "x+beam1"),  # the id said bf16, the decoding is not
    (1, torch.bfloat16, "x+beam1" + BF16_MARK, "x+beam1" + BF16_MARK),  # marked once
    (3, torch.bfloat16, "x", "x"),  # beam search decodes in float32 whatever greedy_dtype says
])
def test_a_captioner_built_directly_names_its_decoding(beam: int, dtype: torch.dtype, given: str,
                                                       expected: str) -> None:
    """The id is marked where the decoding is chosen (was: only from_file added +bf16, so a
    captioner built directly in bfloat16 stored its sentences under the float32 id)."""
    from photomgr.core.models.caption_runtime import DefaultCaptioner
    from photomgr.core.models.caption_vocab import SPECIALS

    vocab = Vocab((*SPECIALS, "a", "dog"))
    model = CaptionDecoder(DecoderConfig(vocab_size=len(vocab), width=32, heads=2, decoder_layers=1))
    captioner = DefaultCaptioner(model, vocab, model_id=given, beam=beam, greedy_dtype=dtype)
    assert captioner.model_id == expected
    in_bf16 = captioner.greedy is not None and captioner.greedy.dtype == torch.bfloat16
    assert in_bf16 == expected.endswith(BF16_MARK)


def test_greedy_search_writes_what_beam_one_writes() -> None:
    # Greedy decoding drops finished sentences from the batch, FastGreedy also repacks the
    # network; in float32 the words must not change.
    from photomgr.core.models.caption_infer import FastGreedy
    from photomgr.core.models.caption_search import _beam_search, greedy_search

    captioner, _ = load_default_captioner()
    model = captioner.model  # type: ignore[union-attr]
    torch.manual_seed(2)
    maps = torch.rand(9, 1280, 7, 7) * 3
    with torch.inference_mode():
        reference = _beam_search(model, maps, beam=1, length_penalty=0.0, max_words=MAX_WORDS)
        assert greedy_search(model, maps) == reference
        assert beam_search(model, maps, beam=1) == reference
        assert FastGreedy(model, torch.float32)(maps) == reference
    assert len({len(words_) for words_ in reference}) > 1  # sentences close at different steps


def test_vocab_round_trip() -> None:
    vocab = Vocab.build(["A dog runs.", "a dog sits", "The cat's toy"], min_count=2)
    assert vocab.itos[4:] == ("a", "dog")
    assert vocab.decode(vocab.encode("a dog jumps")[1:]) == "A dog."


# -- CoCa, the CLIP backend's captioner ---------------------------------------------------------


@pytest.fixture
def tiny_coca(tiny_clip: TinyClip, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The tiny CLIP's hub cache plus a tiny random CoCa under the real CoCa repository id."""
    import open_clip
    from huggingface_hub import constants
    from open_clip.factory import _MODEL_CONFIGS
    from safetensors.torch import save_file

    monkeypatch.setitem(_MODEL_CONFIGS, COCA_MODEL, TINY_COCA)
    torch.manual_seed(0)
    model = open_clip.create_model(COCA_MODEL, pretrained=None)
    hub = tmp_path / "hub"
    shutil.copytree(tiny_clip.hub, hub)
    repo = KNOWN_SOURCES[(COCA_MODEL, COCA_PRETRAINED)].repo_id
    snapshot = hub / f"models--{repo.replace('/', '--')}" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(snapshot / "open_clip_model.safetensors"))
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    yield hub


def test_coca_describes_through_the_weight_resolution(tiny_coca: Path, no_network: None) -> None:
    assert captioner_available("clip")[0] and captioner_available(f"clip:{TINY_MODEL}:{TINY_TAG}")[0]
    embedder = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu",
                             describe=True)
    assert isinstance(embedder, ClipEmbedder) and describer_status(embedder) is None
    batch = torch.stack([embedder.preprocess(im) for im in scenes()[:2]])
    out = embedder.embed_images(batch)
    plain = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu")
    np.testing.assert_allclose(out.image, plain.embed_images(batch).image, atol=1e-6)
    assert out.description_model == COCA_CAPTION_ID == caption_id(COCA_MODEL, COCA_PRETRAINED)
    assert out.descriptions is not None and len(out.descriptions) == 2
    assert all(isinstance(s, str) and len(s.split()) <= MAX_WORDS for s in out.descriptions)


def test_clip_without_coca_weights_says_what_to_do(tiny_clip: TinyClip, no_network: None) -> None:
    ok, message = captioner_available("clip")
    assert not ok and "CoCa" in message and "huggingface.co/laion/mscoco_finetuned_CoCa" in message
    assert "--captioner" in message
    embedder = load_embedder("clip", clip_model=TINY_MODEL, clip_pretrained=TINY_TAG, device="cpu",
                             describe=True)
    assert describer_status(embedder) == message
    out = embedder.embed_images(torch.stack([embedder.preprocess(scenes()[0])]))
    assert out.descriptions is None and out.description_model is None


def test_clean_sentence() -> None:
    text = "<start_of_text>a dog runs on the beach . <end_of_text>"
    assert clean_sentence(text) == "A dog runs on the beach."
    assert clean_sentence("<start_of_text><end_of_text>") == ""


def test_fetch_coca_finds_the_cache_or_fails_fast_offline(
        tiny_clip: TinyClip, tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from photomgr.core.models.base import ModelUnavailable
    from photomgr.core.models.captioning import COCA_ENV, coca_weights, fetch_coca

    with pytest.raises(ModelUnavailable, match="mscoco_finetuned_CoCa"):
        fetch_coca()
    explicit = tmp_path / "coca.safetensors"
    explicit.write_bytes(b"x")
    monkeypatch.setenv(COCA_ENV, str(explicit))
    assert coca_weights() == explicit == fetch_coca()
    # CLIP's own override never stands in for CoCa's weights
    monkeypatch.delenv(COCA_ENV)
    monkeypatch.setenv("PHOTOMGR_CLIP_WEIGHTS", str(explicit))
    assert coca_weights() is None
