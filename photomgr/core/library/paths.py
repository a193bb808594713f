"""Where a library lives on disk and what is inside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

LIBRARY_ENV = "PHOTOMGR_LIBRARY"


def default_library_dir() -> Path:
    """The library used when the user names none: $PHOTOMGR_LIBRARY, else the user data dir."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path("photomgr", appauthor=False) / "library"


DATABASE_NAME = "library.db"
THUMBNAILS_NAME = "thumbnails"


_SQLITE_HEADER = b"SQLite format 3\x00"


def is_library_folder(folder: Path, names: set[str]) -> bool:
    """Whether `folder` (holding the entries `names`) is a photomgr library: a thumbnails folder
    and a library.db that is an SQLite database. The scanner never walks into one: its
    thumbnails are not photos. Names alone are not enough: a photo folder that happens to
    hold a file called library.db must not vanish from a scan."""
    if DATABASE_NAME not in names or THUMBNAILS_NAME not in names:
        return False
    if not (folder / THUMBNAILS_NAME).is_dir():
        return False
    try:
        with open(folder / DATABASE_NAME, "rb") as fh:
            return fh.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False


@dataclass(frozen=True)
class LibraryPaths:
    """The files of one library folder. Everything here is ours; originals live elsewhere."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / DATABASE_NAME

    @property
    def thumbnails(self) -> Path:
        return self.root / THUMBNAILS_NAME

    @property
    def index_dir(self) -> Path:
        """The FAISS index: derived from the vectors in the database, rebuilt when stale."""
        return self.root / "index"

    @property
    def cache_dir(self) -> Path:
        """Derived caches (for example a text bridge's class embeddings)."""
        return self.root / "cache"
