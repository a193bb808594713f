"""Migration 7: tag_decisions rebuilt so a decision may come from a keyword; nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from photomgr.core.library.database import connect
from photomgr.core.library.migrations import migrate, stored_version

NOW = "2026-12-01T00:00:00Z"


def test_decisions_survive_and_keyword_is_a_source(tmp_path: Path) -> None:
    conn = connect(tmp_path / "library.db")
    migrate(conn, target=6)
    conn.execute("INSERT INTO photos (path, size, mtime_ns, added_at, updated_at) VALUES ('/a', 1, 1, ?, ?)",
                 (NOW, NOW))
    conn.execute("INSERT INTO labels (name, created_at, updated_at) VALUES ('dog', ?, ?)", (NOW, NOW))
    conn.execute("INSERT INTO tag_decisions VALUES (1, 1, 'rejected', 'manual', ?)", (NOW,))
    conn.commit()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE tag_decisions SET source = 'keyword'")
    assert migrate(conn, target=7) == [7] and stored_version(conn) == 7
    assert conn.execute("SELECT * FROM tag_decisions").fetchall() == [(1, 1, "rejected", "manual", NOW)]
    conn.execute("UPDATE tag_decisions SET source = 'keyword'")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE tag_decisions SET source = 'guess'")
    index = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tag_decisions'"
                         " AND name = 'tag_decisions_label'").fetchone()
    assert index is not None
    conn.execute("DELETE FROM photos")  # ON DELETE CASCADE still holds after the rebuild
    assert conn.execute("SELECT COUNT(*) FROM tag_decisions").fetchone()[0] == 0
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
