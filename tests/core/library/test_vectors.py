"""VectorStore: rows with and without instance vectors round-trip through SQLite."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photomgr.core.library.database import Library
from photomgr.core.library.vectors import VectorStore


def _add_photos(library: Library, n: int) -> None:
    for i in range(n):
        library.conn.execute("INSERT INTO photos (path, size, mtime_ns, added_at, updated_at)"
                             " VALUES (?, 1, 2, 'x', 'y')", (f"/p{i}.jpg",))


def test_instance_vectors_round_trip(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as library:
        _add_photos(library, 3)
        store = VectorStore(library.conn)
        rng = np.random.default_rng(0)
        image, label, inst = (rng.standard_normal((3, d)).astype(np.float32) for d in (8, 5, 6))
        store.put_many("m", [(i + 1, image[i], label[i], inst[i]) for i in range(3)])
        matrix = store.matrix("m")
        assert matrix.instance is not None and matrix.instance.shape == (3, 6)
        np.testing.assert_allclose(matrix.instance, inst, atol=2e-3)  # float16 storage
        got = store.instance_of(2, "m")
        assert got is not None
        np.testing.assert_allclose(got, inst[1], atol=2e-3)
        assert store.get(2, "m") is not None  # unchanged signature: (image, label)


def test_three_tuples_still_work_and_partial_instance_is_none(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as library:
        _add_photos(library, 2)
        store = VectorStore(library.conn)
        v = np.ones(4, np.float32)
        store.put_many("m", [(1, v, None)])
        store.put_many("m", [(2, v, None, v)])
        matrix = store.matrix("m")
        assert len(matrix) == 2 and matrix.label is None
        assert matrix.instance is None  # photo 1 has none: no re-ranking for half a library
        assert store.instance_of(1, "m") is None and store.instance_of(9, "m") is None


def test_adopt_moves_rows_of_an_equivalent_older_model(tmp_path: Path) -> None:
    """New heads of the default model re-use the stored rows: no photo is decoded again."""
    from photomgr.core.library.settings import Settings
    from photomgr.core.models.default_ids import MODEL_ID, STORED_ID
    from photomgr.core.services.indexing import _adopt_stored_vectors
    from photomgr.core.services.model_choice import active_model_id, set_active_model_id

    with Library(tmp_path / "lib") as library:
        _add_photos(library, 3)
        store = VectorStore(library.conn)
        old, kept = np.full(4, 0.5, np.float32), np.full(4, -0.5, np.float32)
        store.put_many(STORED_ID, [(1, old, old), (2, old, old)])
        store.put_many(MODEL_ID, [(2, kept, kept)])  # already embedded for the new id: kept
        store.record_errors(STORED_ID, [(3, "bad file")])
        set_active_model_id(Settings(library.conn), STORED_ID)
        _adopt_stored_vectors(library.conn, store, MODEL_ID)
        assert store.models() == {MODEL_ID: 2}
        np.testing.assert_allclose(store.get(1, MODEL_ID)[0], old)  # type: ignore[index]
        np.testing.assert_allclose(store.get(2, MODEL_ID)[0], kept)  # type: ignore[index]
        assert store.pending(MODEL_ID) == []  # the failed photo's error moved too
        assert active_model_id(Settings(library.conn)) == MODEL_ID
        assert store.adopt([STORED_ID], MODEL_ID) == 0  # nothing left to move
