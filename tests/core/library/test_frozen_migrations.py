"""Migrations against frozen library files of every released schema version.

The files in frozen/ were written once by the release that introduced each version
(frozen/make_frozen.py) and are never regenerated: if a released migration is edited, or a
new one mishandles old data, these tests see what a user's library would go through.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photomgr.core.library import descriptions, migrations
from photomgr.core.library.database import Library
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.labels import LabelStore
from photomgr.core.library.migrations import LATEST_VERSION, Migration, stored_version
from photomgr.core.library.vectors import VectorStore

FROZEN = Path(__file__).parent / "frozen"
RELEASED = sorted(int(p.stem.split("-v")[1]) for p in FROZEN.glob("library-v*.db"))
MODEL = "default:frozen-test:v1"


def _copy(version: int, tmp_path: Path) -> Path:
    root = tmp_path / f"lib{version}"
    root.mkdir()
    shutil.copy(FROZEN / f"library-v{version}.db", root / "library.db")
    return root


def test_every_released_version_is_frozen() -> None:
    assert list(range(1, len(RELEASED) + 1)) == RELEASED
    assert RELEASED[-1] == LATEST_VERSION  # a new migration comes with its frozen file


@pytest.mark.parametrize("version", RELEASED)
def test_frozen_library_upgrades_with_everything_in_it(tmp_path: Path, version: int) -> None:
    root = _copy(version, tmp_path)
    with Library(root) as library:
        conn = library.conn
        assert stored_version(conn) == LATEST_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        photos = conn.execute(
            "SELECT path, size, content_hash, error, missing FROM photos ORDER BY id").fetchall()
        assert photos == [
            ("/photos/beach.jpg", 1000, "h-beach", None, 0),
            ("/photos/dog.jpg", 2000, "h-dog", None, 0),
            ("/photos/gone.jpg", 3000, "h-gone", None, 1),
            ("/photos/broken.jpg", 10, "h-broken", "truncated JPEG", 0),
        ]
        assert conn.execute("SELECT path FROM roots").fetchall() == [("/photos",)]
        vectors = VectorStore(conn)
        if version >= 2:
            assert vectors.count(MODEL) == 2  # present photos only: gone.jpg is missing
            assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 3
            image, label = vectors.get(1, MODEL)  # type: ignore[misc]
            assert image.shape == (8,) and abs(float(np.linalg.norm(image)) - 1) < 1e-2
            assert label is not None and label.shape == (4,)
        labels = LabelStore(conn)
        if version >= 3:
            names = [lab.name for lab in labels.all()]
            assert names == (["beach", "Holiday", "my dog"] if version >= 7 else ["beach", "my dog"])
            dog = labels.by_name("my dog")
            assert dog.prompts == ("a photo of a black labrador",) and dog.threshold == 0.6
            beach = labels.by_name("beach")
            assert labels.cached_vector(beach, MODEL) is not None
            states = {(d.photo_id, d.label_id, d.state, d.source) for d in labels.all_decisions()}
            expected = {(1, 1, "confirmed", "auto"), (2, 1, "rejected", "auto"),
                        (2, 2, "confirmed", "manual")}
            if version >= 7:
                expected.add((1, 3, "confirmed", "keyword"))
            assert states == expected
        if version >= 4:
            row = conn.execute("SELECT instance FROM embeddings WHERE photo_id = 1").fetchone()
            assert row[0] is not None
        if version >= 5:
            assert labels.by_name("my dog").revision == 3
        if version >= 6:
            assert conn.execute("SELECT error_kind FROM photos WHERE error IS NOT NULL").fetchall() == \
                [("permanent",)]
        if version >= 7:
            assert conn.execute("SELECT keywords, description, rating FROM photo_xmp").fetchall() == \
                [('["Trips|Holiday"]', "At the beach", 4)]
        if version >= 8:
            assert conn.execute("SELECT value FROM fingerprints").fetchall() == [(42,)]
        if version >= 9:
            assert conn.execute("SELECT photo_id FROM hidden_photos").fetchall() == [(2,)]
        # near-copy descriptors (11): kept by an upgrade; an older library starts with none and
        # makes them from its thumbnails on first use (test_library_duplicates)
        descriptors = FingerprintStore(conn).descriptors("grey64-v1", ["h-beach", "h-dog"])
        expected = {"h-beach": (2, 3, bytes([0, 50, 100, 150, 200, 250]))} if version >= 11 else {}
        assert descriptors == expected
        shown = descriptions.shown(conn, [1, 2, 3, 4])
        if version >= 7:  # the XMP description a person wrote is the user's (migration 10)
            assert (shown[1].text, shown[1].source, shown[1].model_id) == ("At the beach", "user", None)
        if version >= 10:
            assert (shown[2].source, shown[2].model_id) == ("model", "default-caption:v1")
            assert descriptions.model_text(conn, 1) == "a sandy beach"  # kept behind the user's
        if version < 7:
            assert shown == {}
        # The full-text index covers every photo after the upgrade: names, folders, descriptions.
        assert [pid for pid, _ in descriptions.text_matches(conn, "dog", 10)] == [2]
        assert {pid for pid, _ in descriptions.text_matches(conn, "photos", 10)} == {1, 2}
        if version >= 7:
            assert [pid for pid, _ in descriptions.text_matches(conn, "at the beach", 10)] == [1]


@pytest.mark.parametrize("version", RELEASED)
def test_a_failing_migration_leaves_the_old_version_intact(
        tmp_path: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rollback path: a migration that fails half-way changes nothing, and the next open
    (with the bug fixed) upgrades normally."""
    root = _copy(version, tmp_path)
    broken = Migration(LATEST_VERSION + 1, "fails after its first statement",
                       "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(Exception, match="no_such_table"):
        Library(root)
    conn = sqlite3.connect(root / "library.db")
    try:
        assert stored_version(conn) == LATEST_VERSION  # every good migration stayed applied
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "half_done" not in tables
        assert conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 4
    finally:
        conn.close()
    monkeypatch.undo()
    with Library(root) as library:
        assert stored_version(library.conn) == LATEST_VERSION
