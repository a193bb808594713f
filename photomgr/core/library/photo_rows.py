"""A photo's rows, taken before the library forgets it and put back on undo (Move to Trash).

Forgetting a photo deletes its `photos` row, and ON DELETE CASCADE deletes every row that
names it (vectors, decisions, hidden mark, XMP record, descriptions...). The tables are found
from the schema's foreign keys, not listed here, so a table a later migration adds is kept too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableRows:
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class PhotoRows:
    """One photo's `photos` row and the rows of every table that cascades from it."""

    photo_id: int
    photo: TableRows
    dependents: dict[str, TableRows] = field(default_factory=dict)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def dependent_tables(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, column) of every foreign key on photos(id) that deletes with the photo."""
    out = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        for fk in conn.execute(f"PRAGMA foreign_key_list({_quote(table)})"):
            # (id, seq, table, from, to, on_update, on_delete, match)
            if fk[2] == "photos" and fk[4] in ("id", None) and str(fk[6]).upper() == "CASCADE":
                out.append((table, fk[3]))
    return out


def _hidden_rowid(conn: sqlite3.Connection, table: str) -> bool:
    """Whether the table has a rowid that no column names (no INTEGER PRIMARY KEY)."""
    keys = [c for c in conn.execute(f"PRAGMA table_info({_quote(table)})") if c[5]]
    if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER":
        return False
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return "WITHOUT ROWID" not in str(sql[0] if sql else "").upper()


def _select(conn: sqlite3.Connection, table: str, where: str, value: int) -> TableRows:
    # A hidden rowid is kept too: a vector's rowid names that version of it (VectorStore.put_many
    # never gives one out twice), and caches keyed by it must find the same vectors after undo.
    rowid = 'rowid AS "rowid", ' if _hidden_rowid(conn, table) else ""
    cur = conn.execute(f"SELECT {rowid}* FROM {_quote(table)} WHERE {_quote(where)} = ?", (value,))
    columns = tuple(d[0] for d in cur.description)
    return TableRows(columns, tuple(tuple(r) for r in cur.fetchall()))


def take(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> list[PhotoRows]:
    """The rows of these photos (call in the transaction that forgets them)."""
    tables = dependent_tables(conn)
    out = []
    for pid in photo_ids:
        photo = _select(conn, "photos", "id", pid)
        if photo.rows:
            out.append(PhotoRows(pid, photo, {t: _select(conn, t, c, pid) for t, c in tables}))
    return out


def _insert(conn: sqlite3.Connection, table: str, rows: TableRows) -> int:
    """Insert the rows one by one; returns how many could not be (a label deleted since, say)."""
    sql = (f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c in rows.columns)})"
           f" VALUES ({', '.join('?' for _ in rows.columns)})")
    skipped = 0
    for row in rows.rows:
        try:
            conn.execute(sql, row)
        except sqlite3.IntegrityError:
            skipped += 1
    return skipped


def put_back(conn: sqlite3.Connection, photo: PhotoRows) -> int | None:
    """Insert one photo's rows again (in the caller's transaction); returns the photo's id: its
    old one, or a new one when a photo scanned in since took it (the library numbers a new photo
    after the highest id, so the trashed newest one's id is given out again). None, with nothing
    written, when the library holds another photo at its path now."""
    conn.execute("SAVEPOINT put_back")
    try:
        photo_id = _insert_photo(conn, photo)
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO put_back")
        conn.execute("RELEASE put_back")
        return None
    keys = dict(dependent_tables(conn)) if photo_id != photo.photo_id else {}
    for table, rows in photo.dependents.items():
        if table in keys:
            rows = _renumbered(rows, keys[table], photo_id)
        _insert(conn, table, rows)  # a row that no longer fits (its label went) stays out
    conn.execute("RELEASE put_back")
    return photo_id


def _insert_photo(conn: sqlite3.Connection, photo: PhotoRows) -> int:
    rows = photo.photo
    columns, values = list(rows.columns), list(rows.rows[0])
    if conn.execute("SELECT 1 FROM photos WHERE id = ?", (photo.photo_id,)).fetchone():
        i = columns.index("id")  # taken: SQLite gives the next free one
        del columns[i], values[i]
    cur = conn.execute(f"INSERT INTO photos ({', '.join(_quote(c) for c in columns)})"
                       f" VALUES ({', '.join('?' for _ in columns)})", values)
    return int(cur.lastrowid or photo.photo_id)


def _renumbered(rows: TableRows, column: str, photo_id: int) -> TableRows:
    i = rows.columns.index(column)
    return TableRows(rows.columns, tuple((*r[:i], photo_id, *r[i + 1:]) for r in rows.rows))
