"""Reads and writes of the `fingerprints`, `copy_descriptors` and `copy_checks` tables
(Duplicates' derived data).

`fingerprints`: one perceptual hash per content hash and kind. `copy_descriptors`: the small
grey image of each thumbnail that the near-copy screen compares (height, width, uint8 pixels),
per content hash and kind. `copy_checks`: the similarity the near-copy check found for a pair of
content hashes (hash_a < hash_b) with a given method, so a pair is compared once, not on every
Duplicates run. All are keyed by content hash like the thumbnails they are made from: a renamed
or moved photo keeps them, identical files share them, and a photo whose bytes change gets new
ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

_CHUNK = 500  # content hashes per query (SQLite's limit on bound parameters is 999 in old builds)
_PUT_DESCRIPTOR = ("INSERT OR REPLACE INTO copy_descriptors(content_hash, kind, height, width, pixels) "
                   "VALUES (?, ?, ?, ?, ?)")


class FingerprintStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, kind: str) -> dict[str, int]:
        """Stored fingerprints of this kind by content hash (signed 64-bit, as SQLite keeps them)."""
        return dict(self.conn.execute(
            "SELECT content_hash, value FROM fingerprints WHERE kind = ?", (kind,)))

    def put_many(self, kind: str, rows: Iterable[tuple[str, int]]) -> None:
        """Store (content hash, signed value) pairs, in one transaction of their own (derived
        data: a crash loses only fingerprints that are made again on the next use)."""
        self._write("INSERT OR REPLACE INTO fingerprints(content_hash, kind, value) VALUES (?, ?, ?)",
                    [(h, kind, int(v)) for h, v in rows])

    def add(self, rows: Iterable[tuple[str, str, int]]) -> None:
        """Store (content hash, kind, signed value) rows inside the caller's transaction (the
        scanner's batch: a thumbnail and its fingerprint are written together)."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO fingerprints(content_hash, kind, value) VALUES (?, ?, ?)", rows)

    def descriptors(self, kind: str, hashes: Iterable[str]) -> dict[str, tuple[int, int, bytes]]:
        """(height, width, pixels) by content hash, for those of `hashes` that have one of this
        kind (read in chunks: a first Duplicates run at 100,000 photos asks for ~40,000)."""
        wanted = sorted(set(hashes))
        found: dict[str, tuple[int, int, bytes]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            found.update((h, (height, width, pixels)) for h, height, width, pixels in self.conn.execute(
                "SELECT content_hash, height, width, pixels FROM copy_descriptors WHERE kind = ? "
                f"AND content_hash IN ({','.join('?' * len(chunk))})", (kind, *chunk)))
        return found

    def put_descriptors(self, kind: str, rows: Iterable[tuple[str, int, int, bytes]]) -> None:
        """Store (content hash, height, width, pixels) rows in one transaction of their own
        (derived data, like put_many)."""
        self._write(_PUT_DESCRIPTOR, [(h, kind, height, width, pixels) for h, height, width, pixels in rows])

    def add_descriptors(self, rows: Iterable[tuple[str, str, int, int, bytes]]) -> None:
        """Store (content hash, kind, height, width, pixels) rows inside the caller's
        transaction (the scanner's batch, with the thumbnail's fingerprint)."""
        self.conn.executemany(_PUT_DESCRIPTOR, rows)

    def forget_descriptors(self) -> None:
        """Drop every stored descriptor (benchmarks time an older library's first run)."""
        self._write("DELETE FROM copy_descriptors WHERE 1 = ?", [(1,)])

    def checks(self, method: str) -> dict[tuple[str, str], float]:
        """Similarity by (hash_a, hash_b), hash_a < hash_b, of every pair checked with `method`."""
        return {(a, b): float(s) for a, b, s in self.conn.execute(
            "SELECT hash_a, hash_b, similarity FROM copy_checks WHERE method = ?", (method,))}

    def put_checks(self, method: str, rows: Iterable[tuple[str, str, float]]) -> None:
        """Store (hash_a, hash_b, similarity) rows, hash_a < hash_b, in one transaction."""
        self._write("INSERT OR REPLACE INTO copy_checks(hash_a, hash_b, method, similarity) "
                    "VALUES (?, ?, ?, ?)", [(a, b, method, float(s)) for a, b, s in rows])

    def forget_checks(self) -> None:
        """Drop every stored check (they are made again on the next use)."""
        self._write("DELETE FROM copy_checks WHERE 1 = ?", [(1,)])

    def _write(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(sql, rows)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
