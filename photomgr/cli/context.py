"""What the query commands share: the open library, its operations, the active model, the index."""

from __future__ import annotations

import argparse
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from photomgr.cli.common import CliError, open_library
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoRow, PhotoStore
from photomgr.core.library.settings import Settings
from photomgr.core.ops.library_ops import LibraryOps
from photomgr.core.services.model_choice import ModelChoice, active_model_id, text_encoder_for_model_id
from photomgr.core.services.tagging import TagEngine

if TYPE_CHECKING:  # torch is imported only by the commands that embed a text
    from photomgr.core.models.base import TextEncoder


class CliContext:
    def __init__(self, args: argparse.Namespace) -> None:
        self.library: Library = open_library(args)
        self.settings = Settings(self.library.conn)
        self.photos = PhotoStore(self.library.conn)
        self._encoder: TextEncoder | None = None

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

    def encoder(self) -> TextEncoder:
        """The text side of the active model (label texts, search queries), loaded on first use:
        commands that only read scores never load a model."""
        if self._encoder is None:
            self._encoder = text_encoder_for_model_id(self.model_id, ModelChoice.read(self.settings),
                                                      cache_dir=self.library.paths.cache_dir)
        return self._encoder

    @cached_property
    def ops(self) -> LibraryOps:
        """The library's operations, pointed at the active model's vectors."""
        ops = LibraryOps(self.library)
        _ = self.model_id  # a clear error when nothing is embedded yet
        ops.use_active_model(self.encoder)
        return ops

    @property
    def engine(self) -> TagEngine:
        engine = self.ops.tags.engine
        assert engine is not None  # model_id exists, so use_active_model made one
        return engine

    def photo(self, path: Path) -> PhotoRow:
        row = self.photos.find(path)
        if row is None:
            raise CliError(f"{path}: not in the library (run `photomgr index` on its folder)")
        return row
