"""Errors are permanent (the file's content) or transient (the machine's state); transient ones
are retried by the next scan, and a scan reports every error the library holds (issue 10,
deliverable 4)."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

import pytest

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.pipeline import analyze
from photomgr.core.scanning.hashing import hash_file
from photomgr.core.scanning.scanner import Scanner
from tests.conftest import make_photo

FROZEN = Path(__file__).parents[1] / "library" / "frozen"


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "library")
    yield lib
    lib.close()


def _scanner(library: Library) -> Scanner:
    return Scanner(PhotoStore(library.conn), ThumbnailCache(library.paths.thumbnails),
                   skip={library.paths.root}, workers=2)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    make_photo(root / "fine.jpg", seed=1)
    make_photo(root / "locked.jpg", seed=2)
    make_photo(root / "disk_full.jpg", seed=3)
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)
    return root


def _break_the_machine(monkeypatch: pytest.MonkeyPatch, photos: Path) -> None:
    """A permission that is wrong today and a disk that is full today. Tests run as root, where
    chmod 000 denies nothing, so the errors are raised where the OS would raise them."""
    real_open = analyze.open_photo_file

    def open_photo_file(path: Path, **kwargs: int) -> object:
        if path.name == "locked.jpg":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, **kwargs)

    full_key = hash_file(photos / "disk_full.jpg")
    real_save = ThumbnailCache.save

    def save(self: ThumbnailCache, key: str, image: object) -> Path:
        if key == full_key:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, key, image)  # type: ignore[arg-type]

    monkeypatch.setattr(analyze, "open_photo_file", open_photo_file)
    monkeypatch.setattr(ThumbnailCache, "save", save)


def test_transient_errors_are_retried_and_held_errors_reported(
        library: Library, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe: a full disk or a wrong permission was stored as permanent and never retried, and a
    re-run said "0 errors" while the library still held them."""
    with monkeypatch.context() as broken:
        _break_the_machine(broken, photos)
        first = _scanner(library).scan([photos])
    kinds = {Path(e.path).name: e.kind for e in first.errors}
    assert kinds == {"locked.jpg": "transient", "disk_full.jpg": "transient",
                     "corrupt.jpg": "permanent"}
    store = PhotoStore(library.conn)
    locked = store.by_path(str(photos / "locked.jpg"))
    assert locked is not None and locked.error_kind == "transient" and "Permission" in (locked.error or "")
    assert {Path(e.path).name for e in first.held_errors} == set(kinds)

    # The cause is gone. Size and mtime are unchanged, yet the transient ones are tried again.
    second = _scanner(library).scan([photos])
    assert second.retried == 2 and second.updated == 2 and second.errors == []
    assert second.photos == 3
    assert [(Path(e.path).name, e.kind) for e in second.held_errors] == [("corrupt.jpg", "permanent")]
    row = store.by_path(str(photos / "locked.jpg"))
    assert row is not None and row.error is None and row.error_kind is None and row.width == 320

    # A permanent error is not retried on its own...
    third = _scanner(library).scan([photos])
    assert third.retried == 0 and third.unchanged == 4 and len(third.held_errors) == 1
    # ...but is when asked to.
    fourth = _scanner(library).scan([photos], retry_errors=True)
    assert fourth.retried == 1 and [Path(e.path).name for e in fourth.errors] == ["corrupt.jpg"]


def test_held_errors_are_those_under_the_scanned_folders(library: Library, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "x.jpg").parent.mkdir(parents=True)
    (a / "x.jpg").write_bytes(b"not a jpeg")
    (b / "y.jpg").parent.mkdir(parents=True)
    (b / "y.jpg").write_bytes(b"not a jpeg either")
    _scanner(library).scan([a, b])
    assert [Path(e.path).name for e in _scanner(library).scan([b]).held_errors] == ["y.jpg"]


def test_migration_classifies_errors_recorded_before_classes(tmp_path: Path) -> None:
    """A library written by the last release before errors had a class (the frozen v4 file,
    plus errors of each sort): I/O and memory errors become transient, so the next scan
    retries them; the rest are permanent."""
    root = tmp_path / "library"
    root.mkdir()
    shutil.copy(FROZEN / "library-v4.db", root / "library.db")
    conn = sqlite3.connect(root / "library.db", isolation_level=None)
    rows = [
        ("/p/denied.jpg", "cannot read file: Permission denied"),
        ("/p/oom.png", "out of memory while decoding this PNG (image too large?)"),
        ("/p/full.jpg", "could not make a thumbnail: OSError: [Errno 28] No space left on device"),
        ("/p/corrupt.jpg", "corrupt JPEG: broken data stream"),
        ("/p/ok.jpg", None),
    ]
    conn.executemany(
        "INSERT INTO photos (path, size, mtime_ns, error, added_at, updated_at)"
        " VALUES (?, 1, 1, ?, 'now', 'now')", rows)
    conn.close()
    with Library(root) as library:
        kinds = dict(library.conn.execute("SELECT path, error_kind FROM photos WHERE path LIKE '/p/%'"))
        frozen_broken = library.conn.execute(
            "SELECT error_kind FROM photos WHERE path = '/photos/broken.jpg'").fetchone()[0]
    assert kinds == {"/p/denied.jpg": "transient", "/p/oom.png": "transient",
                     "/p/full.jpg": "transient", "/p/corrupt.jpg": "permanent", "/p/ok.jpg": None}
    assert frozen_broken == "permanent"  # "truncated JPEG": the file's content
