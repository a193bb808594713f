"""Files that once stopped or hung `index` (issue 10, deliverable 5): names that are not UTF-8,
a FIFO or a symlink to /dev/zero swapped in after the walk, huge sparse files, Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.pipeline.lookahead import lookahead_map
from photomgr.core.scanning import scanner as scanner_module
from photomgr.core.scanning.scanner import Scanner, ScanReport
from tests.conftest import make_photo

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file names and file types")


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "library")
    yield lib
    lib.close()


def _scanner(library: Library) -> Scanner:
    return Scanner(PhotoStore(library.conn), ThumbnailCache(library.paths.thumbnails),
                   skip={library.paths.root}, workers=2)


def _scan_with_deadline(scanner: Scanner, roots: list[Path], seconds: float) -> ScanReport:
    """Run the scan in a thread: a hang fails the test instead of hanging the test run."""
    out: list[ScanReport | BaseException] = []

    def run() -> None:
        try:
            out.append(scanner.scan(roots))
        except BaseException as exc:  # handed to the test thread
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the scan still runs after {seconds} s: it hangs"
    result = out[0]
    if isinstance(result, BaseException):
        raise result
    return result


@posix_only
def test_name_that_is_not_utf8_is_indexed_exactly(library: Library, tmp_path: Path) -> None:
    """Probe: a name that is not valid UTF-8 stopped `index` with UnicodeEncodeError, every time."""
    folder = tmp_path / "photos"
    folder.mkdir()
    try:
        name = os.fsdecode(b"caf\xe9 \xff.jpg")
        make_photo(folder / name)
    except (UnicodeError, OSError):
        pytest.skip("this file system does not take names that are not UTF-8")
    make_photo(folder / "plain.jpg", seed=2)
    make_photo(folder / "\ufffdE9 real replacement char.jpg", seed=3)  # must not collide
    (folder / os.fsdecode(b"broken \xfe.jpg")).write_bytes(b"no image here")

    report = _scanner(library).scan([folder])
    assert report.new == 3 and report.photos == 3
    store = PhotoStore(library.conn)
    row = store.by_path(str(folder / name))
    assert row is not None and row.error is None and row.path == str(folder / name)
    assert os.fsencode(row.path) == os.fsencode(folder) + b"/caf\xe9 \xff.jpg"
    assert Path(row.path).is_file()  # the stored path opens the very file
    assert store.paths_by_id([row.id]) == {row.id: str(folder / name)}
    replacement = store.by_path(str(folder / "\ufffdE9 real replacement char.jpg"))
    assert replacement is not None and replacement.id != row.id
    assert [os.fsencode(e.path) for e in report.errors] == [os.fsencode(folder) + b"/broken \xfe.jpg"]

    again = _scanner(library).scan([folder])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4)


@posix_only
def test_folder_root_that_is_not_utf8(library: Library, tmp_path: Path) -> None:
    try:
        folder = tmp_path / os.fsdecode(b"album \xe9")
        make_photo(folder / "a.jpg")
    except (UnicodeError, OSError):
        pytest.skip("this file system does not take names that are not UTF-8")
    assert _scanner(library).scan([folder]).new == 1
    assert PhotoStore(library.conn).roots() == [str(folder)]
    assert _scanner(library).scan([folder]).unchanged == 1


def _swap_after_walk(monkeypatch: pytest.MonkeyPatch, swap: Iterator[None]) -> None:
    """Let the walk finish, then change the file system (the race a real user can hit)."""
    real_walk = scanner_module.walk

    def walk(*args: object, **kwargs: object) -> Iterator[object]:
        items = list(real_walk(*args, **kwargs))  # type: ignore[arg-type]
        next(swap)
        yield from items

    monkeypatch.setattr(scanner_module, "walk", walk)


@posix_only
def test_fifo_swapped_in_after_the_walk_does_not_hang(library: Library, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe: a FIFO where the walk saw a photo blocked the indexer forever."""
    folder = tmp_path / "photos"
    make_photo(folder / "a.jpg")
    victim = make_photo(folder / "b.jpg", seed=1)

    def swap() -> Iterator[None]:
        victim.unlink()
        os.mkfifo(victim)
        yield

    _swap_after_walk(monkeypatch, swap())
    try:
        report = _scan_with_deadline(_scanner(library), [folder], 20)
    finally:  # before the fix a worker blocks in open(): a writer's open/close releases it
        with contextlib.suppress(OSError):
            os.close(os.open(victim, os.O_WRONLY | os.O_NONBLOCK))
    assert report.new == 1
    assert [(Path(e.path).name, e.kind) for e in report.errors] == [("b.jpg", "permanent")]
    assert "named pipe" in report.errors[0].error


@posix_only
def test_symlink_to_dev_zero_swapped_in_does_not_hang(library: Library, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe: a symlink to /dev/zero was read (and hashed) forever."""
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    folder = tmp_path / "photos"
    make_photo(folder / "a.jpg")
    victim = make_photo(folder / "b.jpg", seed=1)

    def swap() -> Iterator[None]:
        victim.unlink()
        victim.symlink_to("/dev/zero")
        yield

    _swap_after_walk(monkeypatch, swap())
    report = _scan_with_deadline(_scanner(library), [folder], 20)
    assert report.new == 1
    assert [Path(e.path).name for e in report.errors] == ["b.jpg"]
    assert "character device" in report.errors[0].error


def _bytes_read() -> int | None:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("rchar:")))


@posix_only
def test_huge_sparse_files_are_not_read(library: Library, tmp_path: Path) -> None:
    """Probe: a 40 GB sparse file was read in full to learn it is not an image. Sparse files
    cost no disk; /proc/self/io counts the bytes this process read."""
    if _bytes_read() is None:
        pytest.skip("needs /proc/self/io to count the bytes read")
    folder = tmp_path / "photos"
    make_photo(folder / "a.jpg")
    zeros = folder / "disk image.jpg"  # an image's name, 3 GB of zeros inside (under the cap)
    with zeros.open("wb") as fh:
        fh.truncate(3 << 30)
    jpeg_head = folder / "jpeg head.jpg"  # a JPEG signature, then 6 GB of nothing
    with jpeg_head.open("wb") as fh:
        fh.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
        fh.truncate(6 << 30)
    video = folder / "movie.mkv"  # not an image by name, and huge
    with video.open("wb") as fh:
        fh.truncate(40 << 30)

    before = _bytes_read()
    started = time.monotonic()
    report = _scan_with_deadline(_scanner(library), [folder], 60)
    read = (_bytes_read() or 0) - (before or 0)
    assert read < 64 << 20, f"read {read / (1 << 20):.0f} MB to index 4 files"
    assert time.monotonic() - started < 30
    errors = {Path(e.path).name: e for e in report.errors}
    assert set(errors) == {"disk image.jpg", "jpeg head.jpg"}
    assert "not an image" in errors["disk image.jpg"].error
    assert "too large" in errors["jpeg head.jpg"].error
    assert all(e.kind == "permanent" for e in errors.values())
    assert report.new == 1 and [Path(s.path).name for s in report.skipped] == ["movie.mkv"]


def test_stopping_early_does_not_wait_for_a_stuck_decode() -> None:
    """Ctrl-C: the consumer of the decode pool stops at once, even while a worker is stuck."""
    release = threading.Event()

    def work(item: int) -> int:
        if item == 0:
            release.wait(30)
        return item

    results = lookahead_map(work, [0, 1], workers=2, ahead=2)
    try:
        assert next(results) == 1
        closer = threading.Thread(target=results.close, daemon=True)
        closer.start()
        closer.join(5)
        assert not closer.is_alive(), "closing the pool waited for the stuck decode"
    finally:
        release.set()


@posix_only
def test_gallery_reads_a_folder_that_is_not_utf8(library: Library, tmp_path: Path) -> None:
    """The window's folder list and gallery query by folder: the stored text, not the raw name."""
    from photomgr.core.library import gallery

    try:
        folder = tmp_path / os.fsdecode(b"album \xe9")
        make_photo(folder / os.fsdecode(b"p\xff.jpg"))
    except (UnicodeError, OSError):
        pytest.skip("this file system does not take names that are not UTF-8")
    _scanner(library).scan([folder])
    counts = gallery.folder_counts(library.conn)
    assert [(c.path, c.photos) for c in counts] == [(str(folder), 1)]
    rows = gallery.gallery_rows(library.conn, str(folder))
    assert rows.paths == [str(folder / os.fsdecode(b"p\xff.jpg"))]
    assert Path(rows.paths[0]).is_file()
