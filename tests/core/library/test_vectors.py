"""VectorStore: rows with and without instance vectors round-trip through SQLite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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


def test_faiss_index_sees_a_re_embed_in_the_same_second(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored index is rebuilt when a photo's vector is written again within the second of
    the newest one (its fingerprint once held only the newest created_at, to the second)."""
    from photomgr.core.library import vectors as vectors_module
    from photomgr.core.services.vector_index import load_or_build_index

    monkeypatch.setattr(vectors_module, "utc_now", lambda: "2026-12-03T16:00:00Z")
    eye = np.eye(8, dtype=np.float32)
    with Library(tmp_path / "lib") as library:
        _add_photos(library, 2)
        store = VectorStore(library.conn)
        store.put_many("m", [(1, eye[0], None), (2, eye[1], None)])
        first = load_or_build_index(library.conn, tmp_path / "index", "m")
        assert first is not None and first.search(eye[0], 1)[0][0] == 1
        store.put_many("m", [(1, eye[2], None)])  # photo 1 re-embedded: a new vector
        index = load_or_build_index(library.conn, tmp_path / "index", "m")
        assert index is not None
        best_id, score = index.search(eye[2], 1)[0]
        assert best_id == 1 and score == pytest.approx(1.0, abs=1e-3)


def test_a_rowid_is_never_given_twice(tmp_path: Path) -> None:
    """The newest row deleted (its file changed) and written again gets a new rowid, so the
    fingerprint and the space cache see a new vector; undoing a removal keeps the old rowid."""
    from photomgr.core.library import photo_rows

    eye = np.eye(4, dtype=np.float32)
    with Library(tmp_path / "lib") as library:
        _add_photos(library, 2)
        store = VectorStore(library.conn)
        store.put_many("m", [(1, eye[0], None), (2, eye[1], None)])
        before, before_rowids = store.fingerprint("m"), store.matrix("m").rowids
        store.forget([2])  # photo 2 holds the highest rowid
        store.put_many("m", [(2, eye[2], None)])
        after = store.matrix("m").rowids
        assert before_rowids is not None and after is not None
        assert after[1] > before_rowids[1] and store.fingerprint("m") != before

        kept = photo_rows.take(library.conn, [2])
        library.conn.execute("DELETE FROM photos WHERE id = 2")  # Move to Trash
        store.put_many("m", [(1, eye[3], None)])  # a write in between
        seen = {*before_rowids.tolist(), *after.tolist(), *store.matrix("m").rowids.tolist()}  # type: ignore[union-attr]
        assert photo_rows.put_back(library.conn, kept[0])  # undo
        restored = store.matrix("m")
        assert restored.rowids is not None and restored.rowids[1] == after[1]
        np.testing.assert_array_equal(restored.image[1], eye[2])
        store.put_many("m", [(1, eye[0], None)])
        assert int(store.matrix("m").rowids[0]) not in seen  # type: ignore[index]
