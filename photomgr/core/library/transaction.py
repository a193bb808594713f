"""Write transactions: one per user operation or scan batch, waiting politely for other writers.

Every write in photomgr goes through `write_transaction`. It starts with BEGIN IMMEDIATE, so the
write lock is taken up front (a transaction never fails half-way because another process
started writing), and it turns SQLite's low-level failures into the library's own errors:
another writer (wait with a message, or fail at once), a full disk, a read-only library.
Everything is rolled back on failure, and only our own transaction is: SQLite already rolls
back by itself after a full disk, and a ROLLBACK then would hide the real cause behind
"cannot rollback - no transaction is active".
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from photomgr.core.library.errors import LibraryBusy, LibraryError, LibraryFull, LibraryReadOnly

REVISION_KEY = "library.revision"


@dataclass
class WaitPolicy:
    """What a writer does when another process holds the write lock.

    wait=False fails at once with LibraryBusy (the CLI's --no-wait); otherwise `on_wait` is
    called once (the CLI prints a line, the GUI shows a status) and we retry until `timeout`.
    The same policy governs waiting for another indexing run (core/library/index_lock.py).
    """

    wait: bool = True
    timeout: float = 600.0
    on_wait: Callable[[str], None] | None = None  # receives a sentence saying who we wait for


DEFAULT_WAIT = WaitPolicy()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def translate(exc: sqlite3.Error, what: str = "the library") -> LibraryError | None:
    """A LibraryError with a user-facing message for a known SQLite failure, else None."""
    text = str(exc).lower()
    if "disk is full" in text or ("disk i/o error" in text and "full" in text):
        return LibraryFull(f"the disk holding {what} is full: nothing was saved by this operation "
                           "and nothing earlier was lost; free some space and try again")
    if "readonly" in text or "read-only" in text:
        return LibraryReadOnly(f"{what} is read-only: commands that only read (labels list, tags, "
                               "search, similar) still work; make the folder writable to change it")
    if "malformed" in text or "not a database" in text:
        return LibraryError(f"{what} is damaged ({exc}); photomgr will not modify it. Restore "
                            "library.db from a backup, or choose another folder with --library")
    return None


def begin(conn: sqlite3.Connection, policy: WaitPolicy = DEFAULT_WAIT) -> None:
    """BEGIN IMMEDIATE, waiting for another writer per `policy`."""
    deadline = time.monotonic() + policy.timeout
    told = False
    while True:
        try:
            if policy.wait:
                conn.execute("BEGIN IMMEDIATE")
            else:
                _begin_at_once(conn)
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise translate(exc) or exc from exc
            if not policy.wait:
                raise LibraryBusy("another photomgr process is writing to this library; try again "
                                  "when it has finished (or leave out --no-wait to wait for it)") from exc
            if time.monotonic() > deadline:
                raise LibraryBusy(f"gave up after waiting {policy.timeout:.0f} s for another photomgr "
                                  "process writing to this library") from exc
            if not told and policy.on_wait is not None:
                policy.on_wait("another photomgr process is writing to this library; waiting for it")
                told = True
            time.sleep(0.05)


def _begin_at_once(conn: sqlite3.Connection) -> None:
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")


@contextmanager
def write_transaction(conn: sqlite3.Connection, policy: WaitPolicy = DEFAULT_WAIT) -> Iterator[int]:
    """One write transaction; yields the library's new revision number (bumped inside it).

    The revision is a counter in the settings table that every write transaction increments:
    caches (label counts, the GUI's views) key on it, and a change made by another process is
    seen as a revision that moved without us.
    """
    begin(conn, policy)
    try:
        conn.execute(
            "INSERT INTO settings(key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + 1", (REVISION_KEY,))
        yield revision(conn)
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the original error is the one to report
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            translated = translate(exc)
            if translated is not None:
                raise translated from exc
        raise


def others_version(conn: sqlite3.Connection) -> int:
    """SQLite's data_version for this connection: it moves when another connection (another
    process, a second window) commits, never for this connection's own commits."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def revision(conn: sqlite3.Connection) -> int:
    """The library's write revision (0 for a library nothing has been written to yet)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (REVISION_KEY,)).fetchone()
    return int(row[0]) if row else 0
