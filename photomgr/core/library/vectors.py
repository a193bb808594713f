"""Image vectors in SQLite, one row per (photo, model).

Stored as float16: half the disk of float32 and far more precision than cosine ranking needs.
Loaded back as contiguous float32 so BLAS does the re-scoring.

A row may also hold an *instance vector* (backends that make one; see EmbeddingBatch), which
Find similar uses to re-rank; NULL for backends without one and for rows written before it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from photomgr.core.fspaths import path_from_db
from photomgr.core.library.photos import utc_now
from photomgr.core.library.transaction import write_transaction

STORE_DTYPE = np.float16
INSTANCE_DTYPE = np.float32

# (photo_id, image, label) or (photo_id, image, label, instance); the 3-tuple is the older form.
VectorRow = (tuple[int, np.ndarray, np.ndarray | None]
             | tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None])


# The highest `embeddings` rowid put_many ever gave (in the settings table). SQLite's own next
# rowid is the current maximum + 1, so after the newest row is deleted (its photo's file changed,
# trashed, or its folder removed) the next row would get the same rowid: a re-embedded photo would
# then look unchanged to everything keyed by rowids (the FAISS fingerprint, the space cache).
ROWID_HIGH_KEY = "embeddings.rowid_high"


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=STORE_DTYPE).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=STORE_DTYPE).astype(np.float32)


@dataclass(frozen=True)
class VectorMatrix:
    """The vectors of every usable photo for one model, row i belonging to ids[i]."""

    ids: np.ndarray  # int64
    image: np.ndarray  # (N, image_dim) float32
    label: np.ndarray | None  # (N, label_dim) float32, None when the label space is the image space
    instance: np.ndarray | None = None  # (N, D_inst) float32 when every row has one, else None
    # (N,) int64 `embeddings` rowid of each row: put_many gives every row it writes a rowid
    # never used before (ROWID_HIGH_KEY), so a rowid names one version of one photo's vectors
    # (core/tagging/space_cache.py caches what is derived from them under it).
    rowids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class PendingPhoto:
    id: int
    path: str


class VectorStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def put_many(self, model_id: str, rows: Sequence[VectorRow]) -> None:
        """Store (photo_id, image, label[, instance]) rows; call inside a transaction."""
        now = utc_now()

        def blob(v: np.ndarray | None) -> bytes | None:
            return None if v is None else to_blob(v)

        def instance_blob(v: np.ndarray | None) -> bytes | None:
            # float32: instance vectors are compared after subtracting the library's mean, which
            # removes ~99% of their length; float16 rounding would then swamp what is left.
            return None if v is None else np.ascontiguousarray(v, dtype=INSTANCE_DTYPE).tobytes()

        first = self._new_rowids(len(rows))
        self.conn.executemany(
            "INSERT OR REPLACE INTO embeddings"
            " (rowid, photo_id, model_id, image, label, instance, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((first + i, row[0], model_id, to_blob(row[1]), blob(row[2]),
              instance_blob(row[3] if len(row) > 3 else None), now) for i, row in enumerate(rows)),
        )
        self.conn.executemany(
            "DELETE FROM embed_errors WHERE photo_id = ? AND model_id = ?",
            ((row[0], model_id) for row in rows))

    def _new_rowids(self, n: int) -> int:
        """The first of `n` consecutive rowids no embeddings row ever had; reserves them."""
        high = self.conn.execute(
            "SELECT MAX(COALESCE((SELECT MAX(rowid) FROM embeddings), 0),"
            " COALESCE((SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?), 0))",
            (ROWID_HIGH_KEY,)).fetchone()[0]
        self.conn.execute("INSERT INTO settings(key, value) VALUES (?, ?)"
                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          (ROWID_HIGH_KEY, str(high + n)))
        return int(high) + 1

    def fingerprint(self, model_id: str) -> str:
        """Changes whenever the usable vectors of `model_id` change, without reading them: a
        written row has a rowid never used before (it raises the maximum), a row that goes (or
        whose photo goes missing or fails) changes the count and sums. Only a row put back as it
        was, rowid included (undo of Move to Trash), brings an earlier fingerprint back, with its
        earlier vectors. The sum of squares is a float (TOTAL): it cannot overflow.
        """
        count, id_sum, rowid_sum, rowid_square_sum, rowid_max = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(e.photo_id), 0), COALESCE(SUM(e.rowid), 0),"
            " TOTAL(e.rowid * e.rowid), COALESCE(MAX(e.rowid), 0)"
            " FROM embeddings e JOIN photos p ON p.id = e.photo_id"
            " WHERE e.model_id = ? AND p.missing = 0 AND p.error IS NULL", (model_id,)).fetchone()
        return f"{model_id}|{count}|{id_sum}|{rowid_sum}|{rowid_square_sum}|{rowid_max}"

    def adopt(self, old_ids: Sequence[str], model_id: str) -> int:
        """Move rows stored under `old_ids` to `model_id`; returns how many moved.

        For a model whose stored columns equal an older id's (the default model with new heads:
        only label texts and the derived scoring space change), so no photo is decoded again.
        A photo that already has a row for `model_id` keeps it.
        """
        if self.conn.in_transaction:  # the caller's: it commits (and bumps the revision)
            return self._adopt(old_ids, model_id)
        with write_transaction(self.conn):  # bumps the revision: other processes' sync() see it
            return self._adopt(old_ids, model_id)

    def _adopt(self, old_ids: Sequence[str], model_id: str) -> int:
        moved = 0
        for old in old_ids:
            if old == model_id:
                continue
            moved += self.conn.execute("UPDATE OR IGNORE embeddings SET model_id = ? WHERE model_id = ?",
                                       (model_id, old)).rowcount
            self.conn.execute("UPDATE OR IGNORE embed_errors SET model_id = ? WHERE model_id = ?",
                              (model_id, old))
            self.conn.execute("DELETE FROM embeddings WHERE model_id = ?", (old,))
            self.conn.execute("DELETE FROM embed_errors WHERE model_id = ?", (old,))
        return moved

    def record_errors(self, model_id: str, errors: Iterable[tuple[int, str]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO embed_errors (photo_id, model_id, error) VALUES (?, ?, ?)",
            ((pid, model_id, err) for pid, err in errors))

    def forget(self, photo_ids: Iterable[int]) -> None:
        """Drop every model's vectors of photos whose content changed."""
        self.conn.executemany("DELETE FROM embeddings WHERE photo_id = ?", ((i,) for i in photo_ids))

    def pending(self, model_id: str) -> list[PendingPhoto]:
        """Usable photos that have no vector for this model yet (and did not fail before)."""
        rows = self.conn.execute(
            "SELECT p.id, p.path FROM photos p WHERE p.missing = 0 AND p.error IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)"
            " AND NOT EXISTS (SELECT 1 FROM embed_errors x WHERE x.photo_id = p.id AND x.model_id = ?)"
            " ORDER BY p.id",
            (model_id, model_id),
        )
        return [PendingPhoto(r[0], path_from_db(r[1])) for r in rows]

    def count(self, model_id: str) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id"
            " WHERE e.model_id = ? AND p.missing = 0 AND p.error IS NULL", (model_id,)).fetchone()
        return int(row[0])

    def models(self) -> dict[str, int]:
        return {m: n for m, n in self.conn.execute(
            "SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id")}

    def get(self, photo_id: int, model_id: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        row = self.conn.execute(
            "SELECT image, label FROM embeddings WHERE photo_id = ? AND model_id = ?",
            (photo_id, model_id)).fetchone()
        if row is None:
            return None
        return from_blob(row[0]), (None if row[1] is None else from_blob(row[1]))

    def instance_of(self, photo_id: int, model_id: str) -> np.ndarray | None:
        """The photo's instance vector, or None when it has none (or no row at all)."""
        row = self.conn.execute(
            "SELECT instance FROM embeddings WHERE photo_id = ? AND model_id = ?",
            (photo_id, model_id)).fetchone()
        return None if row is None or row[0] is None else np.frombuffer(row[0], INSTANCE_DTYPE).copy()

    def images_of(self, photo_ids: Sequence[int], model_id: str, dim: int) -> np.ndarray:
        """Image vectors of the given photos (rows for photos without one are skipped)."""
        out = []
        for pid in photo_ids:
            got = self.get(pid, model_id)
            if got is not None:
                out.append(got[0])
        return np.vstack(out) if out else np.zeros((0, dim), dtype=np.float32)

    def matrix(self, model_id: str, *, instances: bool = True) -> VectorMatrix:
        """Every present photo's vectors for `model_id`, ordered by photo id.

        instances=False leaves the instance column unread (scoring labels needs none of it).
        """
        rows = self.conn.execute(
            "SELECT e.photo_id, e.rowid, e.image, e.label"
            + (", e.instance" if instances else ", NULL") + " FROM embeddings e"
            " JOIN photos p ON p.id = e.photo_id"
            " WHERE e.model_id = ? AND p.missing = 0 AND p.error IS NULL ORDER BY e.photo_id",
            (model_id,),
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        rowids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return VectorMatrix(ids, np.zeros((0, 0), np.float32), None, rowids=rowids)
        image = np.frombuffer(b"".join(r[2] for r in rows), dtype=STORE_DTYPE)
        image = image.reshape(len(rows), -1).astype(np.float32)
        label = None
        if rows[0][3] is not None:
            lab = np.frombuffer(b"".join(r[3] for r in rows), dtype=STORE_DTYPE)
            label = lab.reshape(len(rows), -1).astype(np.float32)
        instance = _instances([r[4] for r in rows]) if instances else None
        return VectorMatrix(ids, image, label, instance, rowids)


def _instances(blobs: list[bytes | None]) -> np.ndarray | None:
    """The (N, D) instance matrix, or None unless every row has one of the same size (a half
    re-embedded library re-ranks nothing rather than part of its photos)."""
    if not blobs or any(b is None for b in blobs) or len({len(b) for b in blobs if b is not None}) != 1:
        return None
    flat = np.frombuffer(b"".join(b for b in blobs if b is not None), dtype=INSTANCE_DTYPE)
    return flat.reshape(len(blobs), -1).copy()
