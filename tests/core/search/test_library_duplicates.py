"""Duplicates over a real library (photos, thumbnails, fingerprints, stored checks), the one
function the GUI and the CLI both call; image vectors are made up so no model is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library.database import Library
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.search import copy_pool, near_copy
from photomgr.core.search.fingerprint import KIND, from_signed, hamming, phash
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.near_copies import library_duplicates, library_fingerprints
from tests.core.search.test_near_copy import scene


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def crop_near_its_original(id_of: dict[str, int]) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, dict[int, int], np.random.Generator]:
    """Made-up image and instance vectors (ids sorted) under which b_crop.jpg is b.jpg's nearest
    neighbour: image cosine ~0.9, under the 0.95 near-identical cut, so only pixels group it."""
    ids = np.array(sorted(id_of.values()), np.int64)
    rng = np.random.default_rng(0)
    vectors = unit(rng.standard_normal((len(ids), 32)))
    instances = unit(rng.standard_normal((len(ids), 16)))
    row = {int(pid): r for r, pid in enumerate(ids)}
    b, crop = row[id_of["b.jpg"]], row[id_of["b_crop.jpg"]]
    vectors[crop] = unit(vectors[b] + 0.08 * rng.standard_normal(32))
    instances[crop] = unit(instances[b] + 0.02 * rng.standard_normal(16))
    return ids, vectors, instances, row, rng


@pytest.mark.parametrize("in_workers", [False, True])
def test_crops_and_resaves_group_and_checks_are_stored(tmp_path: Path, monkeypatch, in_workers: bool) -> None:  # type: ignore[no-untyped-def]
    # in_workers: the first run's checks over worker processes (a big library's), on 2 cores
    monkeypatch.setattr(copy_pool, "MIN_PAIRS", 1 if in_workers else copy_pool.MIN_PAIRS)
    monkeypatch.setattr(copy_pool, "cores", lambda: 2)
    used = []
    real_close = copy_pool.CopyPool.close

    def closing(self):  # type: ignore[no-untyped-def]
        used.append(self.used)
        real_close(self)

    monkeypatch.setattr(copy_pool.CopyPool, "close", closing)
    folder = tmp_path / "photos"
    folder.mkdir()
    scene(1).save(folder / "a.jpg", quality=92)
    scene(1).save(folder / "a_resaved.jpg", quality=45)  # re-save: fingerprint within a few bits
    scene(2).save(folder / "b.jpg", quality=92)
    scene(2).crop((80, 40, 400, 300)).save(folder / "b_crop.jpg", quality=85)  # crop: vectors propose
    for seed in range(3, 9):
        scene(seed).save(folder / f"other{seed}.jpg", quality=90)
    with Library(tmp_path / "lib") as library:
        index_folders(library, [folder])  # photos and thumbnails, no model
        id_of = {Path(p).name: int(i) for i, p in library.conn.execute("SELECT id, path FROM photos")}
        # the scanner stored each new thumbnail's fingerprint: Duplicates decodes none of them
        stored = FingerprintStore(library.conn).get(KIND)
        cache = ThumbnailCache(library.paths.thumbnails)
        hashes = dict(library.conn.execute("SELECT path, content_hash FROM photos"))
        assert set(stored) == set(hashes.values())
        for content_hash, value in stored.items():
            image = cache.load(content_hash)
            assert image is not None  # the lazy fallback (older libraries) hashes the JPEG
            assert hamming(np.array([from_signed(value)]), np.array([phash(image)]))[0] <= 2
        ids, vectors, instances, row, rng = crop_near_its_original(id_of)
        # other 3 looks like other 4 to the vectors, but the pixels say no
        look, alike = row[id_of["other3.jpg"]], row[id_of["other4.jpg"]]
        vectors[alike] = unit(vectors[look] + 0.08 * rng.standard_normal(32))
        instances[alike] = unit(instances[look] + 0.02 * rng.standard_normal(16))
        index = VectorIndex.build(ids, vectors, "m", "fp", instance=instances)
        thumbs = library.paths.thumbnails
        groups = library_duplicates(library.conn, thumbs, ids, vectors, index)
        names = {v: k for k, v in id_of.items()}
        assert sorted(sorted(names[p] for p in g) for g in groups) == [
            ["a.jpg", "a_resaved.jpg"], ["b.jpg", "b_crop.jpg"]]
        store = FingerprintStore(library.conn)
        assert len(store.get("phash64-v1")) == len(ids)
        stored = store.checks(near_copy.METHOD)
        assert len(stored) >= 3  # the re-save, the crop and the look-alike were each checked once
        assert used[0] == (1 if in_workers else 0)  # one batch, in workers only when asked

        calls = []
        real = near_copy.NearCopyCheck.similarity

        def counting(self, a: int, b: int) -> float | None:  # type: ignore[no-untyped-def]
            calls.append((a, b))
            return real(self, a, b)

        monkeypatch.setattr(near_copy.NearCopyCheck, "similarity", counting)
        assert library_duplicates(library.conn, thumbs, ids, vectors, index) == groups
        assert calls == []  # every pair answered from the stored checks
        # without thumbnails (the check is off): identical and near-identical photos only
        assert library_duplicates(library.conn, None, ids, vectors, index) == []


def test_an_older_library_gets_its_fingerprints_from_the_cached_thumbnails(tmp_path: Path) -> None:
    """A library indexed before the scanner stored fingerprints: the first Duplicates run makes
    them from the thumbnails (and stores them), the same values the scanner would have stored
    up to the JPEG round trip."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(1, 4):
        scene(seed).save(folder / f"p{seed}.jpg", quality=90)
    with Library(tmp_path / "lib") as library:
        index_folders(library, [folder])
        store = FingerprintStore(library.conn)
        from_scan = store.get(KIND)
        library.conn.execute("DELETE FROM fingerprints")  # as before migration 8's data existed
        assert store.get(KIND) == {}
        hashes = dict(library.conn.execute("SELECT id, content_hash FROM photos"))
        made = library_fingerprints(library.conn, library.paths.thumbnails, hashes)
        assert set(made) == set(hashes)
        again = store.get(KIND)
        assert set(again) == set(from_scan)
        for h, value in again.items():
            assert hamming(np.array([from_signed(value)]), np.array([from_signed(from_scan[h])]))[0] <= 2
