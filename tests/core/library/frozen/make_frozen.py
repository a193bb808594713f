"""Write a frozen library file for every released schema version that has none yet.

Run once per release, with that release's code: `python -m tests.core.library.frozen.make_frozen`.
A file written here is never regenerated (it would then be built by newer migration code and
stop testing what users really have on disk); an existing file is left untouched.

Each file holds what a user's library of that version holds: photos (one missing, one with an
error), image/label vectors (version >= 2), labels with prompts, a custom threshold, cached text
vectors and confirmed/rejected decisions (>= 3), instance vectors (>= 4), and descriptions, a
user's and a model's (>= 10), a near-copy descriptor (>= 11).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import numpy as np

from photomgr.core.library.database import connect
from photomgr.core.library.migrations import LATEST_VERSION, migrate

HERE = Path(__file__).resolve().parent
MODEL = "default:frozen-test:v1"
BEACH_KEY = json.dumps({"name": "beach", "prompts": []}, sort_keys=True)  # Label.text_key


def frozen_path(version: int) -> Path:
    return HERE / f"library-v{version}.db"


def _vector(seed: int, dim: int) -> bytes:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float16).tobytes()


def _text(seed: int, dim: int) -> bytes:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32).tobytes()  # text vectors are float32


def fill(conn: sqlite3.Connection, version: int) -> None:
    now = "2026-11-01T10:00:00+00:00"
    conn.execute("BEGIN")
    conn.execute("INSERT INTO roots (path, added_at) VALUES ('/photos', ?)", (now,))
    rows = [
        ("/photos/beach.jpg", 1000, 11, "h-beach", "JPEG", 640, 480, None, 0),
        ("/photos/dog.jpg", 2000, 22, "h-dog", "JPEG", 800, 600, None, 0),
        ("/photos/gone.jpg", 3000, 33, "h-gone", "JPEG", 100, 100, None, 1),
        ("/photos/broken.jpg", 10, 44, "h-broken", None, None, None, "truncated JPEG", 0),
    ]
    for path, size, mtime, h, fmt, w, hgt, err, missing in rows:
        conn.execute(
            "INSERT INTO photos (path, size, mtime_ns, content_hash, format, width, height, error,"
            " missing, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (path, size, mtime, h, fmt, w, hgt, err, missing, now, now))
    conn.execute("INSERT INTO settings (key, value) VALUES ('model.backend', 'default')")
    if version >= 2:
        for pid in (1, 2, 3):
            conn.execute(
                "INSERT INTO embeddings (photo_id, model_id, image, label, created_at)"
                " VALUES (?, ?, ?, ?, ?)", (pid, MODEL, _vector(pid, 8), _vector(100 + pid, 4), now))
        conn.execute("INSERT INTO embed_errors (photo_id, model_id, error) VALUES (4, ?, 'x')", (MODEL,))
        conn.execute("INSERT INTO settings (key, value) VALUES ('model.active_id', ?)", (MODEL,))
    if version >= 3:
        conn.execute("INSERT INTO labels (name, prompts, threshold, created_at, updated_at)"
                     " VALUES ('beach', '[]', NULL, ?, ?)", (now, now))
        conn.execute("INSERT INTO labels (name, prompts, threshold, created_at, updated_at)"
                     " VALUES ('my dog', '[\"a photo of a black labrador\"]', 0.6, ?, ?)", (now, now))
        conn.execute("INSERT INTO label_vectors (label_id, model_id, text_key, vector)"
                     " VALUES (1, ?, ?, ?)", (MODEL, BEACH_KEY, _text(7, 4)))
        conn.execute("INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at)"
                     " VALUES (1, 1, 'confirmed', 'auto', ?)", (now,))
        conn.execute("INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at)"
                     " VALUES (2, 1, 'rejected', 'auto', ?)", (now,))
        conn.execute("INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at)"
                     " VALUES (2, 2, 'confirmed', 'manual', ?)", (now,))
    if version >= 4:
        conn.execute("UPDATE embeddings SET instance = ? WHERE photo_id = 1", (_vector(9, 6),))
    if version >= 5:
        conn.execute("UPDATE labels SET revision = 3 WHERE name = 'my dog'")
        conn.execute("INSERT INTO settings (key, value) VALUES ('library.revision', '3')")
    if version >= 6:
        conn.execute("UPDATE photos SET error_kind = 'permanent' WHERE error IS NOT NULL")
    if version >= 7:
        conn.execute("INSERT INTO labels (name, prompts, threshold, created_at, updated_at)"
                     " VALUES ('Holiday', '[]', NULL, ?, ?)", (now, now))
        conn.execute("INSERT INTO tag_decisions (photo_id, label_id, state, source, decided_at)"
                     " VALUES (1, 3, 'confirmed', 'keyword', ?)", (now,))
        conn.execute("INSERT INTO photo_xmp (photo_id, signature, keywords, description, rating, read_at)"
                     " VALUES (1, 'sig', '[\"Trips|Holiday\"]', 'At the beach', 4, ?)", (now,))
    if version >= 8:
        conn.execute("INSERT INTO fingerprints (content_hash, kind, value) VALUES ('h-beach', 'phash', 42)")
        conn.execute("INSERT INTO copy_checks (hash_a, hash_b, method, similarity)"
                     " VALUES ('h-beach', 'h-dog', 'ncc', 0.5)")
    if version >= 9:
        conn.execute("INSERT INTO hidden_photos (photo_id, hidden_at) VALUES (2, ?)", (now,))
    if version >= 10:
        conn.execute("INSERT INTO descriptions (photo_id, source, text, model_id, created_at)"
                     " VALUES (1, 'user', 'At the beach', NULL, ?)", (now,))
        conn.execute("INSERT INTO descriptions (photo_id, source, text, model_id, created_at)"
                     " VALUES (2, 'model', 'a black dog running on the grass', 'default-caption:v1', ?)",
                     (now,))
        conn.execute("INSERT INTO descriptions (photo_id, source, text, model_id, created_at)"
                     " VALUES (1, 'model', 'a sandy beach', 'default-caption:v1', ?)", (now,))
    if version >= 11:
        conn.execute("INSERT INTO copy_descriptors (content_hash, kind, height, width, pixels)"
                     " VALUES ('h-beach', 'grey64-v1', 2, 3, ?)", (bytes([0, 50, 100, 150, 200, 250]),))
    conn.execute("COMMIT")


def main() -> int:
    for version in range(1, LATEST_VERSION + 1):
        target = frozen_path(version)
        if target.exists():
            continue
        conn = connect(target)
        migrate(conn, target=version)
        fill(conn, version)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal/-shm
        conn.execute("VACUUM")
        conn.close()
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
