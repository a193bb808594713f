"""The model loads in the background while the first photos are decoded: photos decoded before
it is ready wait (deferred) and get the same vectors as if the model had been there at once."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image

from photomgr.core.library.database import Library
from photomgr.core.library.vectors import VectorStore
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.model_choice import LazyEmbedder, LoadedModel, ModelChoice
from tests.fakes import FakeEmbedder


def _photos(folder: Path, n: int) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 255, (40 + i % 5, 60, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:03d}.jpg")


def _by_name(library: Library) -> dict[str, np.ndarray]:
    matrix = VectorStore(library.conn).matrix(FakeEmbedder.info.model_id)
    names = dict(library.conn.execute("SELECT id, path FROM photos").fetchall())
    return {Path(names[int(i)]).name: matrix.image[row] for row, i in enumerate(matrix.ids)}


class _SlowModel(LazyEmbedder):
    """Loads only when the test lets it: every photo is decoded before the model exists."""

    def __init__(self) -> None:
        super().__init__(ModelChoice())
        self.expected_id = FakeEmbedder.info.model_id
        self.release = threading.Event()
        self.started = threading.Event()
        self.loads = 0

    def get(self) -> FakeEmbedder:  # type: ignore[override]
        with self._lock:
            if self._loaded is None:
                self.started.set()
                self.release.wait(timeout=30)
                self.loads += 1
                self._loaded = LoadedModel(FakeEmbedder(), None)
            return self._loaded.embedder  # type: ignore[return-value]


def test_photos_decoded_while_the_model_loads_get_the_same_vectors(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", 150)  # more than the 4 batches that may wait for the model
    slow = _SlowModel()
    decoded = threading.Event()

    def progress(p: object) -> None:
        if getattr(p, "phase", "") == "analysing" and getattr(p, "done", 0) >= 100:
            decoded.set()
            slow.release.set()  # the model arrives only once 100 photos were decoded

    with Library(tmp_path / "lib") as library:
        result = index_folders(library, [tmp_path / "photos"], model=slow, progress=progress)
        assert slow.started.is_set() and decoded.is_set() and slow.loads == 1
        assert result.embed.embedded == 150 and result.pending == 0
        got = _by_name(library)
    with Library(tmp_path / "lib2") as library:  # the same photos with the model there at once
        index_folders(library, [tmp_path / "photos"], embedder=FakeEmbedder())
        want = _by_name(library)
    assert got.keys() == want.keys() and len(got) == 150
    for name, vector in want.items():
        np.testing.assert_allclose(got[name], vector, atol=1e-3)


def test_nothing_new_loads_no_model(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    slow = _SlowModel()
    slow.release.set()
    with Library(tmp_path / "lib") as library:
        index_folders(library, [tmp_path / "photos"], model=slow)
    assert not slow.started.is_set()
