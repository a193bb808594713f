"""The pixel-level near-copy check: crops, resizes and re-saves match; other photos do not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.search.near_copy import COPY_THRESHOLD, CopyProbe, NearCopyCheck, copy_similarity
from photomgr.core.search.similar import find_similar, promote_copies


def scene(seed: int, size: tuple[int, int] = (480, 320)) -> Image.Image:
    """A photo-like image: smooth random structure at several scales (no two seeds alike)."""
    rng = np.random.default_rng(seed)
    w, h = size
    out = np.zeros((h, w), np.float32)
    for cells in (3, 8, 20):
        noise = Image.fromarray((rng.random((cells * h // w + 1, cells)) * 255).astype(np.uint8))
        out += np.asarray(noise.resize((w, h), Image.Resampling.BICUBIC), np.float32)
    grey = Image.fromarray(np.clip(out / 3, 0, 255).astype(np.uint8))
    return Image.merge("RGB", (grey, grey.filter(ImageFilter.GaussianBlur(2)), grey.point(lambda v: 255 - v)))


def resaved(image: Image.Image, quality: int = 70) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def probe(image: Image.Image) -> CopyProbe:
    image = image.copy()
    image.thumbnail((256, 256))  # the library compares thumbnails
    return CopyProbe.of(image)


def test_a_photo_matches_itself_and_its_resave() -> None:
    original = scene(1)
    assert copy_similarity(probe(original), probe(original)) > 0.99
    smaller = resaved(original.resize((240, 160)), quality=60)
    assert copy_similarity(probe(original), probe(smaller)) > COPY_THRESHOLD


def test_a_crop_matches_its_original_in_both_directions() -> None:
    original = scene(2)
    crop = resaved(original.crop((120, 20, 400, 300)))  # 58% of the width, 88% of the height
    crop = ImageEnhance.Brightness(crop).enhance(1.2)  # and edited: NCC ignores brightness
    assert copy_similarity(probe(crop), probe(original)) > COPY_THRESHOLD
    assert copy_similarity(probe(original), probe(crop)) > COPY_THRESHOLD


def test_different_photos_do_not_match() -> None:
    scores = [copy_similarity(probe(scene(10 + i)), probe(scene(20 + i))) for i in range(5)]
    assert max(scores) < COPY_THRESHOLD
    # nor does a small piece of a photo: under MIN_COVER it is not a near-copy
    original = scene(3)
    assert copy_similarity(probe(original.crop((0, 0, 96, 64))), probe(original)) < COPY_THRESHOLD


def test_a_shared_layout_is_not_a_copy() -> None:
    """Two photos with the same coarse layout (bright top, dark bottom) but different detail:
    unsharpened NCC is fooled (~0.92 here); the sharpened comparison is not, while a crop of
    either still matches."""

    def layout(seed: int) -> Image.Image:
        texture = np.asarray(scene(seed).convert("L"), np.float32)
        ramp = np.linspace(188, 68, 320, dtype=np.float32)[:, None] * np.ones((1, 480), np.float32)
        grey = np.clip(ramp + 0.5 * (texture - texture.mean()), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")

    a, b = layout(30), layout(31)
    assert copy_similarity(probe(a), probe(b)) < COPY_THRESHOLD - 0.05
    assert copy_similarity(probe(a), probe(resaved(a.crop((100, 0, 420, 320))))) > COPY_THRESHOLD


def test_featureless_photos_prove_nothing() -> None:
    grey = Image.new("RGB", (300, 200), (128, 128, 128))
    assert copy_similarity(probe(grey), probe(grey)) == -1.0
    assert copy_similarity(probe(grey), probe(scene(4))) < COPY_THRESHOLD


def test_check_skips_photos_without_an_image() -> None:
    images = {1: scene(5), 2: scene(5).crop((50, 0, 400, 320)), 3: scene(6)}
    loads: list[int] = []

    def load(pid: int) -> Image.Image | None:
        loads.append(pid)
        return images.get(pid)

    check = NearCopyCheck(load)
    found = check.copies_of(1, [2, 3, 4])
    assert set(found) == {2} and found[2] > COPY_THRESHOLD
    assert check.similarity(1, 4) is None
    assert NearCopyCheck(load).copies_of(4, [1, 2]) == {}
    check.copies_of(1, [2, 3])
    assert sorted(loads).count(1) == 1  # probes are made once per check


def test_promote_copies_shows_each_copy_its_own_similarity() -> None:
    """Copies come first, shown with their pixel similarity; the rest keep their vector cosine
    (before, a copy was lifted to the best score after it, and rank keys were capped at 1.0)."""
    ranked = [(10, 0.95), (11, 0.90), (12, 0.70), (13, 0.60)]
    out = promote_copies(ranked, {12: 0.93, 13: 0.97})
    assert out == [(13, 0.97), (12, 0.93), (10, 0.95), (11, 0.90)]
    assert promote_copies(ranked, {}) == ranked


@pytest.mark.parametrize("with_instance", [False, True])
def test_find_similar_puts_a_verified_copy_first(with_instance: bool) -> None:
    """Photo 102 is semantically closer to 100 than 101 is, but 101 is a crop of 100."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((40, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[1] = vectors[0] + 0.4 * vectors[1]
    vectors[2] = vectors[0] + 0.1 * vectors[2]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(40) + 100
    instance = rng.standard_normal((40, 8)).astype(np.float32) if with_instance else None
    index = VectorIndex.build(ids, vectors, "m", "fp", instance=instance)
    images = {100: scene(8), 101: resaved(scene(8).crop((100, 0, 420, 320))), 102: scene(9)}
    assert find_similar(index, 100, vectors[0], 3)[0][0] == 102
    hits = find_similar(index, 100, vectors[0], 3, copies=NearCopyCheck(images.get))
    assert [pid for pid, _ in hits][:2] == [101, 102] and 100 not in [pid for pid, _ in hits]
    check = NearCopyCheck(images.get)
    assert hits[0][1] == pytest.approx(check.similarity(100, 101))  # the copy: its pixel similarity
    cosines = dict(index.search(vectors[0], 39, exclude={100}))
    assert all(score == pytest.approx(cosines[pid]) for pid, score in hits[1:])  # others: cosine
