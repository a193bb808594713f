"""Typed reads and writes of the `photos` and `roots` tables.

Paths cross this boundary as exact file-system paths (`str`, surrogateescape for bytes that
are not UTF-8) and are stored as text by `path_to_db` (see core/fspaths.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from photomgr.core.fspaths import path_from_db, path_to_db
from photomgr.core.library.transaction import write_transaction

if TYPE_CHECKING:  # an annotation only: reading the library needs no Pillow
    from photomgr.core.imaging.metadata import PhotoMetadata


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class KnownPhoto:
    """What the scanner needs to know about a photo already in the library."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    missing: bool
    error: str | None
    error_kind: str | None = None  # "permanent" | "transient" when error is set


@dataclass(frozen=True)
class PhotoRecord:
    """What one scan learned about one file: metadata, or the reason it is unusable."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    metadata: PhotoMetadata | None
    error: str | None
    error_kind: str | None = None  # "permanent" | "transient" when error is set


@dataclass(frozen=True)
class PhotoRow:
    """A photo as the user sees it (CLI output, details panel)."""

    id: int
    path: str
    size: int
    content_hash: str | None
    format: str | None
    width: int | None
    height: int | None
    orientation: int | None
    date_taken: str | None
    camera_make: str | None
    camera_model: str | None
    gps_lat: float | None
    gps_lon: float | None
    error: str | None
    missing: bool
    error_kind: str | None = None  # "permanent" | "transient" when error is set


_KNOWN_COLUMNS = "id, path, size, mtime_ns, content_hash, missing, error, error_kind"
_ROW_COLUMNS = (
    "id, path, size, content_hash, format, width, height, orientation, date_taken, "
    "camera_make, camera_model, gps_lat, gps_lon, error, missing, error_kind"
)


def _known(row: tuple) -> KnownPhoto:  # type: ignore[type-arg]
    return KnownPhoto(row[0], path_from_db(row[1]), row[2], row[3], row[4], bool(row[5]), row[6],
                      row[7])


def _row(row: tuple) -> PhotoRow:  # type: ignore[type-arg]
    values = list(row)
    values[1] = path_from_db(values[1])
    values[14] = bool(values[14])
    return PhotoRow(*values)


def _error_kind(record: PhotoRecord) -> str | None:
    if record.error is None:
        return None
    return record.error_kind or "permanent"


def _metadata_values(record: PhotoRecord) -> tuple[object, ...]:
    m = record.metadata
    if m is None:
        return (None,) * 10
    return (m.format, m.width, m.height, m.orientation, m.date_taken, m.camera_make,
            m.camera_model, m.gps_lat, m.gps_lon, None)


# A folder and everything below it, as a range on the unique path index ('0' follows '/').
_UNDER = "(path = ? OR (path >= ? AND path < ?))"


def _under_args(root: Path) -> tuple[str, str, str]:
    text = path_to_db(root)
    prefix = text.rstrip("/") + "/"
    return text, prefix, prefix[:-1] + "0"


class PhotoStore:
    """All SQL about photos lives here, so the scanner and the CLI speak in dataclasses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with write_transaction(self.conn):
            yield

    # -- reads -------------------------------------------------------------------------
    def known_under(self, roots: Iterable[Path]) -> dict[str, KnownPhoto]:
        """Every photo row whose path is one of `roots` or below them."""
        found: dict[str, KnownPhoto] = {}
        for root in roots:
            for row in self.conn.execute(
                f"SELECT {_KNOWN_COLUMNS} FROM photos WHERE {_UNDER}", _under_args(root)
            ):
                photo = _known(row)
                found[photo.path] = photo
        return found

    def errors_under(self, roots: Iterable[Path]) -> list[KnownPhoto]:
        """Photos below `roots` that are present and hold an error, by path: what a scan
        reports as the library's errors, whether or not this run met them."""
        found: dict[int, KnownPhoto] = {}
        for root in roots:
            for row in self.conn.execute(
                f"SELECT {_KNOWN_COLUMNS} FROM photos WHERE error IS NOT NULL AND missing = 0"
                f" AND {_UNDER}", _under_args(root)
            ):
                found[row[0]] = _known(row)
        return sorted(found.values(), key=lambda p: p.path)

    def missing_with_hash(self) -> list[KnownPhoto]:
        """Photos marked missing anywhere in the library: candidates for a move."""
        rows = self.conn.execute(
            f"SELECT {_KNOWN_COLUMNS} FROM photos WHERE missing = 1 AND content_hash IS NOT NULL"
        )
        return [_known(r) for r in rows]

    def present_with_hash(self, content_hash: str) -> list[KnownPhoto]:
        """Photos not marked missing whose content hash is this one (the scanner checks
        whether their files are still there: one that is gone may have moved)."""
        rows = self.conn.execute(
            f"SELECT {_KNOWN_COLUMNS} FROM photos WHERE content_hash = ? AND missing = 0", (content_hash,))
        return [_known(r) for r in rows]

    def by_path(self, path: str) -> PhotoRow | None:
        row = self.conn.execute(f"SELECT {_ROW_COLUMNS} FROM photos WHERE path = ?",
                                (path_to_db(path),)).fetchone()
        return _row(row) if row else None

    def find(self, path: Path) -> PhotoRow | None:
        """The photo at `path` as a user typed it (relative, `~`, through symbolic links).

        The scanner stores the path it walked: under the root as given, absolute but not
        resolved, and the CLI resolves the roots it indexes while the window does not. So the
        typed path is tried as written, then resolved, then, resolved, under each root whose
        own resolved folder holds it: a photo reached through a symlinked folder is found by
        the path the user typed and by its real path, however its root was added. Paths stay
        byte-exact (str with surrogateescape; see core/fspaths.py).
        """
        for candidate in self.stored_forms(path):
            if (row := self.by_path(str(candidate))) is not None:
                return row
        return None

    def stored_forms(self, path: Path, *, folder: bool = False) -> list[Path]:
        """The paths under which the library may store what the user typed as `path`, in the
        order `find` tries them (see there). With folder=True, also each root that lies inside
        the folder's real path: a folder typed by its real path then covers a root the window
        added through a link to a folder inside it."""
        typed = path.expanduser()
        forms: list[Path] = []

        def add(candidate: Path) -> None:
            if candidate not in forms:
                forms.append(candidate)

        add(typed.absolute())
        try:
            real = Path(os.path.realpath(typed))
        except (OSError, ValueError):  # a link loop, a NUL: nothing more to try
            return forms
        # ".." removed as text only where that names the same file: after a link the OS goes up
        # from the link's target ("link/../b" is target/../b), so the text form would be another
        # photo (found in review).
        collapsed = Path(os.path.abspath(typed))
        with contextlib.suppress(OSError, ValueError):
            if Path(os.path.realpath(collapsed)) == real:
                add(collapsed)
        add(real)
        for root in self.roots():
            try:
                root_real = Path(os.path.realpath(root))
            except (OSError, ValueError):
                continue
            if real == root_real or root_real in real.parents:
                add(Path(root) / real.relative_to(root_real))
            elif folder and real in root_real.parents:
                add(Path(root))
        return forms

    def by_id(self, photo_id: int) -> PhotoRow | None:
        row = self.conn.execute(f"SELECT {_ROW_COLUMNS} FROM photos WHERE id = ?", (photo_id,)).fetchone()
        return _row(row) if row else None

    def paths_by_id(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = list(ids)
        out: dict[int, str] = {}
        for start in range(0, len(wanted), 900):  # stay under SQLite's variable limit
            chunk = wanted[start:start + 900]
            marks = ",".join("?" * len(chunk))
            for pid, path in self.conn.execute(
                f"SELECT id, path FROM photos WHERE id IN ({marks})", chunk
            ):
                out[pid] = path_from_db(path)
        return out

    def count_present(self, roots: Iterable[Path] | None = None) -> int:
        """Usable photos (not missing, no error), optionally only under `roots`."""
        if roots is None:
            row = self.conn.execute(
                "SELECT COUNT(*) FROM photos WHERE missing = 0 AND error IS NULL").fetchone()
            return int(row[0])
        return sum(1 for p in self.known_under(roots).values() if not p.missing and p.error is None)

    def roots(self) -> list[str]:
        return [path_from_db(r[0]) for r in self.conn.execute("SELECT path FROM roots ORDER BY path")]

    # -- writes (call inside transaction()) ---------------------------------------------
    def add_root(self, root: Path) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO roots(path, added_at) VALUES (?, ?)", (path_to_db(root), utc_now()))

    def insert(self, record: PhotoRecord) -> int:
        now = utc_now()
        meta = _metadata_values(record)
        cur = self.conn.execute(
            "INSERT INTO photos (path, size, mtime_ns, content_hash, format, width, height,"
            " orientation, date_taken, camera_make, camera_model, gps_lat, gps_lon, error,"
            " error_kind, missing, added_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)",
            (path_to_db(record.path), record.size, record.mtime_ns, record.content_hash, *meta[:9],
             record.error, _error_kind(record), now, now),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update(self, photo_id: int, record: PhotoRecord) -> None:
        """Overwrite a row with what a scan found (same photo id: its tags survive).

        If the content changed, vectors and the model's description made from the old content
        are dropped with it (the user's description stays: it is about the photo).
        """
        meta = _metadata_values(record)
        for stale in ("embeddings WHERE photo_id = ?",
                      "descriptions WHERE source = 'model' AND photo_id = ?"):
            self.conn.execute(
                f"DELETE FROM {stale} AND EXISTS (SELECT 1 FROM photos"
                " WHERE id = ? AND content_hash IS NOT ?)", (photo_id, photo_id, record.content_hash))
        self.conn.execute(
            "UPDATE photos SET path=?, size=?, mtime_ns=?, content_hash=?, format=?, width=?,"
            " height=?, orientation=?, date_taken=?, camera_make=?, camera_model=?, gps_lat=?,"
            " gps_lon=?, error=?, error_kind=?, missing=0, updated_at=? WHERE id=?",
            (path_to_db(record.path), record.size, record.mtime_ns, record.content_hash, *meta[:9],
             record.error, _error_kind(record), utc_now(), photo_id),
        )

    def mark_missing(self, photo_ids: Iterable[int]) -> None:
        now = utc_now()
        self.conn.executemany(
            "UPDATE photos SET missing=1, updated_at=? WHERE id=?", ((now, i) for i in photo_ids))

    def forget(self, photo_ids: Iterable[int]) -> int:
        """Remove photos from the library (their vectors, decisions and hidden mark go with them,
        ON DELETE CASCADE); the files are not touched here. Returns how many rows went."""
        cur = self.conn.executemany("DELETE FROM photos WHERE id = ?", ((i,) for i in photo_ids))
        return cur.rowcount

    def mark_present(self, photo_ids: Iterable[int]) -> None:
        now = utc_now()
        self.conn.executemany(
            "UPDATE photos SET missing=0, updated_at=? WHERE id=?", ((now, i) for i in photo_ids))
