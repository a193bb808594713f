"""The coarse near-copy screen and the screened check built on it: what it rejects is not a
copy, what it passes gets the full check's answer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photomgr.core.search import coarse_copy
from photomgr.core.search.coarse_copy import CoarseProbe, coarse_similarity, contained, descriptor
from photomgr.core.search.near_copy import (
    COPY_THRESHOLD,
    REJECT_BELOW,
    NearCopyCheck,
    copy_similarity,
    screened_similarity,
)
from tests.core.search.test_near_copy import probe, resaved, scene


def coarse(image: Image.Image) -> CoarseProbe:
    return probe(image).coarse()


def test_the_descriptor_is_small_grey_and_never_upscaled() -> None:
    d = descriptor(scene(1))
    assert d.dtype == np.uint8 and d.shape == (43, 64)  # 480 x 320 at long side 64
    assert descriptor(Image.new("L", (20, 10), 7)).shape == (10, 20)


def test_a_photo_and_its_resave_match_at_full_cover() -> None:
    original = scene(1)
    score, _, cover = coarse_similarity(coarse(original), coarse(resaved(original, quality=40)))
    assert score > 0.95 and cover == pytest.approx(1.0)


def test_a_crop_is_found_inside_its_original_at_its_scale() -> None:
    original = scene(2)
    crop = resaved(original.crop((96, 32, 432, 256)))  # 70 % of each side
    score, cover = contained(coarse(crop), coarse(original))
    assert score > REJECT_BELOW + 0.1
    assert cover == pytest.approx(0.7, abs=0.07)
    assert coarse_similarity(coarse(crop), coarse(original))[1:] == (True, cover)
    assert coarse_similarity(coarse(original), coarse(crop))[1:] == (False, cover)  # the crop is inside


def test_different_photos_are_rejected_by_the_screen() -> None:
    for i in range(5):
        assert coarse_similarity(coarse(scene(10 + i)), coarse(scene(20 + i)))[0] < REJECT_BELOW


def test_featureless_photos_prove_nothing() -> None:
    grey = Image.new("RGB", (300, 200), (128, 128, 128))
    assert coarse_similarity(coarse(grey), coarse(grey))[0] == -1.0
    assert coarse_similarity(coarse(grey), coarse(scene(4)))[0] < REJECT_BELOW


def test_photos_too_small_to_search_do_not_fit() -> None:
    tiny = CoarseProbe(np.full((3, 64), 100, np.uint8))
    assert contained(CoarseProbe(descriptor(scene(5))), tiny) == (-1.0, 0.0)


@pytest.mark.parametrize("make", [
    lambda im: resaved(im, quality=35),
    lambda im: resaved(im.resize((200, 133))),
    lambda im: resaved(im.crop((120, 20, 400, 300))),  # 58 % of the width, 88 % of the height
    lambda im: resaved(im.crop((60, 40, 420, 280)).resize((240, 160))),
])
def test_the_screened_check_agrees_with_the_exhaustive_search_on_copies(make) -> None:  # type: ignore[no-untyped-def]
    original = scene(6)
    a, b = probe(make(original)), probe(original)
    exhaustive = copy_similarity(a, b)
    assert exhaustive > COPY_THRESHOLD
    assert screened_similarity(probe(make(original)), probe(original)) == pytest.approx(exhaustive, abs=0.02)


def test_the_check_counts_what_the_screen_settled() -> None:
    images = {1: scene(7), 2: resaved(scene(7).crop((50, 0, 400, 320))), 3: scene(8)}
    check = NearCopyCheck(images.get)
    assert check.copies_of(1, [2, 3]).keys() == {2}
    assert (check.screened_out, check.fully_checked) == (1, 1)


def test_axis_matrices_resample_and_keep_the_mean() -> None:
    m = coarse_copy._axis(64, 20)
    assert m.shape == (20, 64)
    assert np.allclose(m.sum(axis=1), 1.0, atol=1e-5)  # a flat image stays flat


def test_the_batched_screen_gives_the_same_numbers_one_way_at_a_time() -> None:
    photos = [scene(30), resaved(scene(30).crop((60, 20, 420, 300))), scene(31),
              scene(32).resize((200, 300)), resaved(scene(32).resize((200, 300)).crop((10, 30, 190, 260))),
              Image.new("RGB", (300, 200), (90, 90, 90)), Image.new("RGB", (200, 4), (0, 0, 0))]
    descs = [descriptor(im) for im in photos]
    ways = [(a, b) for a in descs for b in descs] * 2  # shapes shared by many ways, and not
    got = coarse_copy.contained_many(ways)
    assert len(got) == len(ways)
    for (copy, original), (score, cover) in zip(ways, got, strict=True):
        expected = contained(CoarseProbe(copy), CoarseProbe(original))
        assert score == pytest.approx(expected[0], abs=1e-6) and cover == expected[1]
    assert coarse_copy.contained_many([]) == []


def test_many_pairs_at_once_get_the_answers_of_one_at_a_time() -> None:
    images = {1: scene(7), 2: resaved(scene(7).crop((50, 0, 400, 320))), 3: scene(8),
              4: resaved(scene(8), quality=40), 5: Image.new("RGB", (300, 200), (128, 128, 128))}
    pairs = [(1, 2), (1, 3), (3, 4), (2, 4), (4, 5), (1, 9)]  # 9 has no image
    one = NearCopyCheck(images.get)
    expected = [one.similarity(a, b) for a, b in pairs]
    many = NearCopyCheck(images.get, max_probes=2)  # probes evicted between the two passes
    assert many.similarities(pairs) == pytest.approx(expected, abs=1e-6)
    assert expected[-1] is None and expected[0] > COPY_THRESHOLD and expected[2] > COPY_THRESHOLD
    assert (many.screened_out, many.fully_checked) == (one.screened_out, one.fully_checked)
