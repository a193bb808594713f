"""Opening a photo file safely: regular files only, never blocking, never unbounded.

The walk saw a regular file, but by the time a worker opens it the path may name something
else: a FIFO (opening it for reading blocks until a writer appears, forever), a symlink to
/dev/zero (endless reads) or a tape device. The file is therefore opened non-blocking and its
type checked on the opened descriptor (fstat), which no later swap can change. Every later read
of the file (header, hash, decode) goes through that one descriptor.

Size is checked there too: a file larger than MAX_FILE_BYTES is refused before a byte of it is
read, so a 40 GB disk image named .jpg costs nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from photomgr.core.imaging.errors import ImageError, PhotoMissingError

# Bigger than any photo or TIFF panorama photomgr can decode under Pillow's pixel limit
# (89 MP at 16 bits per channel with alpha is ~0.7 GB uncompressed); a classic TIFF stops at 4 GB.
MAX_FILE_BYTES = 4 << 30

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))

_TYPE_NAMES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(ImageError):
    """The path names a folder, pipe, device or socket, not a file (permanent)."""


class FileTooLargeError(ImageError):
    """The file is over MAX_FILE_BYTES (permanent)."""


def open_photo_file(path: Path | str, *, max_bytes: int = MAX_FILE_BYTES) -> BinaryIO:
    """Open `path` for reading, never blocking and only if it is a regular file of a sane size.

    Raises PhotoMissingError when it is gone, NotRegularFileError / FileTooLargeError (both
    ImageError), or OSError (permission, I/O: the caller decides; usually transient).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError as exc:
        raise PhotoMissingError(path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = next((name for test, name in _TYPE_NAMES if test(st.st_mode)), "not a regular file")
            raise NotRegularFileError(f"not a regular file: {what}")
        if st.st_size > max_bytes:
            raise FileTooLargeError(
                f"file too large: {st.st_size / (1 << 30):.1f} GB (photomgr reads photos up to "
                f"{max_bytes / (1 << 30):.0f} GB)")
        if hasattr(os, "set_blocking"):  # a regular file never blocks; plain reads from here
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
