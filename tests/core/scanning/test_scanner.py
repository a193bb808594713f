from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.pipeline import analyze
from photomgr.core.scanning.scanner import Scanner, ScanProgress
from tests.conftest import make_photo


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
    for i in range(5):
        make_photo(root / f"album{i % 2}" / f"p{i}.jpg", seed=i)
    make_photo(root / "shot.png", fmt="PNG", seed=10)
    make_photo(root / "really_png.jpg", fmt="PNG", seed=11)  # wrong extension: content wins
    (root / "notes.txt").write_text("not a photo")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)  # JPEG magic, no image
    (root / "fake.jpg").write_text("I am text with a .jpg name")
    (root / ".hidden").mkdir()
    make_photo(root / ".hidden" / "secret.jpg", seed=12)
    return root


def test_first_scan_records_photos_and_errors(library: Library, photos: Path) -> None:
    report = _scanner(library).scan([photos])
    assert report.new == 7
    assert report.photos == 7
    assert {Path(e.path).name for e in report.errors} == {"broken.jpg", "fake.jpg"}
    fake = next(e for e in report.errors if e.path.endswith("fake.jpg"))
    assert "not an image" in fake.error
    store = PhotoStore(library.conn)
    row = store.by_path(str(photos / "really_png.jpg"))
    assert row is not None and row.format == "png" and row.width == 320 and row.height == 240
    bad = store.by_path(str(photos / "broken.jpg"))
    assert bad is not None and bad.error
    assert store.by_path(str(photos / "notes.txt")) is None
    assert store.by_path(str(photos / ".hidden" / "secret.jpg")) is None
    thumbs = list(library.paths.thumbnails.rglob("*.jpg"))
    assert len(thumbs) == 7


def test_rescan_touches_nothing_unchanged(library: Library, photos: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    scanner = _scanner(library)
    scanner.scan([photos])
    opened: list[Path] = []
    original = analyze.open_photo_file
    monkeypatch.setattr(analyze, "open_photo_file", lambda p, *a: opened.append(p) or original(p, *a))
    report = scanner.scan([photos])
    assert report.unchanged == 9  # 7 photos + 2 recorded bad files
    assert (report.new, report.updated, report.moved, report.missing) == (0, 0, 0, 0)
    assert report.errors == []
    # Only the non-photo text file is looked at again (it is not recorded in the library).
    assert [p.name for p in opened] == ["notes.txt"]


def test_changed_file_is_updated_in_place(library: Library, photos: Path) -> None:
    scanner = _scanner(library)
    scanner.scan([photos])
    store = PhotoStore(library.conn)
    target = photos / "album0" / "p0.jpg"
    before = store.by_path(str(target))
    make_photo(target, size=(100, 80), seed=99)
    os.utime(target, ns=(1, 1_000_000_000))
    report = scanner.scan([photos])
    assert report.updated == 1 and report.new == 0
    after = store.by_path(str(target))
    assert before is not None and after is not None
    assert after.id == before.id and after.width == 100 and after.content_hash != before.content_hash


def test_moved_file_keeps_its_row(library: Library, photos: Path) -> None:
    scanner = _scanner(library)
    scanner.scan([photos])
    store = PhotoStore(library.conn)
    old = store.by_path(str(photos / "album0" / "p0.jpg"))
    (photos / "renamed").mkdir()
    shutil.move(photos / "album0" / "p0.jpg", photos / "renamed" / "holiday.jpg")
    report = scanner.scan([photos])
    assert (report.moved, report.new, report.missing) == (1, 0, 0)
    new = store.by_path(str(photos / "renamed" / "holiday.jpg"))
    assert old is not None and new is not None and new.id == old.id and not new.missing
    assert store.by_path(str(photos / "album0" / "p0.jpg")) is None


def test_move_across_separate_scans(library: Library, photos: Path, tmp_path: Path) -> None:
    """Removed in one scan (marked missing), found elsewhere in a later scan: still a move."""
    scanner = _scanner(library)
    scanner.scan([photos])
    store = PhotoStore(library.conn)
    old = store.by_path(str(photos / "shot.png"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(photos / "shot.png", elsewhere / "shot.png")
    assert scanner.scan([photos]).missing == 1
    report = scanner.scan([elsewhere])
    assert (report.moved, report.new) == (1, 0)
    new = store.by_path(str(elsewhere / "shot.png"))
    assert old is not None and new is not None and new.id == old.id and not new.missing


def test_deleted_file_is_marked_missing_not_deleted(library: Library, photos: Path) -> None:
    scanner = _scanner(library)
    scanner.scan([photos])
    (photos / "shot.png").unlink()
    report = scanner.scan([photos])
    assert report.missing == 1 and report.photos == 6
    row = PhotoStore(library.conn).by_path(str(photos / "shot.png"))
    assert row is not None and row.missing
    make_photo(photos / "shot.png", fmt="PNG", seed=10)  # it comes back with other mtime
    report = scanner.scan([photos])
    assert report.photos == 7 and report.updated == 1


def test_unreadable_folder_is_reported_and_skipped(library: Library, photos: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    locked = photos / "album1"
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    report = _scanner(library).scan([photos])
    assert any(e.path == str(locked) and "Permission denied" in e.error for e in report.errors)
    assert report.new == 5  # album1's two photos skipped, the rest indexed


def test_file_vanishing_mid_scan(library: Library, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = photos / "album0" / "p2.jpg"
    original = analyze.open_photo_file

    def open_photo_file(path: Path, **kwargs: int) -> BinaryIO:
        if path == victim:
            path.unlink()
        return original(path, **kwargs)

    monkeypatch.setattr(analyze, "open_photo_file", open_photo_file)
    report = _scanner(library).scan([photos])
    assert any(e.path == str(victim) and "vanished" in e.error for e in report.errors)
    assert report.new == 6


def test_cancelled_scan_keeps_finished_work_and_resumes(library: Library, photos: Path) -> None:
    scanner = _scanner(library)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(p: ScanProgress) -> None:
        if p.phase == "analysing":
            seen.append(p.done)
            if p.done == 3:
                cancel.set()

    first = scanner.scan([photos], progress=progress, cancel=cancel)
    assert first.cancelled and first.missing == 0
    second = scanner.scan([photos])
    assert not second.cancelled
    assert first.new + second.new == 7
    assert second.unchanged >= 3 - (len(first.errors))


def test_single_file_root(library: Library, photos: Path) -> None:
    report = _scanner(library).scan([photos / "shot.png"])
    assert report.new == 1 and report.photos == 1


def test_progress_counts_photos_and_odd_names_once_known(library: Library, tmp_path: Path) -> None:
    """The analysing total counts photos, not every file (a labels.csv is not one); only a file's
    content says it is a photo when its name does not, and the total grows then."""
    root = tmp_path / "odd"
    for i in range(3):
        make_photo(root / f"p{i}.jpg", seed=i)
    make_photo(root / "IMG_0001.download", seed=9)
    (root / "labels.csv").write_text("path,label\n")
    (root / "notes.md").write_text("# not a photo")
    seen: list[ScanProgress] = []
    report = _scanner(library).scan([root], progress=seen.append)
    analysing = [(p.done, p.total) for p in seen if p.phase == "analysing"]
    assert report.new == 4 and len(report.skipped) == 2
    assert analysing[-1] == (4, 4)
    assert all(3 <= total <= 4 and done <= total for done, total in analysing)


def test_a_folder_moved_to_another_root_keeps_its_rows(library: Library, tmp_path: Path) -> None:
    """`mv a/trip b/` then index b: the photos are the ones of a, moved (was: new photos in b,
    and a's rows, with their tags, left behind as files that no longer exist)."""
    a, b = tmp_path / "a", tmp_path / "b"
    make_photo(a / "trip" / "beach.jpg", seed=1)
    make_photo(a / "home.jpg", seed=4)  # a stays online with something in it
    make_photo(b / "other.jpg", seed=2)
    scanner = _scanner(library)
    scanner.scan([a])
    scanner.scan([b])
    store = PhotoStore(library.conn)
    old = store.by_path(str(a / "trip" / "beach.jpg"))
    shutil.move(a / "trip", b / "trip")
    report = scanner.scan([b])
    assert (report.moved, report.new) == (1, 0)
    new = store.by_path(str(b / "trip" / "beach.jpg"))
    assert old is not None and new is not None and new.id == old.id and not new.missing
    assert store.by_path(str(a / "trip" / "beach.jpg")) is None


def test_a_copy_on_another_root_is_not_a_move(library: Library, tmp_path: Path) -> None:
    """The photo is still at its place (a copy), or its root is gone as a whole (a drive that
    is not plugged in): the file found elsewhere is a new photo, the old row stays."""
    a, b, drive = tmp_path / "a", tmp_path / "b", tmp_path / "drive"
    make_photo(a / "beach.jpg", seed=1)
    make_photo(drive / "dog.jpg", seed=3)
    scanner = _scanner(library)
    scanner.scan([a, drive])
    b.mkdir()
    shutil.copy2(a / "beach.jpg", b / "beach.jpg")
    shutil.copytree(drive, b / "backup")
    shutil.rmtree(drive)  # unplugged
    report = scanner.scan([b])
    assert (report.moved, report.new) == (0, 2)
    store = PhotoStore(library.conn)
    assert store.by_path(str(a / "beach.jpg")) is not None
    assert store.by_path(str(drive / "dog.jpg")) is not None


def test_another_library_among_the_photos_is_not_walked(library: Library, tmp_path: Path) -> None:
    """A photomgr library kept inside a photos folder (its database and thumbnails): its
    thumbnails are not photos (was: indexed, and shown in search results)."""
    photos = tmp_path / "pics"
    make_photo(photos / "beach.jpg", seed=1)
    other = Library(photos / "deep" / "lib")
    other.close()
    make_photo(photos / "deep" / "lib" / "thumbnails" / "ab" / "abcdef.jpg", seed=2)
    make_photo(photos / "deep" / "holiday.jpg", seed=3)
    report = _scanner(library).scan([photos])
    assert report.new == 2
    assert sorted(Path(p).name for p in PhotoStore(library.conn).known_under([photos])) == [
        "beach.jpg", "holiday.jpg"]


@pytest.mark.parametrize("where", ["root is the mount point", "mounted inside the root"])
def test_a_backup_of_an_unplugged_drive_is_not_a_move(library: Library, tmp_path: Path, where: str) -> None:
    """An unplugged drive leaves its mount point as an empty folder (a fixed mount point, or a
    drive mounted inside a root): a backup of its photos indexed meanwhile is a copy, and the
    drive's photos keep their rows for when it is back (review of the cross-root move)."""
    drive = tmp_path / "mnt" if where == "root is the mount point" else tmp_path / "pics" / "usb"
    make_photo(drive / "dog.jpg", seed=3)
    if where == "mounted inside the root":
        make_photo(tmp_path / "pics" / "home.jpg", seed=5)
    root = drive if where == "root is the mount point" else tmp_path / "pics"
    scanner = _scanner(library)
    scanner.scan([root])
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy2(drive / "dog.jpg", backup / "dog.jpg")
    (drive / "dog.jpg").unlink()  # unplugged: the mount point stays, empty
    report = scanner.scan([backup])
    assert (report.moved, report.new) == (0, 1)
    row = PhotoStore(library.conn).by_path(str(drive / "dog.jpg"))
    assert row is not None and not row.missing


def test_a_copy_whose_original_is_in_place_never_takes_a_gone_twin_s_row(library: Library,
                                                                         tmp_path: Path) -> None:
    """The original and an extra copy were indexed; the extra copy was deleted by hand. A
    backup of the picture indexed elsewhere is a copy of the original, not the gone copy moved
    (it took that row, and its hidden mark, in review)."""
    a = tmp_path / "a"
    make_photo(a / "x.jpg", seed=1)
    (a / "dup").mkdir()
    shutil.copy2(a / "x.jpg", a / "dup" / "x.jpg")
    scanner = _scanner(library)
    scanner.scan([a])
    (a / "dup" / "x.jpg").unlink()
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy2(a / "x.jpg", backup / "x.jpg")
    report = scanner.scan([backup])
    assert (report.moved, report.new) == (0, 1)


def test_a_photo_folder_with_a_file_named_library_db_is_walked(library: Library, tmp_path: Path) -> None:
    """Only a real library is skipped: a folder with some other file called library.db and a
    thumbnails folder keeps its photos (review: they all went missing, silently)."""
    photos = tmp_path / "pics"
    make_photo(photos / "beach.jpg", seed=1)
    (photos / "library.db").write_text("my notes")
    make_photo(photos / "thumbnails" / "small.jpg", seed=2)
    assert _scanner(library).scan([photos]).new == 2
