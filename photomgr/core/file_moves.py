"""Move a file to a place only if that place is free: never replace a file that is there.

Checking first and then calling os.rename leaves a window in which a file can appear at the
target, and os.rename (POSIX rename) then silently replaces it: that file is lost. Undo of Move
to Trash puts photos back into folders the user, a sync client or a camera import may be
writing to, so `move_no_replace` makes "the place is free" and the move one step wherever the
system allows:

1. the kernel's own no-replace rename: Linux renameat2(RENAME_NOREPLACE), macOS
   renamex_np(RENAME_EXCL), through ctypes (Python has no wrapper);
2. Windows: os.rename, which never replaces an existing file there;
3. os.link then unlink (creating a link fails if the name is taken), where the file system
   has hard links but not 1 (an old kernel, some network file systems);
4. where it has neither: the name is reserved with an empty file created O_EXCL, and the
   source renamed onto that reservation after checking it is still ours and still empty. A
   writer could only be hurt by writing into our empty reservation in the microseconds between
   that check and the rename, much narrower than a check made before the move.

Across drives (EXDEV) the file is copied into a private folder beside the target first, then
moved the same way, and the source is removed only once the target holds the whole file.
Whatever fails, the source stays where it was (FileExistsError when the place is taken).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1  # linux/fs.h
_RENAME_EXCL = 0x4  # macOS sys/stdio.h
# The kernel or file system cannot do a no-replace rename: try the next way.
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)}
# No hard links on this file system (FAT, exFAT, many network shares): EPERM is what vfat says.
_NO_LINKS = _UNSUPPORTED | {errno.EPERM, errno.EMLINK}


def move_no_replace(source: Path, target: Path) -> None:
    """Move `source` to `target` (a file or a symbolic link, not a folder); FileExistsError
    when something is at `target`, with both left as they were. Other OSErrors as os.rename's."""
    try:
        _rename_no_replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_no_replace(source, target)


def _taken(target: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))


def _rename_no_replace(source: Path, target: Path) -> None:
    native = _native_rename()
    if native is not None and native(source, target):
        return
    if os.name == "nt":  # MoveFileEx without MOVEFILE_REPLACE_EXISTING: fails if the name is taken
        os.rename(source, target)
        return
    if _link_then_unlink(source, target):
        return
    _rename_onto_reservation(source, target)


NativeRename = Callable[[Path, Path], bool]


@functools.cache
def _native_rename() -> NativeRename | None:
    """The C library's no-replace rename, as a function that returns False when this file
    system does not support it (and raises OSError otherwise); None where there is none."""
    if not (sys.platform.startswith("linux") or sys.platform == "darwin"):
        # Windows has none (and ctypes.CDLL(None) raises TypeError there, not OSError)
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux"):
            renameat2 = libc.renameat2  # glibc 2.28+, musl 1.2.4+
            renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]

            def call(source: bytes, target: bytes) -> int:
                return int(renameat2(_AT_FDCWD, source, _AT_FDCWD, target, _RENAME_NOREPLACE))
        elif sys.platform == "darwin":
            renamex_np = libc.renamex_np  # macOS 10.12+
            renamex_np.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]

            def call(source: bytes, target: bytes) -> int:
                return int(renamex_np(source, target, _RENAME_EXCL))
        else:
            return None
    except (AttributeError, OSError, TypeError):  # no such symbol (an older C library), no C library
        return None

    def rename(source: Path, target: Path) -> bool:
        # os.fsencode: the exact bytes, also for names that are not UTF-8
        if call(os.fsencode(source), os.fsencode(target)) == 0:
            return True
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise _taken(target)
        if code in _UNSUPPORTED:
            return False
        raise OSError(code, os.strerror(code), str(source), None, str(target))

    return rename


def _link_then_unlink(source: Path, target: Path) -> bool:
    """Link `target` to the source's file (refused if the name is taken), then drop `source`;
    False, with nothing done, where the file system has no hard links."""
    try:
        # follow_symlinks=False: a symbolic link in the trash comes back as that link
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise _taken(target) from None
    except OSError as exc:
        if exc.errno in _NO_LINKS:
            return False
        raise
    try:
        os.unlink(source)
    except OSError:
        os.unlink(target)  # one name again, the source's: as before the move
        raise
    return True


def _rename_onto_reservation(source: Path, target: Path) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise _taken(target) from None
    try:
        mine = os.fstat(fd)
    finally:
        os.close(fd)
    try:
        now = os.lstat(target)
        if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino) or now.st_size:
            raise _taken(target)  # replaced or written since we made it: someone else's now
        os.replace(source, target)
    except BaseException:
        with contextlib.suppress(OSError):
            now = os.lstat(target)
            if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino) and not now.st_size:
                os.unlink(target)  # our empty reservation only
        raise


def _copy_no_replace(source: Path, target: Path) -> None:
    """Across drives: copy into a private folder beside `target`, move that copy into place
    (never replacing), and only then remove `source`."""
    staging = Path(tempfile.mkdtemp(prefix=".photomgr-restore-", dir=target.parent))
    try:
        copy = staging / "file"
        shutil.copy2(source, copy, follow_symlinks=False)  # a link stays a link
        _rename_no_replace(copy, target)
        try:
            os.unlink(source)
        except OSError:
            os.unlink(target)  # the copy goes: the file stays where it was, nothing doubled
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
