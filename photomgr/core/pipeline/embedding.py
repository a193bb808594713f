"""Batched embedding: decoded photos in, vectors in the database out.

The scanner hands each freshly decoded photo to an `EmbeddingSink` (so a new photo is decoded
once for both its thumbnail and the model); `embed_pending` catches up on photos that have no
vector for the model yet (a model switch, or a run that was killed). Both commit as they go,
so a killed run resumes without redoing finished photos.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from photomgr.core.imaging.decode import decode_photo
from photomgr.core.imaging.errors import TRANSIENT, ImageError, os_error_kind
from photomgr.core.library.descriptions import put_model as put_model_descriptions
from photomgr.core.library.transaction import DEFAULT_WAIT, WaitPolicy, write_transaction
from photomgr.core.library.vectors import PendingPhoto, VectorStore
from photomgr.core.models.base import Embedder, EmbeddingBatch
from photomgr.core.pipeline.lookahead import lookahead_map

if TYPE_CHECKING:  # imported where a batch is built: the CLI imports this module for every command
    import torch

DEFAULT_BATCH = 32
# While the model loads in the background, decoded photos wait for it, up to this many batches
# (a reduced decode is ~0.5 MB): the decode threads keep the other core busy meanwhile.
WAIT_FOR_MODEL_BATCHES = 4


@dataclass
class EmbedStats:
    embedded: int = 0
    failed: int = 0
    described: int = 0  # photos given a model's description (descriptions on)
    model_seconds: float = 0.0  # time inside the model's forward pass only

    @property
    def model_rate(self) -> float:
        return self.embedded / self.model_seconds if self.model_seconds > 0 else 0.0


@dataclass
class _Deferred:
    """A decoded photo that arrived while the model was still loading: its model input is made
    (on the scanning thread) once the model is there."""

    image: object


class EmbeddingSink:
    """Collects model inputs into batches and stores the vectors (a scanner `FrameSink`)."""

    def __init__(self, embedder: Embedder | Callable[[], Embedder], vectors: VectorStore, *,
                 batch_size: int = DEFAULT_BATCH, on_batch: Callable[[int], None] | None = None,
                 ready: Callable[[], bool] | None = None, wait: WaitPolicy = DEFAULT_WAIT) -> None:
        # A callable is asked for the model only when the first photo arrives, so a scan that
        # finds nothing new never loads it. With `ready`, the sink never waits for it: while
        # ready() is False a photo gets no model input (it stays pending, embedded after the
        # scan), so thumbnails and rows keep coming while a model loads in the background.
        self.ready = ready
        self._model: Embedder | None = None
        if isinstance(embedder, Embedder):
            self._model = model = embedder
            self._get: Callable[[], Embedder] = lambda: model
        else:
            self._get = embedder
        self._loading: threading.Thread | None = None
        self.vectors = vectors
        self.wait = wait  # the library's: --no-wait fails at once, else a message while waiting
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.stats = EmbedStats()
        self._ids: list[int] = []
        self._inputs: list[object] = []  # model inputs (tensors), or _Deferred photos

    @property
    def embedder(self) -> Embedder:
        if self._model is None:
            if self._loading is not None:
                self._loading.join()  # its error, if any, is raised by the call below
            if self._model is None:
                self._model = self._get()
        return self._model

    def start_loading(self) -> None:
        """Load the model in a background thread now (the scanner calls this once it knows there
        are photos to decode): importing torch and loading the weights take seconds of one core,
        while the decode threads use the other one. Photos decoded meanwhile wait as _Deferred."""
        if self.ready is not None or self._model is not None or self._loading is not None:
            return  # with `ready`, the owner loads the model itself

        def load() -> None:
            # A failure is not lost: the scanning thread's own call raises it, where it is handled.
            with contextlib.suppress(Exception):
                self._model = self._get()

        self._loading = threading.Thread(target=load, name="model-load", daemon=True)
        self._loading.start()

    def prepare(self, image: object) -> object | None:
        if self.ready is not None and not self.ready():
            return None
        if self._model is None and self._loading is not None:
            return _Deferred(image)
        return self.embedder.preprocess(image)  # type: ignore[arg-type]

    def add(self, photo_id: int, prepared: object) -> None:
        self._ids.append(photo_id)
        self._inputs.append(prepared)
        if len(self._ids) < self.batch_size:
            return
        if self._model is None and self._loading is not None \
                and len(self._ids) < WAIT_FOR_MODEL_BATCHES * self.batch_size:
            return  # the model is still loading: keep decoding meanwhile
        self._run()

    def flush(self) -> None:
        if self._ids:
            self._run()

    def _run(self) -> None:
        ids, inputs = self._ids, self._inputs
        self._ids, self._inputs = [], []
        model = self.embedder
        inputs = [model.preprocess(x.image) if isinstance(x, _Deferred) else x  # type: ignore[arg-type]
                  for x in inputs]
        for start in range(0, len(ids), self.batch_size):
            self._run_batch(ids[start:start + self.batch_size], inputs[start:start + self.batch_size])

    def _run_batch(self, ids: list[int], inputs: list[object]) -> None:
        import torch

        started = time.perf_counter()
        batch = self.embedder.embed_images(torch.stack(inputs))  # type: ignore[arg-type]
        self.stats.model_seconds += time.perf_counter() - started
        self._commit(ids, batch)
        self.stats.embedded += len(ids)
        if self.on_batch:
            self.on_batch(len(ids))

    def _commit(self, ids: list[int], batch: EmbeddingBatch) -> None:
        conn = self.vectors.conn
        if conn.in_transaction:  # the caller's transaction: it commits or rolls back
            self._store(ids, batch)
            return
        # A write transaction bumps the library revision: a window on the same library (another
        # process) sees the new vectors on its next sync().
        with write_transaction(conn, self.wait):
            self._store(ids, batch)

    def _store(self, ids: list[int], batch: EmbeddingBatch) -> None:
        """A batch's vectors, and its descriptions when the model wrote some (an embedder
        loaded with describe=True), in the caller's one transaction."""
        shared = self.embedder.info.shared_space
        inst = batch.instance
        rows = [(pid, batch.image[i], None if shared else batch.label[i], None if inst is None else inst[i])
                for i, pid in enumerate(ids)]
        self.vectors.put_many(self.embedder.info.model_id, rows)
        self._store_descriptions(ids, batch)

    def _store_descriptions(self, ids: list[int], batch: EmbeddingBatch) -> None:
        if batch.descriptions is not None and batch.description_model:
            put_model_descriptions(self.vectors.conn, batch.description_model,
                                   zip(ids, batch.descriptions, strict=True))
            self.stats.described += len(ids)


@dataclass
class _Prepared:
    photo: PendingPhoto
    tensor: torch.Tensor | None
    error: str | None
    transient: bool = False  # not recorded: the photo stays pending and the next run retries it


def embed_pending(
    embedder: Embedder,
    vectors: VectorStore,
    *,
    workers: int = 2,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    between_batches: Callable[[], None] | None = None,
    pending: Sequence[PendingPhoto] | None = None,
    sink: EmbeddingSink | None = None,
) -> EmbedStats:
    """Embed every usable photo that has no vector for this model; return what was done.

    Each batch of vectors is its own short transaction; `between_batches` runs after each one,
    with no transaction open (see Scanner.scan). `pending` and `sink` replace which photos and
    what is stored (the descriptions' catch-up, core/pipeline/describing.py); a photo that
    cannot be read is recorded as an embedding error only with the default sink.
    """
    model_id = embedder.info.model_id
    record = sink is None
    pending = vectors.pending(model_id) if pending is None else pending
    total = len(pending)
    if sink is None:
        sink = EmbeddingSink(embedder, vectors, batch_size=batch_size)
    if between_batches is not None:
        sink.on_batch = lambda _n: between_batches()

    def prepare(photo: PendingPhoto) -> _Prepared:
        try:
            decoded = decode_photo(Path(photo.path), min_side=embedder.input_size)
            return _Prepared(photo, embedder.preprocess(decoded.image), None)
        except FileNotFoundError:
            return _Prepared(photo, None, None)  # gone since the scan; the next scan marks it missing
        except ImageError as exc:
            return _Prepared(photo, None, str(exc), exc.transient)
        except Exception as exc:  # one photo must never stop the run
            return _Prepared(photo, None, f"{type(exc).__name__}: {exc}",
                             os_error_kind(exc) == TRANSIENT)

    items = lookahead_map(prepare, pending, workers=workers, ahead=batch_size * 2, cancel=cancel)
    for done, item in enumerate(items, start=1):
        if item.tensor is not None:
            sink.add(item.photo.id, item.tensor)
        elif item.error is not None:
            if record and not item.transient:
                vectors.record_errors(model_id, [(item.photo.id, item.error)])
            sink.stats.failed += 1
        if progress:
            progress(done, total)
    sink.flush()  # also after a cancel: work already decoded is kept, never thrown away
    return sink.stats
