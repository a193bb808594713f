"""SQL of descriptions: a sentence per photo saying what it shows, and the full-text index.

A photo holds at most one description per source (migration 10): the model's (with the id of
the captioner that wrote it) and the user's. The user's is the one shown, and no model ever
writes over it: `put_model` is the one function that stores a model's descriptions, and it
writes only rows whose source is 'model'. Clearing the user's shows the model's again.

`photo_text` (FTS5) holds each photo's shown description, file name and folder; triggers keep
it in step with `photos` and `descriptions`, so nothing here writes it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from photomgr.core.fspaths import path_from_db
from photomgr.core.library.photos import utc_now
from photomgr.core.library.vectors import PendingPhoto

MODEL = "model"
USER = "user"

# Words that say nothing about what a photo shows: "dog in water" must find "a dog running
# through the water", so a query asks for its other words only.
STOPWORDS = frozenset(
    "a an the in on of at to with and or is are was were be by for from into onto over under "
    "near next its it this that these those some photo photos picture image of".split())
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Description:
    photo_id: int
    text: str
    source: str  # "model" | "user"
    model_id: str | None  # the captioner's id for a model's description, None for the user's

    def as_json(self) -> dict[str, str | None]:
        return {"description": self.text, "source": self.source, "model": self.model_id}


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    wanted = list(ids)
    return [wanted[i:i + 900] for i in range(0, len(wanted), 900)]  # SQLite's variable limit


# -- reads ---------------------------------------------------------------------------------
def shown(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> dict[int, Description]:
    """The description each photo shows (the user's, else the model's); photos without one are
    absent from the answer."""
    out: dict[int, Description] = {}
    for chunk in _chunks(photo_ids):
        marks = ",".join("?" * len(chunk))
        # 'user' sorts after 'model': the user's row, read last, wins.
        for pid, text, source, model_id in conn.execute(
                f"SELECT photo_id, text, source, model_id FROM descriptions WHERE photo_id IN ({marks})"
                " ORDER BY source", chunk):
            out[pid] = Description(pid, text, source, model_id)
    return out


def shown_one(conn: sqlite3.Connection, photo_id: int) -> Description | None:
    return shown(conn, [photo_id]).get(photo_id)


def all_shown(conn: sqlite3.Connection) -> dict[int, str]:
    """photo id -> shown description text, for every photo that has one (the gallery's tooltips)."""
    out: dict[int, str] = {}
    for pid, text in conn.execute("SELECT photo_id, text FROM descriptions ORDER BY source"):
        out[pid] = text
    return out


def user_text(conn: sqlite3.Connection, photo_id: int) -> str | None:
    row = conn.execute("SELECT text FROM descriptions WHERE photo_id = ? AND source = 'user'",
                       (photo_id,)).fetchone()
    return row[0] if row else None


def model_text(conn: sqlite3.Connection, photo_id: int) -> str | None:
    row = conn.execute("SELECT text FROM descriptions WHERE photo_id = ? AND source = 'model'",
                       (photo_id,)).fetchone()
    return row[0] if row else None


def pending(conn: sqlite3.Connection, model_id: str) -> list[PendingPhoto]:
    """Usable photos that have a vector for `model_id` but no description at all: what a
    library indexed before descriptions existed (or with them off) catches up on. A photo the
    user described needs no model's description."""
    rows = conn.execute(
        "SELECT p.id, p.path FROM photos p WHERE p.missing = 0 AND p.error IS NULL"
        " AND EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)"
        " AND NOT EXISTS (SELECT 1 FROM descriptions d WHERE d.photo_id = p.id)"
        " ORDER BY p.id", (model_id,))
    return [PendingPhoto(r[0], path_from_db(r[1])) for r in rows]


def missing(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> list[PendingPhoto]:
    """Those of `photo_ids` that are usable photos (present, readable) without a description."""
    out: list[PendingPhoto] = []
    for chunk in _chunks(list(dict.fromkeys(photo_ids))):
        marks = ",".join("?" * len(chunk))
        out.extend(PendingPhoto(r[0], path_from_db(r[1])) for r in conn.execute(
            f"SELECT p.id, p.path FROM photos p WHERE p.id IN ({marks}) AND p.missing = 0"
            " AND p.error IS NULL AND NOT EXISTS (SELECT 1 FROM descriptions d"
            " WHERE d.photo_id = p.id)", chunk))
    return sorted(out, key=lambda p: p.id)


def photo_exists(conn: sqlite3.Connection, photo_id: int) -> bool:
    return conn.execute("SELECT 1 FROM photos WHERE id = ?", (photo_id,)).fetchone() is not None


def count(conn: sqlite3.Connection) -> tuple[int, int]:
    """(usable photos with a description, of which the user wrote)."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT d.photo_id), COUNT(DISTINCT CASE WHEN d.source = 'user'"
        " THEN d.photo_id END) FROM descriptions d JOIN photos p ON p.id = d.photo_id"
        " WHERE p.missing = 0 AND p.error IS NULL").fetchone()
    return int(row[0]), int(row[1])


# -- full-text search ------------------------------------------------------------------------
def fts_query(text: str) -> str | None:
    """An FTS5 query for what a person typed: every word that says something must appear
    (each quoted, so no word is read as FTS syntax); None when there is no word at all."""
    words = [w.casefold() for w in _WORD.findall(text)]
    content = [w for w in words if w not in STOPWORDS] or words
    if not content:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(content))


def text_matches(conn: sqlite3.Connection, text: str, limit: int) -> list[tuple[int, float]]:
    """Usable photos whose description, file name or folder holds every word of `text`, best
    first, as (photo id, bm25 rank: lower is better). Words in a description weigh most."""
    query = fts_query(text)
    if query is None:
        return []
    rows = conn.execute(
        "SELECT t.rowid, bm25(photo_text, 4.0, 2.0, 1.0) AS rank FROM photo_text t"
        " JOIN photos p ON p.id = t.rowid"
        " WHERE photo_text MATCH ? AND p.missing = 0 AND p.error IS NULL"
        " ORDER BY rank LIMIT ?", (query, limit))
    return [(int(pid), float(rank)) for pid, rank in rows]


# -- writes (inside a write transaction) ---------------------------------------------------
def put_model(conn: sqlite3.Connection, model_id: str, rows: Iterable[tuple[int, str]]) -> None:
    """Store a model's descriptions, (photo id, text). The one place a model's description is
    written, and it never writes over the user's: only rows with source 'model' are inserted
    or replaced (the user's row, if any, is another row and stays the one shown)."""
    now = utc_now()
    conn.executemany(
        "INSERT INTO descriptions (photo_id, source, text, model_id, created_at)"
        " VALUES (?, 'model', ?, ?, ?) ON CONFLICT(photo_id, source) DO UPDATE SET"
        " text = excluded.text, model_id = excluded.model_id, created_at = excluded.created_at"
        " WHERE descriptions.source = 'model'",
        ((pid, text.strip(), model_id, now) for pid, text in rows))


def set_user(conn: sqlite3.Connection, photo_id: int, text: str | None) -> str | None:
    """Set (or, with None or blank text, remove) the user's description; returns the one it
    replaced (None: there was none), which is what an undo puts back."""
    before = user_text(conn, photo_id)
    text = text.strip() if text is not None else None
    if not text:
        conn.execute("DELETE FROM descriptions WHERE photo_id = ? AND source = 'user'", (photo_id,))
    elif text != before:
        conn.execute(
            "INSERT INTO descriptions (photo_id, source, text, model_id, created_at)"
            " VALUES (?, 'user', ?, NULL, ?) ON CONFLICT(photo_id, source) DO UPDATE SET"
            " text = excluded.text, created_at = excluded.created_at", (photo_id, text, utc_now()))
    return before


def from_xmp(conn: sqlite3.Connection, photo_id: int, new: str | None, old: str | None,
             model_mark: str | None = None) -> bool:
    """A photo's XMP description changed from `old` (what the last read found) to `new`: the
    person who wrote it there is the user, so it becomes the user's description, the way a
    keyword becomes a confirmed tag. Like a keyword it never overrides the user's own: a user's
    description that differs from `old` was written here since, and stays. A description that
    leaves the XMP takes back only the one it gave; the model's own sentence read back from a
    sidecar photomgr wrote is not the user's, whether this library knows that sentence or the
    sidecar marks it as the model's (`model_mark`, photomgr:modelDescription). True if the
    user's description changed."""
    new = (new or "").strip() or None
    old = (old or "").strip() or None
    if new == old:
        return False  # the XMP says what it said before: nothing to take from it
    user = user_text(conn, photo_id)
    if user is not None and user != old:
        return False
    if new is None or new == model_text(conn, photo_id) or new == (model_mark or "").strip():
        if user is None:
            return False
        set_user(conn, photo_id, None)
        return True
    return set_user(conn, photo_id, new) != new


def forget_model(conn: sqlite3.Connection, photo_ids: Iterable[int]) -> None:
    """Drop the model's descriptions of photos whose content changed (the user's stay)."""
    conn.executemany("DELETE FROM descriptions WHERE photo_id = ? AND source = 'model'",
                     ((i,) for i in photo_ids))
