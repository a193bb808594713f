"""move_no_replace (core/file_moves.py): a file at the target is never replaced, whichever way
the system moves the file (the kernel's no-replace rename, link + unlink, a reserved name, a
copy across drives), and the source stays where it was when the move cannot be made."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from photomgr.core import file_moves
from photomgr.core.file_moves import move_no_replace


def _kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    if file_moves._native_rename() is None:
        pytest.skip("no no-replace rename in this C library")


def _link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_moves, "_native_rename", lambda: None)


def _reservation(monkeypatch: pytest.MonkeyPatch) -> None:
    _link(monkeypatch)
    monkeypatch.setattr(file_moves.os, "link", _raise(errno.EPERM))  # as vfat says: no hard links


def _across_drives(monkeypatch: pytest.MonkeyPatch) -> None:
    real = file_moves._rename_no_replace

    def rename(source: Path, target: Path) -> None:
        # Only the copy made beside the target (in its staging folder) is on the target's drive.
        if not source.parent.name.startswith(".photomgr-restore-"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(source, target)

    monkeypatch.setattr(file_moves, "_rename_no_replace", rename)


def _raise(code: int) -> Callable[..., None]:
    def fail(*_a: object, **_k: object) -> None:
        raise OSError(code, os.strerror(code))
    return fail


WAYS = {"kernel": _kernel, "link": _link, "reservation": _reservation, "across drives": _across_drives}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_a_free_place_gets_the_file(way: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    WAYS[way](monkeypatch)
    source, target = tmp_path / "trash" / "a.jpg", tmp_path / "photos" / os.fsdecode(b"caf\xe9.jpg")
    source.parent.mkdir()
    target.parent.mkdir()
    source.write_bytes(b"the photo")
    move_no_replace(source, target)
    assert target.read_bytes() == b"the photo" and not source.exists()
    assert os.listdir(target.parent) == [target.name]  # no reservation, no copy left behind


@pytest.mark.parametrize("way", sorted(WAYS))
def test_a_taken_place_is_never_replaced(way: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    WAYS[way](monkeypatch)
    source, target = tmp_path / "trash.jpg", tmp_path / "photo.jpg"
    source.write_bytes(b"from the trash")
    target.write_bytes(b"someone else's, put there since")
    with pytest.raises(FileExistsError):
        move_no_replace(source, target)
    assert source.read_bytes() == b"from the trash"
    assert target.read_bytes() == b"someone else's, put there since"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg", "trash.jpg"]


@pytest.mark.parametrize("way", ["link", "reservation", "across drives"])
def test_a_symbolic_link_comes_back_as_that_link(way: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    WAYS[way](monkeypatch)
    (tmp_path / "real.jpg").write_bytes(b"pixels")
    source, target = tmp_path / "link-in-trash", tmp_path / "link.jpg"
    source.symlink_to("real.jpg")
    move_no_replace(source, target)
    assert os.readlink(target) == "real.jpg" and not os.path.lexists(source)


def test_a_reservation_someone_wrote_into_is_theirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last way: a writer that opened our empty reservation and wrote into it before the
    rename keeps what it wrote; the reservation is theirs now, and the source stays."""
    _reservation(monkeypatch)
    source, target = tmp_path / "trash.jpg", tmp_path / "photo.jpg"
    source.write_bytes(b"from the trash")
    real_lstat = os.lstat

    def written_meanwhile(path: object) -> os.stat_result:
        if Path(str(path)) == target:
            target.write_bytes(b"written into the reservation")
        return real_lstat(path)  # type: ignore[arg-type]

    monkeypatch.setattr(file_moves.os, "lstat", written_meanwhile)
    with pytest.raises(FileExistsError):
        move_no_replace(source, target)
    assert target.read_bytes() == b"written into the reservation" and source.read_bytes() == b"from the trash"


def test_across_drives_a_source_that_cannot_be_removed_stays_the_only_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _across_drives(monkeypatch)
    source, target = tmp_path / "trash.jpg", tmp_path / "photos" / "photo.jpg"
    target.parent.mkdir()
    source.write_bytes(b"from the trash")
    real_unlink = os.unlink

    def unlink(path: object) -> None:
        if Path(str(path)) == source:
            raise PermissionError(errno.EACCES, "read-only trash", str(path))
        real_unlink(path)  # type: ignore[arg-type]

    monkeypatch.setattr(file_moves.os, "unlink", unlink)
    with pytest.raises(PermissionError):
        move_no_replace(source, target)
    assert source.read_bytes() == b"from the trash" and list(target.parent.iterdir()) == []


@pytest.mark.parametrize("platform", ["win32", "linux"])
def test_a_c_library_that_cannot_be_opened_means_the_next_way(platform: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # On Windows ctypes.CDLL(None) raises TypeError (not OSError): that must send the move to
    # the next way, not fail every Undo of Move to Trash.
    def no_libc(*_a: object, **_k: object) -> None:
        raise TypeError("argument of type 'NoneType' is not iterable")

    file_moves._native_rename.cache_clear()
    monkeypatch.setattr(file_moves.sys, "platform", platform)
    monkeypatch.setattr(file_moves.ctypes, "CDLL", no_libc)
    try:
        assert file_moves._native_rename() is None
        source, target = tmp_path / "a.jpg", tmp_path / "b.jpg"
        source.write_bytes(b"photo")
        if platform == "linux":  # link + unlink here; Windows' os.rename is not this system's
            move_no_replace(source, target)
            assert target.read_bytes() == b"photo" and not source.exists()
    finally:
        file_moves._native_rename.cache_clear()
