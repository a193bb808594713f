"""Duplicate groups: same hash, near-identical vectors (dense and index paths), singletons left out."""

from __future__ import annotations

import numpy as np
import pytest

from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.search import duplicates
from photomgr.core.search.duplicates import DuplicateStats, UnionFind, duplicate_groups


def unit(rng: np.random.Generator, n: int, dim: int = 64) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def near(rng: np.random.Generator, v: np.ndarray, noise: float = 0.02) -> np.ndarray:
    x = v + noise * rng.standard_normal(v.shape).astype(np.float32)
    return x / np.linalg.norm(x)


def test_hash_and_vector_groups() -> None:
    rng = np.random.default_rng(0)
    vectors = unit(rng, 8)
    vectors[3] = near(rng, vectors[1])  # near-duplicate of photo 1
    ids = np.array([10, 20, 30, 40, 50, 60, 70, 80])
    hashes = ["a", "b", "c", "d", "a", "e", "f", "c"]  # 10~50 and 30~80 identical files
    groups = duplicate_groups(ids, hashes, vectors, threshold=0.95)
    assert groups == [[10, 50], [20, 40], [30, 80]]


def test_identical_hash_groups_even_with_different_vectors_and_empty_hash_never_matches() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 4)
    assert duplicate_groups(np.arange(4), ["x", "x", "", ""], vectors, 0.99) == [[0, 1]]


def test_chains_join_and_singletons_are_left_out() -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 6)
    # a~b and b~c are above the threshold (cos 0.2 rad = 0.980), a~c is not (cos 0.4 = 0.921)
    for row, angle in ((0, 0.0), (1, 0.2), (2, 0.4)):
        vectors[row] = 0.0
        vectors[row, 0], vectors[row, 1] = np.cos(angle), np.sin(angle)
    ids = np.array([5, 4, 3, 2, 1, 0])
    hashes = [f"h{i}" for i in range(6)]
    assert duplicate_groups(ids, hashes, vectors, 0.97) == [[3, 4, 5]]
    assert duplicate_groups(ids, hashes, vectors, 0.99) == []


def make_library(n: int, n_pairs: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, set[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    vectors = unit(rng, n, 32)
    ids = np.arange(n, dtype=np.int64) + 1000
    pairs = set()
    for k in range(n_pairs):
        i, j = 2 * k, 2 * k + 1
        vectors[j] = near(rng, vectors[i], 0.03)
        pairs.add((int(ids[i]), int(ids[j])))
    return ids, vectors, pairs


def test_index_path_finds_the_same_groups_as_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    ids, vectors, pairs = make_library(3000, 40)
    hashes = [f"h{i}" for i in range(3000)]
    dense = duplicate_groups(ids, hashes, vectors, 0.95)
    assert {tuple(g) for g in dense} == pairs
    monkeypatch.setattr(duplicates, "DENSE_LIMIT", 100)  # force the index path
    stats = DuplicateStats()
    assert duplicate_groups(ids, hashes, vectors, 0.95, stats=stats) == dense
    assert stats.neighbours_from == "temporary IVF" and stats.seconds["index"] > 0
    # the library's own IVF index (Find similar's) is searched, no second index is built
    index = VectorIndex.build(ids, vectors, "m", "fp", exact_limit=500)
    stats = DuplicateStats()
    assert duplicate_groups(ids, hashes, vectors, 0.95, index=index, stats=stats) == dense
    assert stats.neighbours_from == "library index"
    # an exact library index (Find similar searches up to ~50k x 512 exactly) would cost N x N
    exact = VectorIndex.build(ids, vectors, "m", "fp")
    stats = DuplicateStats()
    assert duplicate_groups(ids, hashes, vectors, 0.95, index=exact, stats=stats) == dense
    assert stats.neighbours_from == "temporary IVF"


def test_the_library_index_may_hold_other_photos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Duplicates leaves out missing photos, which Find similar's index still holds: their
    hits are dropped, the others still pair up."""
    ids, vectors, pairs = make_library(3000, 40)
    monkeypatch.setattr(duplicates, "DENSE_LIMIT", 100)
    index = VectorIndex.build(ids, vectors, "m", "fp", exact_limit=500)
    keep = np.arange(3000) % 7 != 0
    groups = duplicate_groups(ids[keep], [""] * int(keep.sum()), vectors[keep], 0.95, index=index)
    kept = set(ids[keep].tolist())
    assert {tuple(g) for g in groups} == {p for p in pairs if set(p) <= kept}


def test_union_find() -> None:
    uf = UnionFind(5)
    uf.union(0, 1)
    uf.union(3, 4)
    uf.union(1, 4)
    assert len({uf.find(i) for i in range(5)}) == 2 and uf.find(0) == uf.find(3)


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        duplicate_groups(np.arange(3), ["a", "b"], np.zeros((3, 4), np.float32), 0.9)


def test_a_crop_under_the_vector_threshold_is_grouped_once_the_pixels_verify_it() -> None:
    """Photo 1 is a crop of photo 0: image-vector cosine 0.85 (under 0.95), close instance
    vectors, so it is proposed and verified; photo 2 is proposed the same way but its pixels
    are another photo's, so it stays out. Before, only cosine >= threshold grouped."""
    from photomgr.core.search.near_copy import NearCopyCheck
    from tests.core.search.test_near_copy import resaved, scene

    rng = np.random.default_rng(4)
    vectors = unit(rng, 40)
    instances = unit(rng, 40, 16)
    for row in (1, 2):
        vectors[row] = near(rng, vectors[0], 0.09)
        instances[row] = near(rng, instances[0], 0.05)
    cosines = vectors[[1, 2]] @ vectors[0]
    assert (cosines < 0.95).all() and (cosines > duplicates.PROPOSE_COSINE).all()
    images = {100: scene(8), 101: resaved(scene(8).crop((100, 0, 420, 320))), 102: scene(9)}
    check = NearCopyCheck(images.get)
    checked = []

    def verify(a: int, b: int) -> bool:
        checked.append((a, b))
        score = check.similarity(a, b)
        return score is not None and score >= check.threshold

    ids = np.arange(40) + 100
    hashes = [f"h{i}" for i in range(40)]
    assert duplicate_groups(ids, hashes, vectors, 0.95) == []
    assert duplicate_groups(ids, hashes, vectors, 0.95, instances=instances, verify=verify) == [[100, 101]]
    assert {tuple(sorted(p)) for p in checked} >= {(100, 101)}


def test_fingerprints_propose_a_resave_whatever_its_vectors() -> None:
    rng = np.random.default_rng(5)
    vectors = unit(rng, 30)
    fingerprints = rng.integers(1, 2**62, 30).astype(np.uint64)
    fingerprints[7] = fingerprints[3] ^ np.uint64(0b101)  # 2 bits apart
    ids = np.arange(30)
    groups = duplicate_groups(ids, [""] * 30, vectors, 0.95, fingerprints=fingerprints,
                              verify=lambda a, b: {a, b} == {3, 7})
    assert groups == [[3, 7]]


def test_checks_in_a_thread_pool_group_as_one_thread_does_and_skip_joined_pairs() -> None:
    """Proposals: a burst A, B, C whose fingerprints are all within a few bits (three pairs)
    and two look-alikes; `verify` accepts the burst. With 2 threads the groups are the same,
    and the third pair of the burst is verified only when its batch came before the join."""
    rng = np.random.default_rng(6)
    vectors = unit(rng, 200)
    fingerprints = rng.integers(1, 2**62, 200).astype(np.uint64)
    fingerprints[11] = fingerprints[10] ^ np.uint64(0b1)
    fingerprints[12] = fingerprints[10] ^ np.uint64(0b10)
    fingerprints[51] = fingerprints[50] ^ np.uint64(0b100)
    copies = {frozenset((10, 11)), frozenset((10, 12)), frozenset((11, 12))}
    ids = np.arange(200)
    results = []
    for workers in (1, 2):
        stats = DuplicateStats()
        seen: list[tuple[int, int]] = []

        def verify(a: int, b: int, seen: list[tuple[int, int]] = seen) -> bool:
            seen.append((a, b))
            return frozenset((a, b)) in copies

        groups = duplicate_groups(ids, [""] * 200, vectors, 0.95, fingerprints=fingerprints,
                                  verify=verify, workers=workers, stats=stats)
        assert stats.proposed == 4 and stats.verified == len(seen)
        assert stats.copies == sum(frozenset(p) in copies for p in seen)
        results.append(groups)
        if workers == 1:  # one at a time: (11, 12) comes after 10~11 and 10~12 joined
            assert len(seen) == 3
    assert results[0] == results[1] == [[10, 11, 12]]
