from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from photomgr.core.library.database import Library, connect
from photomgr.core.library.errors import LibraryError
from photomgr.core.library.migrations import LATEST_VERSION, MIGRATIONS, current_version, migrate


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_fresh_database_reaches_latest_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "library.db")
    assert migrate(conn) == [m.version for m in MIGRATIONS]
    assert current_version(conn) == LATEST_VERSION
    assert {"photos", "roots", "settings", "embeddings"} <= _tables(conn)
    assert migrate(conn) == []  # idempotent


@pytest.mark.parametrize("start", [m.version for m in MIGRATIONS])
def test_every_version_upgrades_with_its_data(tmp_path: Path, start: int) -> None:
    """An empty library of each version, with one photo row, migrates to the latest."""
    conn = connect(tmp_path / "library.db")
    migrate(conn, target=start)
    assert current_version(conn) == start
    conn.execute(
        "INSERT INTO photos (path, size, mtime_ns, added_at, updated_at) VALUES ('/a.jpg', 1, 2, 'x', 'y')")
    migrate(conn)
    assert current_version(conn) == LATEST_VERSION
    assert conn.execute("SELECT path, size FROM photos").fetchall() == [("/a.jpg", 1)]


def test_wal_mode_and_folders(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as library:
        assert library.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert library.paths.thumbnails.is_dir()
        assert library.paths.database.is_file()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "library.db")
    migrate(conn)
    conn.execute("INSERT INTO schema_version(version) VALUES (?)", (LATEST_VERSION + 1,))
    conn.close()
    with pytest.raises(LibraryError, match="newer photomgr"):
        Library(tmp_path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "library.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LibraryError, match="not a photomgr library"):
        Library(tmp_path)


def test_library_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(LibraryError, match="not a folder"):
        Library(target)
