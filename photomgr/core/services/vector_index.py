"""The library's FAISS index: derived from the vectors in SQLite, rebuilt when stale."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library.vectors import VectorStore

INDEX_FILE = "photos.faiss"


def vectors_fingerprint(conn: sqlite3.Connection, model_id: str) -> str:
    """Changes whenever the set of usable vectors changes, without reading the vectors."""
    return VectorStore(conn).fingerprint(model_id)


def load_or_build_index(conn: sqlite3.Connection, index_dir: Path, model_id: str) -> VectorIndex | None:
    """The current index for `model_id`: loaded from disk, or rebuilt (and saved) when the file
    is missing, unreadable, stale, or built for another model. None when there are no vectors."""
    fingerprint = vectors_fingerprint(conn, model_id)
    path = index_dir / INDEX_FILE
    index = VectorIndex.load(path, model_id, fingerprint)
    if index is not None:
        return index
    matrix = VectorStore(conn).matrix(model_id)
    if len(matrix) == 0:
        return None
    index = VectorIndex.build(matrix.ids, matrix.image, model_id, fingerprint, instance=matrix.instance)
    index_dir.mkdir(parents=True, exist_ok=True)
    index.save(path)
    return index
