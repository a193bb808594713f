"""Decoding safely: regular files only and never blocking, errors classed permanent or transient,
and full-size decodes held to one memory budget whatever the number of workers (issue 10,
deliverables 4 and 5)."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from photomgr.core.imaging import budget as budget_module
from photomgr.core.imaging import decode as decode_module
from photomgr.core.imaging.budget import MemoryBudget, estimate_decode_bytes
from photomgr.core.imaging.decode import decode_photo
from photomgr.core.imaging.errors import ImageError
from photomgr.core.imaging.files import FileTooLargeError, NotRegularFileError, open_photo_file

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero")


def _decode_error(path: Path) -> ImageError:
    with pytest.raises(ImageError) as info:
        decode_photo(path)
    return info.value


def _within(seconds: float, fn: object) -> object:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(_catch(fn)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it blocks"
    return out[0]


def _catch(fn: object) -> object:
    try:
        return fn()  # type: ignore[operator]
    except BaseException as exc:
        return exc


# --- the opened file -----------------------------------------------------------------------------

@posix_only
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    try:
        error = _within(10, lambda: decode_photo(fifo))
    finally:
        with contextlib.suppress(OSError):  # a writer's open and close releases a blocked reader
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert isinstance(error, NotRegularFileError) and "named pipe" in str(error)
    assert not error.transient


@posix_only
def test_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    link = tmp_path / "photo.jpg"
    link.symlink_to("/dev/zero")
    error = _within(10, lambda: decode_photo(link))
    assert isinstance(error, NotRegularFileError) and "character device" in str(error)


def test_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * 2000)
    with pytest.raises(FileTooLargeError, match="too large"):
        open_photo_file(path, max_bytes=1000)
    with open_photo_file(path, max_bytes=4000) as fh:
        assert fh.read(3) == b"\xff\xd8\xff"


# --- permanent or transient ---------------------------------------------------------------------

@pytest.mark.parametrize(("raised", "transient"), [
    (MemoryError(), True),
    (OSError(errno.EIO, "Input/output error"), True),
    (PermissionError(errno.EACCES, "Permission denied"), True),
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError("broken data stream when reading image file"), False),  # Pillow: no errno
    (SyntaxError("not a PNG file"), False),
    (Image.DecompressionBombError("Image size (1 pixels) exceeds limit of 0 pixels"), False),
])
def test_decode_errors_are_classed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   raised: BaseException, transient: bool) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(path)

    def fail(*args: object) -> None:
        raise raised

    monkeypatch.setattr(decode_module, "_decode", fail)
    error = _decode_error(path)
    assert error.transient is transient
    assert error.kind == ("transient" if transient else "permanent")


def test_unreadable_file_is_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(path)

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(decode_module, "open_photo_file", denied)
    error = _decode_error(path)
    assert error.transient and "Permission denied" in str(error)


def test_content_errors_are_permanent(tmp_path: Path) -> None:
    (tmp_path / "text.jpg").write_text("hello")
    assert not _decode_error(tmp_path / "text.jpg").transient
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert not _decode_error(tmp_path / "cut.png").transient


# --- the memory budget --------------------------------------------------------------------------

def test_budget_bounds_what_is_held_at_once() -> None:
    budget = MemoryBudget(100)
    running: list[int] = []
    beside_the_big_one: list[int] = []
    lock = threading.Lock()

    def job(size: int) -> None:
        with budget.reserve(size):
            with lock:
                running.append(size)
                if 500 in running:
                    beside_the_big_one.extend(n for n in running if n != 500)
            time.sleep(0.02)
            with lock:
                running.remove(size)

    threads = [threading.Thread(target=job, args=(n,)) for n in (60, 60, 30, 30, 500, 10, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert beside_the_big_one == []  # the one bigger than the whole budget ran alone...
    assert budget.peak <= 100  # ...and what was reserved never went over the budget
    assert budget.in_use == 0


def test_estimate_counts_the_copy_alpha_images_need() -> None:
    assert estimate_decode_bytes(Image.new("RGB", (100, 50))) == 100 * 50 * 4
    assert estimate_decode_bytes(Image.new("L", (100, 50))) == 100 * 50
    assert estimate_decode_bytes(Image.new("RGBA", (100, 50))) == 100 * 50 * 8


def test_parallel_full_size_decodes_share_one_budget(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe (scaled down): a 13000 x 13000 PNG took 1.8 GB and six decode workers 8.3 GB.
    Every full-size decode now reserves its memory first; with a budget of one image, six
    threads decode one at a time. (Peak RSS on the real probe: bench/bench_decode_memory.py.)"""
    paths = []
    for i in range(6):
        path = tmp_path / f"big{i}.png"
        Image.new("RGBA", (600, 400), (i, 2 * i, 3 * i, 128)).save(path)
        paths.append(path)
    one_image = 600 * 400 * 8
    budget = MemoryBudget(one_image)
    reserved: list[int] = []
    real_reserve = budget.reserve

    def reserve(nbytes: int) -> object:
        reserved.append(nbytes)
        return real_reserve(nbytes)

    monkeypatch.setattr(budget, "reserve", reserve)
    monkeypatch.setattr(decode_module, "DECODE_BUDGET", budget)
    threads = [threading.Thread(target=decode_photo, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert reserved == [one_image] * 6
    assert budget.peak == one_image and budget.in_use == 0


def test_draft_decodes_reserve_only_their_reduced_size(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4096, 2048), (10, 20, 30)).save(path)
    budget = MemoryBudget(1 << 30)
    monkeypatch.setattr(decode_module, "DECODE_BUDGET", budget)
    decode_photo(path, min_side=256)
    assert budget.peak == (4096 // 8) * (2048 // 8) * 4  # libjpeg's 1/8 scale


def test_budget_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOMGR_DECODE_MEMORY_MB", "256")
    assert budget_module._capacity_from_env() == 256 << 20
    monkeypatch.setenv("PHOTOMGR_DECODE_MEMORY_MB", "lots")
    assert budget_module._capacity_from_env() == budget_module.DEFAULT_BUDGET_BYTES
