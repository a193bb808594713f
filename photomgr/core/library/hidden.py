"""Photos hidden from the gallery, and the facts that tell duplicates apart (size, date, pixels)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from photomgr.core.library.photos import utc_now


@dataclass(frozen=True)
class PhotoFacts:
    size: int
    date_taken: str | None
    width: int | None
    height: int | None
    mtime_ns: int | None = None  # the file's last change: the date shown when none was taken


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    wanted = list(ids)
    return [wanted[i:i + 900] for i in range(0, len(wanted), 900)]  # SQLite's variable limit


def hide(conn: sqlite3.Connection, ids: Sequence[int]) -> list[int]:
    """Inside a write transaction: hide `ids`; returns those that were not hidden before."""
    already = set(hidden_among(conn, ids))
    new = [i for i in dict.fromkeys(ids) if i not in already]
    now = utc_now()
    conn.executemany("INSERT OR IGNORE INTO hidden_photos(photo_id, hidden_at) VALUES (?, ?)",
                     [(i, now) for i in new])
    return new


def unhide(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    conn.executemany("DELETE FROM hidden_photos WHERE photo_id = ?", [(i,) for i in ids])


def hidden_among(conn: sqlite3.Connection, ids: Sequence[int]) -> list[int]:
    out: list[int] = []
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        out += [r[0] for r in conn.execute(
            f"SELECT photo_id FROM hidden_photos WHERE photo_id IN ({marks})", chunk)]
    return out


def hidden_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM hidden_photos").fetchone()[0])


def photo_facts(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, PhotoFacts]:
    """id -> size, date taken, pixel size: what tells the photos of a duplicate group apart."""
    out: dict[int, PhotoFacts] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for pid, size, date, width, height, mtime_ns in conn.execute(
                f"SELECT id, size, date_taken, width, height, mtime_ns FROM photos WHERE id IN ({marks})",
                chunk):
            out[pid] = PhotoFacts(size, date, width, height, mtime_ns)
    return out
