"""Opening a library: the folder, the SQLite connection (WAL) and its schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

import sqlite_utils

from photomgr.core.library.errors import LibraryError
from photomgr.core.library.migrations import migrate
from photomgr.core.library.paths import LibraryPaths


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every photomgr connection uses.

    isolation_level=None: we issue BEGIN/COMMIT ourselves so a batch of writes is one
    transaction (fast) and a killed process loses at most the batch in flight.
    """
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LibraryError(f"{path}: could not switch the database to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Library:
    """One library folder: `library.db`, the thumbnail cache and (later) the FAISS index.

    The connection opened here is the writer. Exactly one Library per process writes;
    readers open their own read-only connection with `connect(..., readonly=True)`.
    """

    def __init__(self, root: Path) -> None:
        self.paths = LibraryPaths(root.expanduser().resolve())
        self.conn = self._open()
        self.db = sqlite_utils.Database(self.conn)

    def _open(self) -> sqlite3.Connection:
        root = self.paths.root
        if root.exists() and not root.is_dir():
            raise LibraryError(f"library path {root} exists and is not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.paths.thumbnails.mkdir(exist_ok=True)
            self.paths.index_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {root}: {exc.strerror}") from exc
        try:
            conn = connect(self.paths.database)
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise LibraryError(
                f"{self.paths.database} is not a usable photomgr library ({exc}); "
                "choose another folder with --library"
            ) from exc
        return conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
