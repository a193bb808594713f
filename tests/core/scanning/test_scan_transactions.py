"""The scan writes in short batches of its own: a user's edit made during a scan is never inside
the scan's transaction, so a scan that fails cannot roll it back (issue 10, deliverable 2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.errors import LibraryError
from photomgr.core.library.labels import LabelStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.scanning import scanner as scanner_module
from photomgr.core.scanning.scanner import Scanner, ScanProgress
from tests.conftest import make_photo


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "library")
    yield lib
    lib.close()


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i in range(12):
        make_photo(root / f"p{i:02}.jpg", seed=i, size=(64, 48))
    return root


def _scanner(library: Library) -> Scanner:
    return Scanner(PhotoStore(library.conn), ThumbnailCache(library.paths.thumbnails),
                   skip={library.paths.root}, workers=2)


def _fail_on_record(monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """Make the scan's own write fail (say, disk full) on its `after`+1-th file."""
    original = Scanner._record
    calls = {"n": 0}

    def record(self: Scanner, *args: object) -> int | None:
        calls["n"] += 1
        if calls["n"] > after:
            raise sqlite3.OperationalError("database or disk is full")
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Scanner, "_record", record)


def test_label_added_during_a_failed_scan_survives(library: Library, photos: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe: the GUI worker ran a user's `labels add` from the scan's progress callback,
    inside the scan's BEGIN IMMEDIATE; the scan then failed and rolled the label back."""
    monkeypatch.setattr(scanner_module, "COMMIT_EVERY", 4)
    _fail_on_record(monkeypatch, after=6)
    labels = LabelStore(library.conn)
    added: list[str] = []

    def progress(p: ScanProgress) -> None:
        if p.phase == "analysing" and p.done == 5 and not added:
            assert not library.conn.in_transaction
            library.conn.execute("BEGIN IMMEDIATE")
            labels.add("beach")
            library.conn.execute("COMMIT")
            added.append("beach")

    with pytest.raises((sqlite3.OperationalError, LibraryError)):  # LibraryFull, translated
        _scanner(library).scan([photos], progress=progress)
    assert added == ["beach"]
    assert [label.name for label in labels.all()] == ["beach"]
    assert not library.conn.in_transaction
    # The first batch (4 files) was committed before the failure and is kept.
    count = library.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    assert count >= 4


def test_between_batches_runs_outside_any_transaction(library: Library, photos: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner_module, "COMMIT_EVERY", 5)
    calls: list[int] = []

    def between() -> None:
        assert not library.conn.in_transaction
        # What the batch before this call wrote is committed: another connection sees it.
        other = sqlite3.connect(library.paths.database)
        try:
            calls.append(other.execute("SELECT COUNT(*) FROM photos").fetchone()[0])
        finally:
            other.close()

    report = _scanner(library).scan([photos], between_batches=between)
    assert report.new == 12
    # 12 files in batches of at most 5: at least three commits, each visible to other readers.
    assert len(calls) >= 3
    assert calls == sorted(calls) and calls[-1] == 12 and calls[0] <= 5


def test_interrupted_scan_keeps_the_analysed_files(library: Library, photos: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C: the files already analysed are written before the interrupt goes on."""
    monkeypatch.setattr(scanner_module, "COMMIT_EVERY", 1000)
    monkeypatch.setattr(scanner_module, "COMMIT_SECONDS", 1000.0)

    def progress(p: ScanProgress) -> None:
        if p.phase == "analysing" and p.done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _scanner(library).scan([photos], progress=progress)
    assert not library.conn.in_transaction
    assert library.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 7
    report = _scanner(library).scan([photos])
    assert (report.new, report.unchanged) == (5, 7)
