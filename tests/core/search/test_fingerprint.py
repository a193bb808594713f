"""Perceptual-hash fingerprints: re-saves and resizes stay close, other photos do not; the
multi-index search finds exactly the pairs within the radius."""

from __future__ import annotations

import numpy as np
import pytest

from photomgr.core.search import fingerprint
from photomgr.core.search.fingerprint import close_pairs, from_signed, hamming, phash, to_signed
from tests.core.search.test_near_copy import resaved, scene


def distance(a: int, b: int) -> int:
    return int(hamming(np.array([a], np.uint64), np.array([b], np.uint64))[0])


def test_resaves_and_resizes_keep_their_fingerprint_other_photos_do_not() -> None:
    original = scene(1)
    h = phash(original)
    assert distance(h, phash(resaved(original, 40))) <= 4
    assert distance(h, phash(original.resize((240, 160)))) <= 4
    others = [distance(h, phash(scene(seed))) for seed in range(2, 12)]
    assert min(others) > 12, others


def test_signed_round_trip() -> None:
    for value in (0, 1, 2**63 - 1, 2**63, 2**64 - 1):
        signed = to_signed(value)
        assert -(2**63) <= signed < 2**63 and from_signed(signed) == value


@pytest.mark.parametrize("radius,flips", [(3, 0), (7, 1)])
def test_close_pairs_finds_exactly_the_pairs_within_the_radius(radius: int, flips: int) -> None:
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 1500, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    for i in range(0, 300, 3):  # plant neighbours at 0..9 bits
        bits = rng.choice(64, rng.integers(0, 10), replace=False)
        hashes[i + 1] = hashes[i] ^ np.uint64(sum(1 << int(b) for b in bits))
    i, j = np.triu_indices(len(hashes), 1)
    near = hamming(hashes[i], hashes[j]) <= radius
    truth = sorted(zip(i[near].tolist(), j[near].tolist(), strict=True))
    found = sorted(map(tuple, close_pairs(hashes, radius, band_flips=flips).tolist()))
    assert found == truth and len(truth) > 20
    with pytest.raises(ValueError):
        close_pairs(hashes, radius + 1, band_flips=flips)


def test_hamming_without_numpy_2_popcount(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy 1.26 (allowed by pyproject) has no bitwise_count: the fallback gives the same."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2**63, 500, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    b = rng.integers(0, 2**63, 500, dtype=np.int64).astype(np.uint64)
    fast = fingerprint.hamming(a, b)
    if hasattr(np, "bitwise_count"):
        monkeypatch.delattr(np, "bitwise_count")
    assert np.array_equal(fingerprint.hamming(a, b), fast)
    assert fast.max() <= 64 and fast.min() >= 0
