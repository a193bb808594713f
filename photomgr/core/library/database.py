"""Opening a library: the folder, the SQLite connection (WAL) and its schema.

Opening refuses, with a message that says what to do, everything that is not a photomgr
library in good order, and never writes to such a file: an empty (0-byte) library.db, a file
that is not SQLite, another program's SQLite database, a damaged database, a library written
by a newer photomgr. A library the user cannot write to opens read-only for the commands that
only read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType

from photomgr.core.library.errors import LibraryError, LibraryReadOnly
from photomgr.core.library.index_lock import IndexLock
from photomgr.core.library.migrations import LATEST_VERSION, migrate, stored_version
from photomgr.core.library.paths import LibraryPaths
from photomgr.core.library.transaction import DEFAULT_WAIT, WaitPolicy, translate

SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLite's own wait for a lock, for every statement. transaction.begin() waits longer, with a
# message after this long; --no-wait sets it to 0 for its BEGIN.
BUSY_TIMEOUT_MS = 2000


def connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every photomgr connection uses.

    isolation_level=None: we issue BEGIN/COMMIT ourselves (core/library/transaction.py) so
    each operation or scan batch is one transaction and a killed process loses at most that.
    `immutable` is for read-only media, where SQLite cannot even create the WAL's shared-memory
    file: nothing may write the database while it is open.
    """
    if readonly:
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(f"{path.as_uri()}?{flags}", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LibraryError(f"{path}: could not switch the database to WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def check_database_file(path: Path) -> None:
    """Refuse files that are not a photomgr library before SQLite (or a migration) touches them."""
    if not path.exists():
        return
    if path.is_dir():
        raise LibraryError(f"{path} is a folder, not a library database")
    size = path.stat().st_size
    if size == 0:
        raise LibraryError(
            f"{path} is empty (0 bytes): the library may have been cut short by a full disk or a "
            "crash. photomgr will not start a new library over it. If you meant to start afresh, "
            "delete it; otherwise restore it from a backup")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise LibraryError(f"{path} is not a photomgr library (not a SQLite database); "
                           "choose another folder with --library")


def check_schema(conn: sqlite3.Connection, path: Path) -> int:
    """The library's schema version; refuses another program's database without writing to it."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "schema_version" not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise LibraryError(f"{path} is another program's SQLite database (tables: {shown}), not a "
                           "photomgr library; photomgr will not modify it. Choose another folder "
                           "with --library")
    version = stored_version(conn) if tables else 0
    if version > LATEST_VERSION:
        raise LibraryError(
            f"this library was written by a newer photomgr (schema {version}, "
            f"this version knows {LATEST_VERSION}); upgrade photomgr to open it")
    return version


class Library:
    """One library folder: `library.db`, the thumbnail cache and the FAISS index.

    readonly=False opens the writer (creating the library if needed and migrating it). Exactly
    one connection per process writes; every write goes through transaction.write_transaction.
    readonly=True opens an existing library for reading only: it works on a read-only folder or
    disk, and never blocks or is blocked by a writer (WAL).
    """

    def __init__(self, root: Path, *, readonly: bool = False, wait: WaitPolicy = DEFAULT_WAIT) -> None:
        self.paths = LibraryPaths(root.expanduser().resolve())
        self.readonly = readonly
        self.wait = wait
        self.conn = self._open_readonly() if readonly else self._open()

    def _open(self) -> sqlite3.Connection:
        root = self.paths.root
        if root.exists() and not root.is_dir():
            raise LibraryError(f"library path {root} exists and is not a folder")
        check_database_file(self.paths.database)
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.paths.thumbnails.mkdir(exist_ok=True)
            self.paths.index_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create the library folder {root}: {exc.strerror}") from exc
        conn: sqlite3.Connection | None = None
        try:
            if self.paths.database.exists():  # look before writing anything (even WAL mode)
                probe = connect(self.paths.database, readonly=True)
                try:
                    check_schema(probe, self.paths.database)
                finally:
                    probe.close()
            conn = connect(self.paths.database)
            migrate(conn, policy=self.wait)
        except LibraryError:
            if conn is not None:
                conn.close()
            raise
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            what = f"the library {self.paths.database}"
            translated = translate(exc, what)
            if isinstance(translated, LibraryReadOnly) or _cannot_open(exc):
                raise LibraryReadOnly(
                    f"{what} cannot be written (read-only folder or disk?): commands that only "
                    "read (labels list, tags, search, similar) still work") from exc
            raise translated or LibraryError(
                f"{self.paths.database} is not a usable photomgr library ({exc}); "
                "choose another folder with --library") from exc
        return conn

    def _open_readonly(self) -> sqlite3.Connection:
        db = self.paths.database
        if not db.is_file():
            raise LibraryError(f"there is no library at {self.paths.root} yet: run "
                               "`photomgr index PATH` to create one")
        check_database_file(db)
        last: sqlite3.Error | None = None
        for immutable in (False, True):  # immutable: SQLite cannot even create the -shm file
            try:
                conn = connect(db, readonly=True, immutable=immutable)
                version = check_schema(conn, db)
            except sqlite3.Error as exc:
                last = exc
                continue
            if version < LATEST_VERSION:
                conn.close()
                raise LibraryError(f"the library {db} needs an upgrade (schema {version} -> "
                                   f"{LATEST_VERSION}), which needs write access: run any command "
                                   "that changes it, e.g. `photomgr index`, once the folder is writable")
            return conn
        assert last is not None
        raise translate(last, f"the library {db}") or LibraryError(
            f"{db} is not a usable photomgr library ({last}); choose another folder with --library")

    def index_lock(self) -> IndexLock:
        """The lock one indexing run at a time holds (CLI `index`, the GUI's scans)."""
        return IndexLock(self.paths.root / "index.lock")

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


def _cannot_open(exc: sqlite3.Error) -> bool:
    return "unable to open database file" in str(exc).lower()
