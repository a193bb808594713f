"""LabelScorer and PhotoMatrix on small synthetic libraries, for both backends' shapes."""

from __future__ import annotations

import numpy as np
import pytest

from photomgr.core.tagging import image_terms
from photomgr.core.tagging.calibration import BACKENDS, calibration_for
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

N_CLASSES = 4
PER_CLASS = 30
D = 256  # image dim
K = 1000  # ImageNet probabilities: the first K columns of the default backend's label space
LEARNED = 8  # learned-space columns (zero here: these tests exercise the ImageNet route)
L = K + LEARNED + 2  # label-space dim of the default backend: [probs | learned | 1 | 0]
# A route's fused constants equal to the old probability-only calibration, 1.5 * (log(P + eps) + 2.8)
A, C = 1.5, 1.5 * 2.8


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def library(seed: int = 0, baseline: float = 0.0) -> tuple[PhotoMatrix, np.ndarray, np.ndarray]:
    """Photos of 4 classes. Image vectors: class centre + noise, so two photos of a class have
    cosine ~0.55 and of different classes ~0 (like the default backend's features); with
    `baseline` b every pair shares a common direction too (CLIP-like: same subject ~0.8,
    unrelated ~0.5 for b=0.5). Label-space vectors are probabilities peaked on the class's
    own coordinate. Returns (photos, classes, centres) -- centres include the baseline."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((N_CLASSES, D)))
    classes = np.repeat(np.arange(N_CLASSES), PER_CLASS)
    image = unit(centres[classes] + 0.056 * rng.standard_normal((len(classes), D)))
    common = unit(rng.standard_normal(D))
    image = unit(np.sqrt(baseline) * common + np.sqrt(1 - baseline) * image)
    centres = unit(np.sqrt(baseline) * common + np.sqrt(1 - baseline) * centres)
    logits = rng.standard_normal((len(classes), K))
    logits[np.arange(len(classes)), classes] += 9.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ids = np.arange(len(classes), dtype=np.int64) * 3 + 1
    return PhotoMatrix(ids, image, fused_space(probs)), classes, centres


def fused_space(probs: np.ndarray) -> np.ndarray:
    """The default backend's photo label space (core/models/spaces.py) with a zero learned part."""
    out = np.zeros((len(probs), L), np.float32)
    out[:, :K] = probs
    out[:, -2] = 1.0
    return out


def text_vec(c: int | dict[int, float]) -> np.ndarray:
    """Like the default backend's label vector: weights on ImageNet classes, then c and a."""
    t = np.zeros(L, np.float32)
    for k, w in ({c: 1.0} if isinstance(c, int) else c).items():
        t[k] = w
    t[-2], t[-1] = C, A
    return t


def clip_text(photos: PhotoMatrix, classes: np.ndarray, c: int, seed: int = 9) -> np.ndarray:
    """A caption vector like CLIP's: cosine ~0.3 with its class's photos and ~0.18 with the
    rest (captions and photos share a baseline direction but sit apart: the modality gap)."""
    rng = np.random.default_rng(seed + c)
    mean_all = unit(photos.image.mean(axis=0))
    own = unit(photos.image[classes == c].mean(axis=0) - mean_all * (photos.image[classes == c].mean(axis=0)
                                                                       @ mean_all))
    r = rng.standard_normal(D)
    r -= (r @ mean_all) * mean_all + (r @ own) * own
    return unit(0.25 * mean_all + 0.18 * own + np.sqrt(1 - 0.25**2 - 0.18**2) * unit(r))


def backend_library(backend: str) -> tuple[PhotoMatrix, np.ndarray, list[np.ndarray]]:
    """(photos, classes, one text vector per class) shaped for the backend."""
    if backend == "clip":
        photos, classes, _ = library(baseline=0.5)
        photos = PhotoMatrix(photos.ids, photos.image, None)
        return photos, classes, [clip_text(photos, classes, c) for c in range(N_CLASSES)]
    photos, classes, _ = library()
    return photos, classes, [text_vec(c) for c in range(N_CLASSES)]


def test_shape_range_and_dtype() -> None:
    photos, _, _ = library()
    scorer = LabelScorer("default")
    s = scorer.score(photos, LabelVectors(text_vec(0)))
    assert s.shape == (len(photos),) and s.dtype == np.float32
    assert np.all((s >= 0) & (s <= 1))
    table = scorer.score_all(photos, [LabelVectors(text_vec(c)) for c in range(N_CLASSES)])
    assert table.shape == (len(photos), N_CLASSES)
    np.testing.assert_allclose(table[:, 2], scorer.score(photos, LabelVectors(text_vec(2))), rtol=1e-6)
    assert 0.0 < scorer.default_threshold < 1.0


def test_zero_shot_argmax_and_threshold() -> None:
    photos, classes, _ = library()
    labels = [LabelVectors(text_vec(c)) for c in range(N_CLASSES)]
    table = LabelScorer("default").score_all(photos, labels)
    raw = photos.label_space @ np.stack([lab.text for lab in labels], axis=1)
    # one monotone map for every label: calibration cannot change the zero-shot winner
    assert np.array_equal(table.argmax(axis=1), raw.argmax(axis=1))
    assert np.mean(table.argmax(axis=1) == classes) > 0.9


def test_same_raw_score_gives_same_calibrated_score_on_any_label() -> None:
    photos, _, _ = library()
    scorer = LabelScorer("default")
    assert photos.label is not None
    a = scorer.score(photos, LabelVectors(text_vec(0)))
    swapped = photos.label.copy()
    swapped[:, :K] = swapped[:, K - 1::-1]
    b = scorer.score(PhotoMatrix(photos.ids, photos.image, swapped), LabelVectors(text_vec(K - 1)))
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_scores_do_not_depend_on_the_rest_of_the_library() -> None:
    photos, classes, _ = library()
    label = LabelVectors(text_vec(1), positives=photos.image[classes == 1][:3],
                         negatives=photos.image[classes == 2][:2])
    scorer = LabelScorer("default")
    full = scorer.score(photos, label)
    rows = photos.rows_of([photos.ids[5], photos.ids[70]])
    assert rows.tolist() == [5, 70] and photos.label is not None
    one = PhotoMatrix(photos.ids[rows], photos.image[rows], photos.label[rows])
    np.testing.assert_allclose(scorer.score(one, label), full[rows], rtol=1e-5)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_zero_shot_picks_the_right_label_on_both_backends(backend: str) -> None:
    photos, classes, texts = backend_library(backend)
    scorer = LabelScorer(backend)
    table = scorer.score_all(photos, [LabelVectors(t) for t in texts])
    assert np.mean(table.argmax(axis=1) == classes) > 0.9
    true = table[np.arange(len(classes)), classes]
    assert np.median(true) > scorer.default_threshold  # a photo's own label is usually tagged
    others = table[np.arange(N_CLASSES)[None, :] != classes[:, None]]
    assert np.mean(others >= scorer.default_threshold) < 0.1  # others mostly are not


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_confirmed_photos_raise_similar_photos(backend: str) -> None:
    """The user means something else than the text says: confirming photos of class 3 for
    the label of class 0 lifts the other class-3 photos above the threshold."""
    photos, classes, texts = backend_library(backend)
    scorer = LabelScorer(backend)
    before = scorer.score(photos, LabelVectors(texts[0]))
    confirmed_rows = np.flatnonzero(classes == 3)[:5]
    after = scorer.score(photos, LabelVectors(texts[0], positives=photos.image[confirmed_rows]))
    others_3 = (classes == 3) & ~np.isin(np.arange(len(classes)), confirmed_rows)
    assert np.mean(after[others_3]) > np.mean(before[others_3]) + 0.3
    assert np.median(after[others_3]) > scorer.default_threshold
    assert np.mean(after[others_3]) > max(np.mean(after[classes == c]) for c in (1, 2))


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_rejected_photos_lower_similar_photos(backend: str) -> None:
    photos, classes, texts = backend_library(backend)
    if backend == "clip":  # an ambiguous label: matches classes 0 and 3
        text = (texts[0] + texts[3]) / np.linalg.norm(texts[0] + texts[3])
    else:
        text = text_vec({0: 0.5, 3: 0.5})
    scorer = LabelScorer(backend)
    confirmed = photos.image[classes == 0][:3]
    rejected = photos.image[classes == 3][:4]
    before = scorer.score(photos, LabelVectors(text, positives=confirmed))
    after = scorer.score(photos, LabelVectors(text, positives=confirmed, negatives=rejected))
    assert np.mean(after[classes == 3]) < 0.5 * np.mean(before[classes == 3])
    # photos unlike the rejected ones keep their score
    np.testing.assert_allclose(after[classes != 3], before[classes != 3], atol=1e-3)
    # rejections alone (nothing confirmed) work too
    plain = scorer.score(photos, LabelVectors(text))
    alone = scorer.score(photos, LabelVectors(text, negatives=rejected))
    assert np.mean(alone[classes == 3]) < np.mean(plain[classes == 3]) - 0.2
    np.testing.assert_allclose(alone[classes == 0], plain[classes == 0], atol=1e-3)


def test_few_shot_labels_compare_with_zero_shot_labels() -> None:
    """argmax picks the right label when one label has confirmed photos and the other has none,
    and a label with 1 confirmed photo is on the same scale as one with 20."""
    photos, classes, _ = library(seed=4)
    img = photos.image
    labels = [LabelVectors(text_vec(0), positives=img[classes == 0][:5]), LabelVectors(text_vec(1))]
    pick = LabelScorer("default").score_all(photos, labels).argmax(axis=1)
    assert np.mean(pick[classes == 0] == 0) > 0.9 and np.mean(pick[classes == 1] == 1) > 0.9
    few = [LabelVectors(text_vec(0), positives=img[classes == 0][:1]),
           LabelVectors(text_vec(1), positives=img[classes == 1][:20])]
    table = LabelScorer("default").score_all(photos, few)
    rest = np.ones(len(classes), bool)
    rest[np.flatnonzero(classes == 0)[:1]] = rest[np.flatnonzero(classes == 1)[:20]] = False
    med0 = np.median(table[rest & (classes == 0), 0])
    med1 = np.median(table[rest & (classes == 1), 1])
    assert abs(med0 - med1) < 0.1


def test_image_terms_are_cached_per_matrix_and_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_terms, "CACHE_MIN_ROWS", 10)  # the test library is small
    photos, classes, _ = library()
    scorer = LabelScorer("default")
    cache = scorer._image_terms
    label = LabelVectors(text_vec(0), positives=photos.image[classes == 0][:3])
    first = scorer.score(photos, label)
    renamed = scorer.score(photos, LabelVectors(text_vec(2), positives=label.positives))
    assert len(cache) == 1  # the rename reused the image half
    assert not np.allclose(first, renamed)
    scorer.score(photos, LabelVectors(text_vec(0), positives=photos.image[classes == 0][:4]))
    assert len(cache) == 2
    fresh = LabelScorer("default").score(photos, LabelVectors(text_vec(2), positives=label.positives))
    np.testing.assert_allclose(renamed, fresh, rtol=1e-6)
    # one photo's tags: not cached, and the library's entries stay
    one = PhotoMatrix(photos.ids[:1], photos.image[:1], None if photos.label is None else photos.label[:1])
    scorer.score(one, label)
    assert len(cache) == 2
    # a new library matrix (photos were added) replaces the old entries
    again = PhotoMatrix(photos.ids, photos.image, photos.label)
    np.testing.assert_allclose(scorer.score(again, label), first, rtol=1e-6)
    assert len(cache) == 1


def test_shared_space_and_empty_inputs() -> None:
    photos, _, centres = library()
    clip = PhotoMatrix(photos.ids, photos.image, None)
    assert clip.shared and clip.label_space is clip.image
    s = LabelScorer("clip").score_all(clip, [LabelVectors(centres[c]) for c in range(N_CLASSES)])
    assert s.shape == (len(photos), N_CLASSES)
    empty = PhotoMatrix(np.zeros(0, np.int64), np.zeros((0, D), np.float32), None)
    assert LabelScorer("clip").score(empty, LabelVectors(centres[0])).shape == (0,)
    assert LabelScorer("clip").score_all(clip, []).shape == (len(photos), 0)


def test_wrong_dimension_and_unknown_backend_raise() -> None:
    photos, _, _ = library()
    with pytest.raises(ValueError):
        LabelScorer("default").score(photos, LabelVectors(np.ones(L + 1, np.float32)))
    with pytest.raises(ValueError):
        calibration_for("nope")


def test_photo_matrix_normalises_without_touching_the_input() -> None:
    raw = np.full((2, 4), 2.0, np.float32)
    pm = PhotoMatrix(np.array([7, 3]), raw, None)
    np.testing.assert_allclose(np.linalg.norm(pm.image, axis=1), 1.0, rtol=1e-6)
    assert raw[0, 0] == 2.0
    assert pm.rows_of([3, 99, 7]).tolist() == [1, 0]
