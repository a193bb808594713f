"""Read-only SQL for browsing: the gallery's rows, folders, counts, result rows.

Every function takes a sqlite3 connection. The GUI runs them in a `QueryRunner` thread on a
read-only connection (WAL: it never waits for the scanning worker), never on the GUI thread.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from photomgr.core.fspaths import path_from_db, path_to_db
from photomgr.core.library.photos import PhotoRow, PhotoStore


@dataclass(frozen=True)
class GalleryRows:
    """What the gallery shows, in display order. Whole columns, so the model never queries per row.

    100,000 rows cost about 20 MB (ids in numpy, hashes and paths as Python strings).
    """

    ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hashes: list[str | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    errors: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class FolderCount:
    path: str
    photos: int  # usable photos: not missing, no error


# Dated photos first in date order, then undated ones by path: a library of scans or
# screenshots (no EXIF date) still gets a stable, folder-like order.
_ORDER = "ORDER BY date_taken IS NULL, date_taken, path"


def _under(folder: str) -> tuple[str, tuple[str, str, str]]:
    """A WHERE clause for `folder` and everything below it, as a range on the path index."""
    folder = path_to_db(folder)  # stored text of the path (core/fspaths.py)
    prefix = folder.rstrip("/") + "/"
    # '0' is the character after '/', so [prefix, prefix-with-'0') is exactly "below folder".
    return "(path = ? OR (path >= ? AND path < ?))", (folder, prefix, prefix[:-1] + "0")


def _rows(cursor: sqlite3.Cursor) -> GalleryRows:
    ids: list[int] = []
    hashes: list[str | None] = []
    paths: list[str] = []
    errors: list[bool] = []
    for pid, content_hash, path, error in cursor:
        ids.append(pid)
        hashes.append(content_hash)
        paths.append(path_from_db(path))
        errors.append(error is not None)
    return GalleryRows(np.asarray(ids, dtype=np.int64), hashes, paths, errors)


# Photos the user hid (migration 9: "keep one, hide the rest" of duplicates) stay in the
# library, tags and search index, but no gallery view lists them.
NOT_HIDDEN = "id NOT IN (SELECT photo_id FROM hidden_photos)"


def gallery_rows(conn: sqlite3.Connection, folder: str | None = None) -> GalleryRows:
    """Every present photo (bad files included: they show a broken-image tile), optionally in a folder."""
    sql = f"SELECT id, content_hash, path, error FROM photos WHERE missing = 0 AND {NOT_HIDDEN}"
    params: tuple[str, ...] = ()
    if folder is not None:
        clause, params = _under(folder)
        sql += f" AND {clause}"
    return _rows(conn.execute(f"{sql} {_ORDER}", params))


def rows_for_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> GalleryRows:
    """Rows for an explicit id list, in that order (search results, Find similar)."""
    found: dict[int, tuple[str | None, str, bool]] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), 900):  # stay under SQLite's variable limit
        chunk = wanted[start:start + 900]
        marks = ",".join("?" * len(chunk))
        for pid, content_hash, path, error in conn.execute(
            f"SELECT id, content_hash, path, error FROM photos WHERE missing = 0 AND {NOT_HIDDEN}"
            f" AND id IN ({marks})",
            chunk,
        ):
            found[pid] = (content_hash, path_from_db(path), error is not None)
    kept = [i for i in wanted if i in found]
    return GalleryRows(
        np.asarray(kept, dtype=np.int64),
        [found[i][0] for i in kept],
        [found[i][1] for i in kept],
        [found[i][2] for i in kept],
    )


def folder_counts(conn: sqlite3.Connection) -> list[FolderCount]:
    """The library's scanned roots with how many usable photos each holds."""
    out: list[FolderCount] = []
    for root in PhotoStore(conn).roots():
        clause, params = _under(root)
        row = conn.execute(
            f"SELECT COUNT(*) FROM photos WHERE missing = 0 AND error IS NULL AND {NOT_HIDDEN} AND {clause}",
            params
        ).fetchone()
        out.append(FolderCount(root, int(row[0])))
    return out


def folder_tree(conn: sqlite3.Connection) -> list[FolderCount]:
    """The roots and every folder below them that holds usable photos, sorted by path; each
    count includes the folders below it (what the gallery shows when the folder is chosen)."""
    roots = PhotoStore(conn).roots()
    counts: dict[str, int] = dict.fromkeys(roots, 0)
    per_folder: dict[str, int] = {}
    usable = f"SELECT path FROM photos WHERE missing = 0 AND error IS NULL AND {NOT_HIDDEN}"
    for (path,) in conn.execute(usable):
        folder = os.path.dirname(path_from_db(path))
        per_folder[folder] = per_folder.get(folder, 0) + 1
    prefixes = tuple(r.rstrip("/") + "/" for r in roots)

    def in_library(folder: str) -> bool:
        return folder in counts or folder.startswith(prefixes)

    for folder, n in per_folder.items():
        current = folder
        while in_library(current):  # the photo counts for each folder above it, up to its root
            counts[current] = counts.get(current, 0) + n
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
    return [FolderCount(path, n) for path, n in sorted(counts.items())]


def present_count(conn: sqlite3.Connection) -> int:
    """Usable photos the gallery lists ("All photos (N)"): hidden ones are not counted."""
    sql = f"SELECT COUNT(*) FROM photos WHERE missing = 0 AND error IS NULL AND {NOT_HIDDEN}"
    return int(conn.execute(sql).fetchone()[0])


def library_is_empty(conn: sqlite3.Connection) -> bool:
    """True before the first folder is added: the window then shows its welcome page."""
    has_root = conn.execute("SELECT 1 FROM roots LIMIT 1").fetchone() is not None
    has_photo = conn.execute("SELECT 1 FROM photos LIMIT 1").fetchone() is not None
    return not (has_root or has_photo)


def photo_details(conn: sqlite3.Connection, photo_id: int) -> PhotoRow | None:
    return PhotoStore(conn).by_id(photo_id)


def sidebar_data(conn: sqlite3.Connection) -> tuple[list[FolderCount], int]:
    """The sidebar's folder tree and the number of photos, in one query run."""
    return folder_tree(conn), present_count(conn)


def paths_and_hashes(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """id -> (path, content hash) of the present photos among `ids`."""
    found: dict[int, tuple[str, str | None]] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), 900):  # stay under SQLite's variable limit
        chunk = wanted[start:start + 900]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT id, path, content_hash FROM photos WHERE missing = 0 AND id IN ({marks})"
        for pid, path, content_hash in conn.execute(sql, chunk):
            found[pid] = (path_from_db(path), content_hash)
    return found


def content_hashes(conn: sqlite3.Connection) -> dict[int, str | None]:
    """id -> content hash of every usable photo (present, no error)."""
    return dict(conn.execute("SELECT id, content_hash FROM photos WHERE missing = 0 AND error IS NULL"))


def max_photo_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM photos").fetchone()[0])


def photo_ids_after(conn: sqlite3.Connection, after: int) -> list[int]:
    """Ids of photos recorded after id `after` (rows a running scan has committed), in order."""
    return [int(r[0]) for r in conn.execute("SELECT id FROM photos WHERE id > ? ORDER BY id", (after,))]
