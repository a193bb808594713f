"""The one exception the imaging layer raises for a file that cannot be used as a photo.

A bad file is data, not a crash: scanners catch `ImageError` and store `str(error)` on the
photo's row, so the message must be a short, clear, single-line reason a user can act on.

Every error is permanent (the file's content: not an image, corrupt, over the pixel limit, a
format photomgr does not read) or transient (the machine's state: an I/O error, a permission,
a full disk, memory): a transient one is tried again by the next scan.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Literal

ErrorKind = Literal["permanent", "transient"]
PERMANENT: ErrorKind = "permanent"
TRANSIENT: ErrorKind = "transient"


class ImageError(Exception):
    """A file that cannot be used as a photo; str(e) is a clear one-line reason for the user."""

    transient: bool = False

    def __init__(self, *args: object, transient: bool | None = None) -> None:
        super().__init__(*args)
        if transient is not None:
            self.transient = transient

    @property
    def kind(self) -> ErrorKind:
        return TRANSIENT if self.transient else PERMANENT


class PhotoMissingError(ImageError, FileNotFoundError):
    """The file vanished (moved or deleted) between the walk and the decode.

    It is also a `FileNotFoundError`, so callers that treat a vanished file differently from
    a broken one (the next scan marks it missing) can catch that first, while callers that
    only know `ImageError` still get one.
    """

    transient = True

    def __init__(self, path: Path | str) -> None:
        FileNotFoundError.__init__(self, errno.ENOENT, "file not found", str(path))

    def __str__(self) -> str:
        return f"file not found: {self.filename}"


def os_error_kind(exc: BaseException) -> ErrorKind:
    """An OSError with an errno is the file system talking (I/O, permission, space): transient.
    MemoryError too. Anything else is about the content."""
    if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno is not None):
        return TRANSIENT
    return PERMANENT
