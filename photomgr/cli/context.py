"""What the query commands share: the open library, its active model, tags and the index."""

from __future__ import annotations

import argparse
from functools import cached_property
from pathlib import Path
from types import TracebackType

from photomgr.cli.common import CliError, open_library
from photomgr.core.index.vector_index import VectorIndex
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoRow, PhotoStore
from photomgr.core.library.settings import Settings
from photomgr.core.models.base import Embedder
from photomgr.core.search.near_copy import NearCopyCheck
from photomgr.core.services.model_choice import (
    ModelChoice,
    active_model_id,
    backend_of,
    load_for_model_id,
)
from photomgr.core.services.near_copies import library_copy_check
from photomgr.core.services.tagging import TagEngine
from photomgr.core.services.vector_index import load_or_build_index


class CliContext:
    def __init__(self, args: argparse.Namespace) -> None:
        self.library: Library = open_library(args)
        self.settings = Settings(self.library.conn)
        self.photos = PhotoStore(self.library.conn)
        self._encoder: Embedder | None = None

    def __enter__(self) -> CliContext:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.library.close()

    @cached_property
    def model_id(self) -> str:
        model_id = active_model_id(self.settings)
        if model_id is None:
            raise CliError("no photo has been embedded yet: run `photomgr index PATH` first")
        return model_id

    def encoder(self) -> Embedder:
        if self._encoder is None:
            self._encoder = load_for_model_id(self.model_id, ModelChoice.read(self.settings),
                                              cache_dir=self.library.paths.cache_dir)
        return self._encoder

    @cached_property
    def engine(self) -> TagEngine:
        return TagEngine(self.library.conn, self.model_id, backend_of(self.model_id), self.encoder)

    def index(self) -> VectorIndex:
        index = load_or_build_index(self.library.conn, self.library.paths.index_dir, self.model_id)
        if index is None:
            raise CliError("no photo has a vector yet: run `photomgr index PATH` first")
        return index

    def copy_check(self) -> NearCopyCheck:
        return library_copy_check(self.library.conn, self.library.paths.thumbnails)

    def photo(self, path: Path) -> PhotoRow:
        key = str(path.expanduser().resolve())
        row = self.photos.by_path(key)
        if row is None:
            raise CliError(f"{path}: not in the library (run `photomgr index` on its folder)")
        return row
