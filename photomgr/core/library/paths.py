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


def looks_like_library(names: set[str]) -> bool:
    """Whether a folder holding these entries is a photomgr library (its database and its
    thumbnail folder): the scanner never walks into one, its thumbnails are not photos."""
    return DATABASE_NAME in names and THUMBNAILS_NAME in names


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
