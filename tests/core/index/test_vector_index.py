"""VectorIndex: build, search, exclude, incremental updates, save/load and stale detection."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from photomgr.core.index.vector_index import EXACT, IVF, VectorIndex, fingerprint, instance_path, sidecar_path


def clustered(n: int, dim: int = 32, clusters: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.4 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    vectors = clustered(3000)
    ids = np.arange(3000, dtype=np.int64) * 5 + 11  # ids are not row numbers
    return ids, vectors


def exact_top(ids: np.ndarray, vectors: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    return [int(ids[i]) for i in np.argsort(-(vectors @ q), kind="stable")[:k]]


def test_exact_search_matches_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    index = VectorIndex.build(ids, vectors, "m", "fp")
    assert index.kind == EXACT and len(index) == 3000
    hits = index.search(vectors[7], 5)
    assert [i for i, _ in hits] == exact_top(ids, vectors, vectors[7], 5)
    assert hits[0] == (int(ids[7]), pytest.approx(1.0, abs=1e-5))
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(hits))


def test_exclude_leaves_out_ids_and_still_returns_k(data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    index = VectorIndex.build(ids, vectors, "m", "fp")
    full = [i for i, _ in index.search(vectors[3], 10)]
    excluded = set(full[:4])
    hits = [i for i, _ in index.search(vectors[3], 6, exclude=excluded)]
    assert len(hits) == 6 and not excluded & set(hits)
    assert hits == full[4:10]


def test_query_is_normalised_and_k_larger_than_index() -> None:
    vectors = clustered(5)
    index = VectorIndex.build(np.arange(5), vectors, "m", "fp")
    hits = index.search(vectors[0] * 10.0, 50)
    assert len(hits) == 5 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert VectorIndex.build(np.zeros(0, np.int64), np.zeros((0, 8), np.float32), "m", "fp").search(
        np.ones(8, np.float32), 3) == []


def test_auto_choice_by_size(data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    assert VectorIndex.build(ids, vectors, "m", "fp", exact_limit=len(ids)).kind == EXACT
    ivf = VectorIndex.build(ids, vectors, "m", "fp", exact_limit=1000)
    assert ivf.kind == IVF and ivf.nprobe > 0 and ivf.tuned_recall is not None
    # the tuned nprobe keeps find-similar close to exact on this data
    exact = VectorIndex.build(ids, vectors, "m", "fp", exact_limit=len(ids))
    recall = np.mean([len({i for i, _ in ivf.search(vectors[r], 10)}
                          & {i for i, _ in exact.search(vectors[r], 10)}) / 10 for r in range(0, 3000, 100)])
    assert recall >= 0.95


@pytest.mark.parametrize("limit", [None, 1000])
def test_add_and_remove_in_place(data: tuple[np.ndarray, np.ndarray], limit: int | None) -> None:
    ids, vectors = data
    index = VectorIndex.build(ids[:2000], vectors[:2000], "m", "fp", exact_limit=limit)
    index.add(ids[2000:], vectors[2000:], fingerprint="fp2")
    assert len(index) == 3000 and index.fingerprint == "fp2"
    assert index.search(vectors[2500], 1)[0][0] == int(ids[2500])
    index.remove([int(ids[2500])])
    assert len(index) == 2999 and int(ids[2500]) not in {i for i, _ in index.search(vectors[2500], 5)}
    assert index.fingerprint == ""  # unknown after an update without one: the saved file will be rebuilt
    index.add(ids[:1], -vectors[:1])  # re-adding an id replaces its vector
    assert len(index) == 2999 and index.search(-vectors[0], 1)[0][0] == int(ids[0])


def test_exact_index_grown_past_limit_is_dirty() -> None:
    vectors = clustered(30)
    index = VectorIndex.build(np.arange(20), vectors[:20], "m", "fp", exact_limit=25)
    assert not index.needs_rebuild
    index.add(np.arange(20, 30), vectors[20:])
    assert index.needs_rebuild


@pytest.mark.parametrize("limit", [None, 1000])
def test_save_load_roundtrip(tmp_path: Path, data: tuple[np.ndarray, np.ndarray], limit: int | None) -> None:
    ids, vectors = data
    fp = fingerprint(ids, "m")
    index = VectorIndex.build(ids, vectors, "m", fp, exact_limit=limit)
    path = tmp_path / "lib" / "photos.faiss"
    index.save(path)
    meta = json.loads(sidecar_path(path).read_text())
    assert meta["model_id"] == "m" and meta["count"] == 3000 and meta["kind"] == index.kind
    assert sorted(p.name for p in path.parent.iterdir()) == ["photos.faiss", "photos.faiss.json"]
    loaded = VectorIndex.load(path, "m", fp)
    assert loaded is not None and loaded.kind == index.kind and loaded.nprobe == index.nprobe
    assert loaded.search(vectors[9], 5) == index.search(vectors[9], 5)


def test_load_rejects_stale_and_broken(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    path = tmp_path / "photos.faiss"
    assert VectorIndex.load(path, "m", "fp") is None  # missing
    VectorIndex.build(ids, vectors, "m", "fp").save(path)
    assert VectorIndex.load(path, "m", "fp") is not None
    assert VectorIndex.load(path, "other-model", "fp") is None
    assert VectorIndex.load(path, "m", "other-fingerprint") is None
    # corrupted index file (same size, so only faiss notices)
    raw = bytearray(path.read_bytes())
    raw[:16] = b"\xff" * 16
    path.write_bytes(bytes(raw))
    assert VectorIndex.load(path, "m", "fp") is None
    # truncated file, and a garbage sidecar
    VectorIndex.build(ids, vectors, "m", "fp").save(path)
    path.write_bytes(path.read_bytes()[:1000])
    assert VectorIndex.load(path, "m", "fp") is None
    VectorIndex.build(ids, vectors, "m", "fp").save(path)
    sidecar_path(path).write_text("{not json")
    assert VectorIndex.load(path, "m", "fp") is None


def test_fingerprint_tracks_the_id_set_and_model() -> None:
    a = np.array([3, 1, 2])
    assert fingerprint(a, "m") == fingerprint(np.array([1, 2, 3]), "m")
    assert fingerprint(a, "m") != fingerprint(np.array([1, 2, 4]), "m")
    assert fingerprint(a, "m") != fingerprint(a, "n")
    assert fingerprint(a, "m") != fingerprint(np.array([1, 2]), "m")


def _with_instance(tmp_path: Path) -> tuple[VectorIndex, np.ndarray, np.ndarray, Path]:
    rng = np.random.default_rng(3)
    ids = np.arange(50, dtype=np.int64)[::-1] * 3 + 7  # unsorted: rows are kept by id, not order
    vectors = clustered(50, seed=3)
    instance = rng.standard_normal((50, 12)).astype(np.float32)
    index = VectorIndex.build(ids, vectors, "m", "fp", instance=instance)
    path = tmp_path / "idx.faiss"
    index.save(path)
    return index, ids, instance, path


def test_instance_vectors_save_load_and_lookup(tmp_path: Path) -> None:
    _, ids, instance, path = _with_instance(tmp_path)
    assert instance_path(path).is_file()
    loaded = VectorIndex.load(path, "m", "fp")
    assert loaded is not None and loaded.instance is not None
    got = loaded.instance_rows(ids[[4, 9]])
    assert got is not None
    rows, found = got
    assert found.all() and rows.shape == (2, 12)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    # centred on the library's mean, then renormalised
    unit = instance / np.linalg.norm(instance, axis=1, keepdims=True)
    centred = unit[4] - unit.mean(axis=0)
    np.testing.assert_allclose(rows[0], centred / np.linalg.norm(centred), atol=1e-5)
    unknown = loaded.instance_rows(np.array([999], np.int64))
    assert unknown is not None and not unknown[1][0]


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_instance_file_means_rebuild(tmp_path: Path, damage: str) -> None:
    _, _, _, path = _with_instance(tmp_path)
    if damage == "missing":
        instance_path(path).unlink()
    else:
        instance_path(path).write_bytes(b"not an npz")
    assert VectorIndex.load(path, "m", "fp") is None


def test_index_without_instance_has_no_rows(tmp_path: Path, data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vectors = data
    index = VectorIndex.build(ids[:20], vectors[:20], "m", "fp")
    index.save(tmp_path / "i.faiss")
    loaded = VectorIndex.load(tmp_path / "i.faiss", "m", "fp")
    assert loaded is not None and loaded.instance_rows(ids[:2]) is None
    assert not instance_path(tmp_path / "i.faiss").exists()


def test_updates_keep_instance_rows_consistent(tmp_path: Path) -> None:
    index, ids, _, _ = _with_instance(tmp_path)
    new = clustered(2, seed=9)
    index.add(np.array([1000, 1001]), new, instance=np.ones((2, 12), np.float32))
    index.remove([int(ids[0])])
    got = index.instance_rows(np.array([1000, int(ids[0])]))
    assert got is not None and got[1].tolist() == [True, False]
    assert index.instance is not None and len(index.instance) == len(index) == 51
    assert not index.needs_rebuild
    index.add(np.array([1002]), clustered(1, seed=10))  # no instance vector: stop re-ranking
    assert index.instance_rows(np.array([1000])) is None and index.needs_rebuild
