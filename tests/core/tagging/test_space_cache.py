"""The photos' scoring space kept between processes (core/tagging/space_cache.py), and label
counts from batched products: `labels list` must not project every photo through the image head
on each call, and must never serve a space older than the vectors."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from photomgr.core import tempfiles
from photomgr.core.library.database import Library
from photomgr.core.library.transaction import write_transaction
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models import heads as heads_module
from photomgr.core.models.base import ModelInfo
from photomgr.core.models.default_ids import MODEL_ID, N_CLASSES
from photomgr.core.models.spaces import photo_label_space
from photomgr.core.ops.results import CONFIRMED, REJECTED
from photomgr.core.ops.tagging import Memo, NewLabel, TagOps
from photomgr.core.tagging import scoring, space_cache

N = 40


def _vectors(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    image = rng.standard_normal((n, 1280)).astype(np.float32)
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    probs = rng.dirichlet(np.full(N_CLASSES, 0.05), n).astype(np.float32)
    return image, probs


class _Text:
    """Label vectors in the fused layout [class weights | head text | c | a], seeded by name."""

    info = ModelInfo(MODEL_ID, "default", 1280, N_CLASSES, False)

    def embed_label(self, prompts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(tuple(prompts))) % 2**32)
        dim = heads_module.load_heads().dim
        v = np.zeros(N_CLASSES + dim + 2, np.float32)
        v[rng.choice(N_CLASSES, 5, replace=False)] = 0.2
        head = rng.standard_normal(dim).astype(np.float32)
        v[N_CLASSES:N_CLASSES + dim] = 3.0 * head / np.linalg.norm(head)
        v[-2], v[-1] = rng.uniform(-1, 1), 0.3
        return v

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_label([text])


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library(tmp_path / "lib") as lib:
        rng = np.random.default_rng(0)
        image, probs = _vectors(rng, N)
        with write_transaction(lib.conn):
            for i in range(N):
                lib.conn.execute("INSERT INTO photos (path, size, mtime_ns, added_at, updated_at)"
                                 " VALUES (?, 1, 2, 'x', 'y')", (f"/p{i}.jpg",))
            VectorStore(lib.conn).put_many(MODEL_ID, [(i + 1, image[i], probs[i]) for i in range(N)])
        yield lib


@pytest.fixture
def projected(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows put through the image head, however the space is computed."""
    rows: list[int] = []
    real = heads_module.load_heads()

    def image(x: np.ndarray) -> np.ndarray:
        rows.append(len(np.asarray(x).reshape(-1, real.image.in_dim)))
        return real.image(x)

    fake = SimpleNamespace(dim=real.dim, image=image)
    monkeypatch.setattr(heads_module, "load_heads", lambda path=None: fake)
    return rows


def _process(library: Library) -> TagOps:
    """What a new command sees: fresh ops on the library, with its cache folder."""
    tags = TagOps(library.conn, space_cache_dir=library.paths.cache_dir / "label_space")
    tags.use_model(MODEL_ID, _Text)
    return tags


def _space(tags: TagOps) -> np.ndarray:
    assert tags.engine is not None
    return tags.engine.matrix().label_space


def _expected(library: Library) -> np.ndarray:
    m = VectorStore(library.conn).matrix(MODEL_ID)
    space = photo_label_space(MODEL_ID, m.image, m.label)
    assert space is not None
    return space


def test_a_second_command_projects_no_photo(library: Library, projected: list[int]) -> None:
    first = _space(_process(library))
    assert sum(projected) == N
    second = _space(_process(library))
    assert sum(projected) == N  # was: every photo again, on every command
    np.testing.assert_array_equal(second, first)
    np.testing.assert_allclose(second, _expected(library), rtol=0, atol=1e-6)


def test_changed_deleted_missing_and_new_vectors_are_never_served_stale(
        library: Library, projected: list[int]) -> None:
    _space(_process(library))
    rng = np.random.default_rng(1)
    image, probs = _vectors(rng, 2)
    with write_transaction(library.conn):
        VectorStore(library.conn).put_many(MODEL_ID, [(3, image[0], probs[0])])  # re-embedded
        library.conn.execute("DELETE FROM embeddings WHERE photo_id = 5")
        library.conn.execute("UPDATE photos SET missing = 1 WHERE id = 7")
        library.conn.execute("INSERT INTO photos (path, size, mtime_ns, added_at, updated_at)"
                             " VALUES ('/new.jpg', 1, 2, 'x', 'y')")
        VectorStore(library.conn).put_many(MODEL_ID, [(N + 1, image[1], probs[1])])
    projected.clear()
    tags = _process(library)
    space = _space(tags)
    assert sum(projected) == 2  # only photo 3's new vector and the new photo
    assert tags.engine is not None
    ids = tags.engine.matrix().ids.tolist()
    assert 5 not in ids and 7 not in ids and N + 1 in ids
    np.testing.assert_allclose(space, _expected(library), rtol=0, atol=1e-6)
    projected.clear()
    np.testing.assert_allclose(_space(_process(library)), space, rtol=0, atol=0)
    assert projected == []


def test_new_heads_or_a_damaged_file_recompute(library: Library, projected: list[int],
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    heads = tmp_path / "heads.safetensors"
    heads.write_bytes(b"v1")
    monkeypatch.setattr(space_cache, "model_files", lambda: [heads])
    _space(_process(library))
    os.utime(heads, ns=(1, 1))  # another heads file: the derived space may differ
    projected.clear()
    _space(_process(library))
    assert sum(projected) == N
    files = list((library.paths.cache_dir / "label_space").glob("*.npz"))
    assert len(files) == 1  # the old key's file went
    files[0].write_bytes(b"not a numpy file")
    projected.clear()
    space = _space(_process(library))
    assert sum(projected) == N
    np.testing.assert_allclose(space, _expected(library), rtol=0, atol=1e-6)


def test_a_read_only_cache_folder_just_computes(library: Library, projected: list[int]) -> None:
    (library.paths.cache_dir).mkdir(parents=True, exist_ok=True)
    (library.paths.cache_dir / "label_space").write_bytes(b"")  # not a folder: nothing writes
    first, second = _space(_process(library)), _space(_process(library))
    assert sum(projected) == 2 * N
    np.testing.assert_allclose(first, _expected(library), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(second, first)


def test_label_counts_come_from_few_products_and_equal_the_one_label_counts(
        library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    tags = _process(library)
    tags.add_labels([NewLabel(f"label {i}") for i in range(30)])
    labels = tags.labels.all()
    tags.decide([1, 2], labels[0].id, CONFIRMED, Memo())
    tags.decide([3], labels[0].id, REJECTED, Memo())
    tags.decide([4], labels[1].id, REJECTED, Memo())
    passes: list[int] = []
    real = scoring.LabelScorer.logits

    def logits(self: scoring.LabelScorer, photos: scoring.PhotoMatrix, vecs: Sequence[object]) -> np.ndarray:
        passes.append(len(vecs))
        return real(self, photos, vecs)  # type: ignore[arg-type]

    monkeypatch.setattr(scoring.LabelScorer, "logits", logits)
    counts = {s.name: s.photos for s in tags.summaries()}
    assert len(passes) <= 3  # was one pass over the library per label
    fresh = _process(library)
    assert counts == {lab.name: len(fresh.carrying(lab)[0]) for lab in labels}
    assert 0 < sum(counts.values()) < 30 * N


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_cache_files_get_the_permissions_of_any_new_file(library: Library, umask: int) -> None:
    """Another user sharing the library can read the cache (mkstemp made it 0600)."""
    old = os.umask(umask)
    try:
        _space(_process(library))
    finally:
        os.umask(old)
    (written,) = (library.paths.cache_dir / "label_space").glob(f"*{space_cache.SUFFIX}")
    assert written.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("damage", ["cut in half", "cut to 100 bytes", "a flipped byte", "a bare zip header",
                                    "rowids of two dimensions", "a flag of several values"])
def test_any_damaged_or_foreign_file_is_a_miss_and_is_rewritten(library: Library, projected: list[int],
                                                                 damage: str) -> None:
    # Found in review: a cut .npz raised zipfile.BadZipFile, which the reader did not catch, so
    # every scoring command crashed until the file was deleted by hand.
    good = _space(_process(library))
    [path] = (library.paths.cache_dir / "label_space").glob("*.npz")
    data = path.read_bytes()
    if damage == "cut in half":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "cut to 100 bytes":
        path.write_bytes(data[:100])
    elif damage == "a flipped byte":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    elif damage == "a bare zip header":
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 26)
    else:
        with np.load(path) as z:
            rowids, derived, flag = z["rowids"], z["derived"], z["after_label"]
        if damage == "rowids of two dimensions":
            rowids = rowids.reshape(1, -1)
        else:
            flag = np.array([True, False])
        with path.open("wb") as fh:
            np.savez(fh, rowids=rowids, derived=derived, after_label=flag)
    projected.clear()
    again = _space(_process(library))
    np.testing.assert_array_equal(again, good)
    projected.clear()
    np.testing.assert_array_equal(_space(_process(library)), good)
    assert sum(projected) == 0  # rewritten whole: the next command reads it


def test_the_key_follows_the_heads_this_process_loaded_not_the_file_on_disk_now(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Found in review: a window that loaded the heads before the file was replaced (an update
    # under a running app) stored rows made with the old heads under the new file's key, and
    # every later process trusted them.
    import shutil

    from photomgr.core.models import heads as heads_module
    from photomgr.core.models.resources import resources_dir

    path = tmp_path / heads_module.HEADS_NAME
    shutil.copyfile(resources_dir() / heads_module.HEADS_NAME, path)
    monkeypatch.setattr(space_cache, "model_files", lambda: [path])
    monkeypatch.setattr(heads_module, "_read_stamps", {})
    before_loading = space_cache.cache_key("m", 1)
    heads_module.load_heads(path)
    loaded = space_cache.cache_key("m", 1)
    assert loaded == before_loading  # the same file: the same key
    os.utime(path, ns=(1, 1))  # the file is replaced on disk; this process keeps its heads
    assert space_cache.cache_key("m", 1) == loaded
    heads_module._read_stamps.clear()  # a new process: it will load the new file
    assert space_cache.cache_key("m", 1) != loaded


def _aged(path: Path, seconds: float) -> Path:
    old = time.time() - seconds
    os.utime(path, (old, old))
    return path


@pytest.mark.skipif(tempfiles.fcntl is None, reason="flock")
def test_a_killed_writers_temporary_file_goes_at_the_next_write(library: Library, tmp_path: Path) -> None:
    """A process killed while writing the cache left .space-*.tmp behind, and nothing removed
    it (was: one more file of the cache's size per kill, for ever). The next write removes an
    old one that no live process holds; a young one, another's file and a held one stay."""
    folder = library.paths.cache_dir / "label_space"
    folder.mkdir(parents=True)
    killed = folder / ".space-0123456789ab.tmp"
    killed.write_bytes(b"half an npz")
    _aged(killed, 2 * 3600)
    young = folder / ".space-ba9876543210.tmp"  # a writer between creating and locking it
    young.write_bytes(b"")
    other = folder / "notes.tmp"
    other.write_bytes(b"not the cache's")
    _aged(other, 2 * 3600)
    # A live writer (another process: flock is per open file, so a second open stands for it)
    # that has been stopped for two hours (a suspended laptop) still holds its file.
    held = folder / ".space-feedfacecafe.tmp"
    held.write_bytes(b"being written")
    _aged(held, 2 * 3600)
    with open(held, "rb+") as writer:
        tempfiles.fcntl.flock(writer.fileno(), tempfiles.fcntl.LOCK_EX | tempfiles.fcntl.LOCK_NB)
        _space(_process(library))  # writes the cache
    left = sorted(p.name for p in folder.iterdir() if not p.name.endswith(space_cache.SUFFIX))
    assert left == sorted([held.name, young.name, other.name]) and len(list(folder.glob("*.npz"))) == 1


@pytest.mark.skipif(tempfiles.fcntl is None, reason="flock")
def test_a_write_holds_its_temporary_file_until_the_rename(library: Library,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process sweeping while this one writes (even one that thinks the file is old)
    leaves it alone: the write completes."""
    folder = library.paths.cache_dir / "label_space"
    swept: list[int] = []
    real_savez = np.savez

    def savez(fh: object, **arrays: np.ndarray) -> None:
        real_savez(fh, **arrays)  # type: ignore[arg-type]
        (tmp,) = folder.glob(".space-*.tmp")
        _aged(tmp, 2 * 3600)
        swept.append(tempfiles.remove_stale(folder, space_cache.TMP_PREFIX))

    monkeypatch.setattr(space_cache.np, "savez", savez)
    _space(_process(library))
    monkeypatch.undo()
    assert swept == [0] and len(list(folder.glob(f"*{space_cache.SUFFIX}"))) == 1
    assert list(folder.glob("*.tmp")) == []
