"""Descriptions made outside a scan: the catch-up of an index run, and "describe these photos".

A new or changed photo gets its description from the scan's own forward pass (EmbeddingSink
stores `batch.descriptions` with the vectors). Photos embedded before descriptions existed, or
while they were off, have vectors but no description: `describe_pending` decodes them again and
stores only what the captioner wrote, in short transactions like `embed_pending`.
`describe_photos` does the same for a few chosen photos and returns the sentences instead of
writing them, so an operation (core/ops/describing.py) writes them in its own transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from photomgr.core.library import descriptions
from photomgr.core.library.vectors import PendingPhoto, VectorStore
from photomgr.core.models.base import Embedder, EmbeddingBatch
from photomgr.core.pipeline.embedding import DEFAULT_BATCH, EmbeddingSink, EmbedStats, embed_pending


class DescriptionSink(EmbeddingSink):
    """Stores only the descriptions of each batch: the photos already have their vectors."""

    def _store(self, ids: list[int], batch: EmbeddingBatch) -> None:
        self._store_descriptions(ids, batch)


class _CollectingSink(EmbeddingSink):
    """Keeps each batch's descriptions in memory and writes nothing."""

    def __init__(self, embedder: Embedder, vectors: VectorStore, batch_size: int) -> None:
        super().__init__(embedder, vectors, batch_size=batch_size)
        self.found: list[tuple[int, str]] = []
        self.model_id: str | None = None

    def _commit(self, ids: list[int], batch: EmbeddingBatch) -> None:
        if batch.descriptions is not None and batch.description_model:
            self.model_id = batch.description_model
            self.found.extend(zip(ids, batch.descriptions, strict=True))
            self.stats.described += len(ids)


@dataclass
class Described:
    """What `describe_photos` wrote: (photo id, sentence) pairs and the captioner's id."""

    texts: list[tuple[int, str]] = field(default_factory=list)
    model_id: str | None = None
    failed: int = 0  # photos that could not be read


def describe_pending(
    embedder: Embedder,
    conn: sqlite3.Connection,
    *,
    workers: int = 2,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    between_batches: Callable[[], None] | None = None,
) -> EmbedStats:
    """Describe every usable photo that has this model's vectors but no description.

    The caller checks first that `embedder` describes (models.base.describer_status): a model
    that writes none would decode every such photo for nothing.
    """
    vectors = VectorStore(conn)
    todo = descriptions.pending(conn, embedder.info.model_id)
    if not todo:
        return EmbedStats()
    sink = DescriptionSink(embedder, vectors, batch_size=batch_size)
    return embed_pending(embedder, vectors, workers=workers, progress=progress, cancel=cancel,
                         between_batches=between_batches, pending=todo, sink=sink)


def describe_photos(embedder: Embedder, conn: sqlite3.Connection, photos: Sequence[PendingPhoto], *,
                    workers: int = 2, batch_size: int = DEFAULT_BATCH,
                    cancel: threading.Event | None = None) -> Described:
    """The captioner's sentence for each of `photos` (decoded here), written nowhere."""
    vectors = VectorStore(conn)
    sink = _CollectingSink(embedder, vectors, batch_size)
    stats = embed_pending(embedder, vectors, workers=workers, cancel=cancel, pending=list(photos),
                          sink=sink)
    return Described(sink.found, sink.model_id, stats.failed)
