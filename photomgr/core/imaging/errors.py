"""The one exception the imaging layer raises for a file that cannot be used as a photo.

A bad file is data, not a crash: scanners catch `ImageError` and store `str(error)` on the
photo's row, so the message must be a short, clear, single-line reason a user can act on.
"""

from __future__ import annotations

import errno
from pathlib import Path


class ImageError(Exception):
    """A file that cannot be used as a photo; str(e) is a clear one-line reason for the user."""


class PhotoMissingError(ImageError, FileNotFoundError):
    """The file vanished (moved or deleted) between the walk and the decode.

    It is also a `FileNotFoundError`, so callers that treat a vanished file differently from
    a broken one (the next scan marks it missing) can catch that first, while callers that
    only know `ImageError` still get one.
    """

    def __init__(self, path: Path | str) -> None:
        FileNotFoundError.__init__(self, errno.ENOENT, "file not found", str(path))

    def __str__(self) -> str:
        return f"file not found: {self.filename}"
