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


@dataclass(frozen=True)
class LibraryPaths:
    """The files of one library folder. Everything here is ours; originals live elsewhere."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "library.db"

    @property
    def thumbnails(self) -> Path:
        return self.root / "thumbnails"

    @property
    def index_dir(self) -> Path:
        """The FAISS index: derived from the vectors in the database, rebuilt when stale."""
        return self.root / "index"

    @property
    def cache_dir(self) -> Path:
        """Derived caches (for example a text bridge's class embeddings)."""
        return self.root / "cache"
