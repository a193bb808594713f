"""The offline default backend with its real, packaged weights (nothing is downloaded)."""

from __future__ import annotations

import csv
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from photomgr.core.models.base import Embedder
from photomgr.core.models.default_backend import (
    INPUT_SIZE,
    INSTANCE_DIM,
    MODEL_ID,
    DefaultEmbedder,
    build_image_model,
    preprocess_image,
)
from photomgr.core.models.default_text import DefaultTextEncoder
from photomgr.core.models.registry import load_embedder, load_text_encoder, model_status
from photomgr.core.models.spaces import photo_label_space
from photomgr.core.models.text_bridge import TextBridge, imagenet_classes
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

DOG_CLASSES = range(151, 269)  # ImageNet-1k's dog breeds


@pytest.fixture(scope="module")
def embedder(pytestconfig: pytest.Config) -> DefaultEmbedder:
    # The 1000-class text matrix takes seconds to compute: keep it in pytest's cache folder (or
    # the temp folder under -p no:cacheprovider) so later runs load it; its file name carries
    # every version it depends on, so a stale one is never read.
    if getattr(pytestconfig, "cache", None) is not None:
        cache = Path(pytestconfig.cache.mkdir("photomgr-models"))  # type: ignore[union-attr]
    else:
        cache = Path(tempfile.gettempdir()) / "photomgr-test-cache"
    loaded = load_embedder("default", cache_dir=cache, device="cpu")
    assert isinstance(loaded, DefaultEmbedder)
    return loaded


def _photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    img = img.resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(5):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        draw.ellipse((x, y, x + 60, y + 40), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return img


def test_packaged_weights_map_onto_timm_exactly() -> None:
    model: Any = build_image_model()  # load_state_dict(strict=True): every key mapped, every shape right
    assert model.bn1.eps == pytest.approx(1e-3)
    assert model.classifier.out_features == 1000


def test_info_and_protocol(embedder: DefaultEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.info.model_id == MODEL_ID
    info = embedder.info
    # label_dim: the fused scoring space (1000 classes + learned dim + 2), see default_text.py
    fused = 1000 + embedder.text.heads.dim + 2
    assert (info.backend, info.image_dim, info.label_dim) == ("default", 1280, fused)
    assert not embedder.info.shared_space
    assert embedder.device == "cpu" and embedder.input_size == INPUT_SIZE


@pytest.mark.parametrize("size,mode", [((320, 240), "RGB"), ((100, 700), "RGB"), ((50, 40), "L"),
                                       ((300, 300), "RGBA"), ((1, 1), "RGB")])
def test_preprocess_any_size_and_mode(size: tuple[int, int], mode: str) -> None:
    x = preprocess_image(_photo(1, size).convert(mode))
    assert x.shape == (3, INPUT_SIZE, INPUT_SIZE) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0  # (x - 127) / 128


def test_preprocess_is_thread_safe(embedder: DefaultEmbedder) -> None:
    photos = [_photo(i) for i in range(8)]
    serial = [embedder.preprocess(p) for p in photos]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(embedder.preprocess, photos * 4))
    for i, x in enumerate(parallel):
        assert torch.equal(x, serial[i % 8])


def test_embed_images_shapes_and_norms(embedder: DefaultEmbedder) -> None:
    batch = torch.stack([embedder.preprocess(_photo(i)) for i in range(3)])
    out = embedder.embed_images(batch)
    assert out.image.shape == (3, 1280) and out.image.dtype == np.float32
    assert out.label.shape == (3, 1000) and out.label.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out.image, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out.label.sum(axis=1), 1.0, atol=1e-4)  # class probabilities
    assert (out.label >= 0).all()
    assert out.instance is not None and out.instance.shape == (3, INSTANCE_DIM)
    np.testing.assert_allclose(np.linalg.norm(out.instance, axis=1), 1.0, atol=1e-5)
    # a batch of one gives the same vectors: nothing depends on the batch composition
    single = embedder.embed_images(batch[1:2])
    np.testing.assert_allclose(single.image[0], out.image[1], atol=1e-4)


def test_similar_photos_are_closer_than_different_ones(embedder: DefaultEmbedder) -> None:
    a = _photo(3)
    crop = a.crop((20, 10, 300, 230)).resize((320, 240))
    other = _photo(99)
    vec = embedder.embed_images(torch.stack([embedder.preprocess(p) for p in (a, crop, other)])).image
    assert vec[0] @ vec[1] > vec[0] @ vec[2]


def test_label_vectors_map_text_to_the_right_classes(embedder: DefaultEmbedder) -> None:
    dog, car = embedder.embed_label(["dog"]), embedder.embed_label(["car"])
    heads = embedder.text.heads
    for v in (dog, car):
        assert v.shape == (embedder.info.label_dim,) == (1000 + heads.dim + 2,) and v.dtype == np.float32
        covered = int((v[:1000] > 0).sum())  # both name a synset: the hier constants at its coverage
        np.testing.assert_allclose(v[-1], heads.fusion.hier.at(float(np.log(covered)))[0], rtol=1e-5)
    # a category word covers every ImageNet class under it (WordNet), not the 5 nearest names
    assert set(np.flatnonzero(dog[:1000]).tolist()) == set(DOG_CLASSES)
    names = imagenet_classes()
    car_classes = {names[i].names[0] for i in np.flatnonzero(car[:1000])}
    assert {"sports car", "convertible", "cab"} <= car_classes
    # the learned-space parts differ, and a bare string is one text
    b = heads.fusion.hier.at(float(np.log(len(DOG_CLASSES))))[1]
    assert abs(np.linalg.norm(dog[1000:-2]) - abs(b)) < 1e-4
    assert not np.allclose(dog[1000:-2], car[1000:-2])
    assert embedder.embed_label("dog") == pytest.approx(dog)


def test_words_outside_imagenet_use_the_bridge_route(embedder: DefaultEmbedder) -> None:
    face = embedder.embed_label(["face"])
    text = embedder.text
    match = float((text.bridge.class_matrix() @ text.minilm(["face"])).max())  # how close to a class name
    assert face[-1] == pytest.approx(text.heads.fusion.bridge.at(match)[0], rel=1e-5)
    assert face[:1000].sum() == pytest.approx(1.0, abs=1e-5)  # the nearest class names' weights


def test_several_prompts_blend_their_classes(embedder: DefaultEmbedder) -> None:
    both = embedder.embed_label(["dog", "car"])
    dog, car = embedder.embed_label(["dog"]), embedder.embed_label(["car"])
    union = set(np.flatnonzero(dog[:1000])) | set(np.flatnonzero(car[:1000]))
    assert set(np.flatnonzero(both[:1000])) == union
    assert not np.allclose(both, dog)


def test_empty_label_is_rejected(embedder: DefaultEmbedder) -> None:
    with pytest.raises(ValueError):
        embedder.embed_label(["", "  "])


def test_query_works_offline(embedder: DefaultEmbedder, no_network: None,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    # a fresh text encoder loads MiniLM again (from its package folder) with the network blocked
    cache = embedder.text._cache_dir.parent if embedder.text._cache_dir else None
    fresh = DefaultTextEncoder(cache_dir=cache)
    q = fresh.embed_query("a red sports car")
    assert q.shape == (embedder.info.label_dim,)
    np.testing.assert_allclose(q, embedder.embed_query("a red sports car"), atol=1e-5)


def test_text_side_loads_without_the_image_model(embedder: DefaultEmbedder,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import photomgr.core.models.default_backend as backend

    def no_image_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the image model was loaded")

    monkeypatch.setattr(backend, "build_image_model", no_image_model)
    cache = embedder.text._cache_dir.parent if embedder.text._cache_dir else None
    text = load_text_encoder("default", cache_dir=cache, device="cpu")
    assert isinstance(text, DefaultTextEncoder) and text.info == embedder.info
    np.testing.assert_allclose(text.embed_label(["beach"]), embedder.embed_label(["beach"]), atol=1e-6)


def test_class_matrix_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[int] = []

    def fake_compute(self: TextBridge) -> np.ndarray:
        computed.append(1)
        return np.eye(1000, 384, dtype=np.float32)

    monkeypatch.setattr(TextBridge, "_compute_class_matrix", fake_compute)
    monkeypatch.setattr(TextBridge, "_read_shipped", lambda self: None)  # as with other versions
    first = TextBridge(cache_dir=tmp_path).class_matrix()
    again = TextBridge(cache_dir=tmp_path).class_matrix()
    assert computed == [1] and np.array_equal(first, again)
    (cached,) = tmp_path.glob("*.npy")
    cached.write_bytes(b"damaged")
    TextBridge(cache_dir=tmp_path).class_matrix()
    assert computed == [1, 1]  # a damaged cache is recomputed, not an error
    assert not list(tmp_path.glob("*.tmp"))


def test_status_of_default_backend() -> None:
    status = model_status("default", device="cpu")
    assert status["state"] == "ready" and status["model_id"] == MODEL_ID
    assert status["weights"] and Path(str(status["weights"])).is_file()


def test_unknown_backend() -> None:
    with pytest.raises(ValueError):
        load_embedder("nope")


@pytest.mark.shared
def test_real_photos_classify_and_tag_sensibly(embedder: DefaultEmbedder, shared_photos: Path) -> None:
    root = shared_photos / "caltech101-dev"
    with (root / "labels.csv").open() as fh:
        first: dict[str, str] = {}
        for row in csv.DictReader(fh):
            first.setdefault(row["label"], row["path"])
    classes = imagenet_classes()
    expect = {"Leopards": {"leopard", "cheetah", "jaguar", "snow leopard"},
              "airplanes": {"airliner", "warplane", "wing"},
              "dalmatian": {"dalmatian"}}
    paths = [root / first[k] for k in expect]
    batch = torch.stack([embedder.preprocess(Image.open(p).convert("RGB")) for p in paths])
    out = embedder.embed_images(batch)
    for row, (_name, wanted) in zip(out.label, expect.items(), strict=True):
        top5 = {classes[i].names[0] for i in np.argsort(-row)[:5]}
        assert top5 & wanted, top5
    # "dalmatian dog" (names no synset: bridge route) outscores the hier-route labels on every
    # photo with the h1 constants -- a known cross-route calibration weakness (docs/benchmarks.md)
    space = photo_label_space(MODEL_ID, out.image, out.label)
    photos = PhotoMatrix(np.arange(3), out.image, space)
    labels = [LabelVectors(embedder.embed_label([t])) for t in ("leopard", "airplane", "dalmatian")]
    assert list(np.argmax(LabelScorer("default").logits(photos, labels), axis=1)) == [0, 1, 2]


def test_step_by_step_pass_matches_timm_forward(embedder: DefaultEmbedder) -> None:
    """forward_all runs the blocks one by one for the instance vector: same pooled feature."""
    batch = torch.stack([embedder.preprocess(_photo(i)) for i in range(2)])
    with torch.inference_mode():
        pooled, _, _ = embedder.forward_all(batch)
        x = batch.to(embedder.image_dtype).contiguous(memory_format=torch.channels_last)  # bf16 on AMX CPUs
        reference = embedder.model.forward_head(embedder.model.forward_features(x), pre_logits=True)  # type: ignore[operator]
    torch.testing.assert_close(pooled, reference.float(), atol=1e-5, rtol=1e-5)
