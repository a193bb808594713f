"""Library faults: each is a clear message, nothing is lost, and it recovers once the cause is gone."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from photomgr.core.library.database import Library
from photomgr.core.library.errors import LibraryBusy, LibraryError, LibraryFull
from photomgr.core.library.labels import LabelStore
from photomgr.core.library.transaction import WaitPolicy, revision, write_transaction


def _library_with_label(root: Path) -> None:
    with Library(root) as library, write_transaction(library.conn):
        LabelStore(library.conn).add("beach")


def test_zero_byte_database_is_refused_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "library.db").write_bytes(b"")
    with pytest.raises(LibraryError, match=r"empty .0 bytes"):
        Library(tmp_path)
    assert (tmp_path / "library.db").stat().st_size == 0  # untouched: no new library over it
    (tmp_path / "library.db").unlink()  # the cause gone (the user chose to start afresh)
    with Library(tmp_path) as library:
        assert library.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0


def test_foreign_sqlite_database_is_not_modified(tmp_path: Path) -> None:
    db = tmp_path / "library.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Ada')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(LibraryError, match="another program's SQLite database"):
        Library(tmp_path)
    with pytest.raises(LibraryError, match="another program's SQLite database"):
        Library(tmp_path, readonly=True)
    assert db.read_bytes() == before


def test_malformed_database_is_a_clear_error(tmp_path: Path) -> None:
    _library_with_label(tmp_path)
    db = tmp_path / "library.db"
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page, keep the SQLite header
    db.write_bytes(bytes(data))
    with pytest.raises(LibraryError, match=r"damaged|not a usable"):
        Library(tmp_path)


def test_disk_full_rolls_back_and_says_so(tmp_path: Path) -> None:
    with Library(tmp_path) as library:
        conn = library.conn
        with write_transaction(conn):
            LabelStore(conn).add("kept")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from now on
        with pytest.raises(LibraryFull, match="full"), write_transaction(conn):
            for n in range(2000):
                LabelStore(conn).add(f"label {n} " + "x" * 200)
        assert not conn.in_transaction
        assert [lab.name for lab in LabelStore(conn).all()] == ["kept"]
        conn.execute("PRAGMA max_page_count = 1073741823")  # space freed: writes work again
        with write_transaction(conn):
            LabelStore(conn).add("after")
        assert [lab.name for lab in LabelStore(conn).all()] == ["after", "kept"]


def test_second_writer_waits_with_a_message_or_fails_at_once(tmp_path: Path) -> None:
    _library_with_label(tmp_path)
    first = Library(tmp_path)
    second = Library(tmp_path)
    try:
        first.conn.execute("BEGIN IMMEDIATE")  # another process mid-write
        with pytest.raises(LibraryBusy, match="another photomgr process"), \
                write_transaction(second.conn, WaitPolicy(wait=False)):
            pass
        told: list[str] = []
        second.conn.execute("PRAGMA busy_timeout = 100")  # the message comes after SQLite's own wait
        threading.Timer(0.5, lambda: first.conn.execute("COMMIT")).start()
        started = time.monotonic()
        with write_transaction(second.conn, WaitPolicy(on_wait=lambda why: told.append("waiting"))):
            LabelStore(second.conn).add("dog")
        assert told == ["waiting"] and time.monotonic() - started >= 0.4
        assert {lab.name for lab in LabelStore(first.conn).all()} == {"beach", "dog"}
    finally:
        first.close()
        second.close()


def test_revision_moves_with_every_write(tmp_path: Path) -> None:
    with Library(tmp_path) as library:
        before = revision(library.conn)
        with write_transaction(library.conn) as rev:
            LabelStore(library.conn).add("a")
        assert rev == before + 1 == revision(library.conn)
        with pytest.raises(ValueError), write_transaction(library.conn):
            LabelStore(library.conn).add("b")
            raise ValueError("the operation failed")
        assert revision(library.conn) == rev  # a rolled-back operation changed nothing
        assert [lab.name for lab in LabelStore(library.conn).all()] == ["a"]


def test_index_lock_admits_one_run(tmp_path: Path) -> None:
    with Library(tmp_path) as library:
        lock = library.index_lock()
        lock.acquire()
        try:
            with pytest.raises(LibraryBusy, match="indexing this library"):
                Library(tmp_path).index_lock().acquire(wait=False)
        finally:
            lock.release()
        other = library.index_lock()
        other.acquire(wait=False)
        other.release()


def test_readonly_open_of_a_library_nobody_may_write(tmp_path: Path) -> None:
    """Read-only commands work on a read-only library folder; writing says why it cannot."""
    root = tmp_path / "lib"
    _library_with_label(root)
    if os.geteuid() == 0:
        pytest.skip("root can write anyway; tests/cli/test_library_faults_cli.py uses a read-only mount")
    os.chmod(root, 0o555)
    os.chmod(root / "library.db", 0o444)
    try:
        with Library(root, readonly=True) as library:
            assert [lab.name for lab in LabelStore(library.conn).all()] == ["beach"]
        with pytest.raises(LibraryError, match=r"read-only|cannot be written"):
            Library(root)
    finally:
        os.chmod(root, 0o755)
        os.chmod(root / "library.db", 0o644)


def test_readonly_open_needs_an_existing_library(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no library"):
        Library(tmp_path / "nothing-here", readonly=True)
    assert not (tmp_path / "nothing-here").exists()


def test_copy_of_open_library_is_consistent(tmp_path: Path) -> None:
    _library_with_label(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with Library(tmp_path / "b", readonly=True) as library:
        assert [lab.name for lab in LabelStore(library.conn).all()] == ["beach"]


def test_an_index_s_vector_writes_follow_the_library_s_wait_policy(tmp_path: Path) -> None:
    # Found in review: the embedding sink opened its transactions with the default policy, so
    # `photomgr --no-wait index` waited silently (up to 10 minutes) for another writer.
    from photomgr.core.pipeline.embedding import EmbeddingSink
    from photomgr.core.services.indexing import index_folders
    from tests.conftest import make_photo
    from tests.fakes import FakeEmbedder

    make_photo(tmp_path / "photos" / "a.jpg")
    first = Library(tmp_path / "lib")
    second = Library(tmp_path / "lib", wait=WaitPolicy(wait=False))
    store_vectors = EmbeddingSink._commit
    began: list[bool] = []

    def hold_the_lock_first(sink: object, ids: list[int], batch: object) -> None:
        if not began:  # another process starts writing just before the vectors' commit
            began.append(True)
            first.conn.execute("BEGIN IMMEDIATE")
        store_vectors(sink, ids, batch)

    try:
        with pytest.MonkeyPatch.context() as m:
            m.setattr(EmbeddingSink, "_commit", hold_the_lock_first)
            started = time.monotonic()
            with pytest.raises(LibraryBusy):
                index_folders(second, [tmp_path / "photos"], embedder=FakeEmbedder())
        assert time.monotonic() - started < 5
    finally:
        if first.conn.in_transaction:
            first.conn.execute("ROLLBACK")
        first.close()
        second.close()
