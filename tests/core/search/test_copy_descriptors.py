"""Near-copy descriptors stored in the library: made at indexing, made lazily (and stored) for an
older library, and a damaged row or an unreadable thumbnail is data, never a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library.database import Library
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.search import near_copy
from photomgr.core.search.coarse_copy import DESCRIPTOR_KIND, descriptor, pack, unpack
from photomgr.core.search.near_copy import CopyProbe, NoPixels
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.near_copies import LibraryDescriptors, library_copy_check, library_duplicates
from tests.core.search.test_library_duplicates import crop_near_its_original
from tests.core.search.test_near_copy import scene


def _library(tmp_path: Path) -> tuple[Library, dict[str, int], dict[str, str]]:
    """A library of a photo, its re-save, a crop of another, and three others."""
    folder = tmp_path / "photos"
    folder.mkdir()
    scene(1).save(folder / "a.jpg", quality=92)
    scene(1).save(folder / "a_resaved.jpg", quality=45)
    scene(2).save(folder / "b.jpg", quality=92)
    scene(2).crop((80, 40, 400, 300)).save(folder / "b_crop.jpg", quality=85)
    for seed in range(3, 6):
        scene(seed).save(folder / f"other{seed}.jpg", quality=90)
    library = Library(tmp_path / "lib")
    index_folders(library, [folder])  # photos, thumbnails, fingerprints, descriptors; no model
    rows = library.conn.execute("SELECT id, path, content_hash FROM photos").fetchall()
    return library, {Path(p).name: int(i) for i, p, _ in rows}, {Path(p).name: h for _, p, h in rows}


def _duplicates(library: Library, id_of: dict[str, int]) -> list[list[str]]:
    """Duplicates with made-up vectors under which the crop is b's nearest neighbour."""
    ids, vectors, instances, _, _ = crop_near_its_original(id_of)
    index = VectorIndex.build(ids, vectors, "m", "fp", instance=instances)
    groups = library_duplicates(library.conn, library.paths.thumbnails, ids, vectors, index)
    names = {v: k for k, v in id_of.items()}
    return sorted(sorted(names[p] for p in g) for g in groups)


EXPECTED = [["a.jpg", "a_resaved.jpg"], ["b.jpg", "b_crop.jpg"]]


def test_indexing_stores_each_thumbnails_descriptor(tmp_path: Path) -> None:
    library, _, hash_of = _library(tmp_path)
    with library:
        stored = FingerprintStore(library.conn).descriptors(DESCRIPTOR_KIND, hash_of.values())
        assert set(stored) == set(hash_of.values())
        cache = ThumbnailCache(library.paths.thumbnails)
        for content_hash, row in stored.items():
            desc = unpack(*row)
            assert desc is not None and max(desc.shape) == 64
            # made from the thumbnail in memory; from the JPEG on disk it is the same picture
            thumb = cache.load(content_hash)
            assert thumb is not None
            again = descriptor(thumb).astype(np.int16)
            assert again.shape == desc.shape and np.abs(again - desc).mean() < 2.0


def test_an_older_library_makes_its_descriptors_once_and_groups_the_same(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    library, id_of, hash_of = _library(tmp_path)
    with library:
        store = FingerprintStore(library.conn)
        assert _duplicates(library, id_of) == EXPECTED
        from_scan = store.descriptors(DESCRIPTOR_KIND, hash_of.values())
        # as a library indexed before migration 11: no descriptors, no stored checks
        library.conn.execute("DELETE FROM copy_descriptors")
        store.forget_checks()
        assert _duplicates(library, id_of) == EXPECTED
        made = store.descriptors(DESCRIPTOR_KIND, hash_of.values())
        assert made and set(made) <= set(from_scan)  # those of the photos the run compared
        for content_hash, row in made.items():
            a, b = unpack(*row), unpack(*from_scan[content_hash])
            assert a is not None and b is not None and np.abs(a.astype(int) - b).mean() < 2.0
        # the next run reads them: no thumbnail is decoded for a descriptor again
        store.forget_checks()
        calls = []
        monkeypatch.setattr("photomgr.core.services.near_copies.descriptor",
                            lambda image: calls.append(1) or descriptor(image))
        assert _duplicates(library, id_of) == EXPECTED
        assert calls == []


def test_a_damaged_descriptor_is_made_again_from_the_thumbnail(tmp_path: Path) -> None:
    library, id_of, hash_of = _library(tmp_path)
    with library:
        store = FingerprintStore(library.conn)
        good = store.descriptors(DESCRIPTOR_KIND, [hash_of["b_crop.jpg"]])[hash_of["b_crop.jpg"]]
        # a row that cannot be a descriptor (cut short, a size no descriptor has, not bytes)
        library.conn.execute("UPDATE copy_descriptors SET pixels = x'0102' WHERE content_hash = ?",
                             (hash_of["b_crop.jpg"],))
        library.conn.execute("UPDATE copy_descriptors SET height = 9999 WHERE content_hash = ?",
                             (hash_of["a_resaved.jpg"],))
        library.conn.execute("UPDATE copy_descriptors SET pixels = 'text' WHERE content_hash = ?",
                             (hash_of["b.jpg"],))
        # a height SQLite kept as text or a real in the INTEGER column (was: a TypeError)
        library.conn.execute("UPDATE copy_descriptors SET height = 'forty-eight' WHERE content_hash = ?",
                             (hash_of["other3.jpg"],))
        library.conn.execute("UPDATE copy_descriptors SET height = 2.5, width = 2, pixels = x'0102030405' "
                             "WHERE content_hash = ?", (hash_of["other4.jpg"],))
        assert unpack(2, 2, b"\x01\x02") is None and unpack(100, 1, b"\x00" * 100) is None
        assert unpack("48", 64, b"\x00" * 48 * 64) is None  # type: ignore[arg-type]
        assert _duplicates(library, id_of) == EXPECTED
        again = store.descriptors(DESCRIPTOR_KIND, [hash_of["b_crop.jpg"]])[hash_of["b_crop.jpg"]]
        remade = unpack(*again)
        assert remade is not None and remade.shape == (good[0], good[1])


def test_an_unreadable_thumbnail_leaves_its_photo_unverified(tmp_path: Path) -> None:
    library, id_of, hash_of = _library(tmp_path)
    with library:
        cache = ThumbnailCache(library.paths.thumbnails)
        store = FingerprintStore(library.conn)
        # the crop: its descriptor is stored, but its thumbnail is now garbage, so the full
        # check (which reads the thumbnail) cannot run for it: not verified, nothing stored
        cache.path_for(hash_of["b_crop.jpg"]).write_bytes(b"not a jpeg")
        # the re-save: no descriptor and no thumbnail at all (the cache was cleared)
        library.conn.execute("DELETE FROM copy_descriptors WHERE content_hash = ?",
                             (hash_of["a_resaved.jpg"],))
        cache.path_for(hash_of["a_resaved.jpg"]).unlink()
        assert _duplicates(library, id_of) == []
        checks = store.checks(near_copy.METHOD)
        assert not any(hash_of["b_crop.jpg"] in k or hash_of["a_resaved.jpg"] in k for k in checks)
        assert hash_of["a_resaved.jpg"] not in store.descriptors(DESCRIPTOR_KIND, hash_of.values())
        # Find similar's check says "no image" for both, the same way
        check = library_copy_check(library.conn, library.paths.thumbnails)
        assert check.similarity(id_of["b.jpg"], id_of["b_crop.jpg"]) is None
        assert check.similarity(id_of["a.jpg"], id_of["a_resaved.jpg"]) is None
        assert check.similarity(id_of["a.jpg"], id_of["a.jpg"]) is not None


def test_a_stored_probe_reads_its_thumbnail_only_past_the_screen(tmp_path: Path) -> None:
    loads: list[int] = []

    def load(seed: int):  # type: ignore[no-untyped-def]
        def read():  # type: ignore[no-untyped-def]
            loads.append(seed)
            image = scene(seed)
            image.thumbnail((256, 256))
            return image
        return read

    def stored(seed: int) -> CopyProbe:
        image = scene(seed)
        image.thumbnail((256, 256))
        return CopyProbe.stored(descriptor(image), load(seed))

    # two different photos: settled by the coarse screen from the descriptors alone
    score, full = near_copy.screened_check(stored(10), stored(20))
    assert not full and score < near_copy.REJECT_BELOW and loads == []
    # a photo and itself: past the screen, both thumbnails read for the full check
    score, full = near_copy.screened_check(stored(1), stored(1))
    assert full and score > 0.99 and sorted(loads) == [1, 1]
    gone = CopyProbe.stored(descriptor(scene(1)), lambda: None)
    try:
        near_copy.screened_check(gone, stored(1))
        raise AssertionError("a probe whose thumbnail is gone cannot be fully checked")
    except NoPixels:
        pass
    desc = descriptor(scene(3))
    assert np.array_equal(unpack(*pack(desc)), desc)  # type: ignore[arg-type]
    with Library(tmp_path / "lib") as library:  # a photo the library does not know: no descriptor
        described = LibraryDescriptors(library.conn, ThumbnailCache(library.paths.thumbnails))
        assert described.get(12345) is None and described.made == {}


def test_duplicates_answer_on_a_library_that_cannot_be_written(tmp_path: Path) -> None:
    """Checks and descriptors are a cache: on a read-only library Duplicates groups as usual and
    stores nothing (was: 'attempt to write a readonly database', so `photomgr duplicates` failed
    on a read-only library the first time it had a pair to check)."""
    library, id_of, _ = _library(tmp_path)
    with library:
        library.conn.execute("DELETE FROM copy_descriptors")  # an older library: made lazily
    with Library(tmp_path / "lib", readonly=True) as reader:
        assert _duplicates(reader, id_of) == EXPECTED
        assert FingerprintStore(reader.conn).checks(near_copy.METHOD) == {}


def test_descriptors_made_for_an_older_library_are_stored_as_they_pile_up(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    library, id_of, hash_of = _library(tmp_path)
    with library:
        library.conn.execute("DELETE FROM copy_descriptors")
        saved: list[int] = []
        real_save = LibraryDescriptors.save

        def save(self: LibraryDescriptors) -> None:
            saved.append(len(self.made))
            real_save(self)

        monkeypatch.setattr("photomgr.core.services.near_copies.SAVE_EVERY", 1)
        monkeypatch.setattr(LibraryDescriptors, "save", save)
        assert _duplicates(library, id_of) == EXPECTED
        assert saved[0] >= 1 and saved[-1] == 0  # stored during the run, nothing left at its end
        assert FingerprintStore(library.conn).descriptors(DESCRIPTOR_KIND, hash_of.values())
