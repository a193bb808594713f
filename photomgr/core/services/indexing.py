"""`index` as one operation: scan folders, embed (and describe) what is new, refresh the FAISS
index.

Used by the CLI and by the GUI's background worker, so both behave the same.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library import descriptions
from photomgr.core.library.database import Library
from photomgr.core.library.errors import LibraryError
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.settings import Settings
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models.base import Embedder, describer_status
from photomgr.core.models.spaces import adoptable_ids
from photomgr.core.ops.describing import descriptions_enabled
from photomgr.core.ops.interop import InteropOps, KeywordImport, removed_folders
from photomgr.core.pipeline.describing import describe_pending
from photomgr.core.pipeline.embedding import EmbeddingSink, EmbedStats, embed_pending
from photomgr.core.scanning.scanner import LOADING_PHASE, Scanner, ScanProgress, ScanReport
from photomgr.core.services.model_choice import (
    LazyEmbedder,
    ModelChoice,
    active_model_id,
    set_active_model_id,
)
from photomgr.core.services.vector_index import load_or_build_index


@dataclass
class IndexResult:
    scan: ScanReport
    model_id: str | None = None
    embed: EmbedStats = field(default_factory=EmbedStats)
    pending: int = 0  # photos still without a vector for the model (cancelled, or no model)
    seconds: float = 0.0
    keywords: KeywordImport | None = None  # XMP/IPTC keywords read after the scan
    # Descriptions are on but the model writes none: why (a sentence for the user), else None.
    describe_problem: str | None = None

    def as_json(self) -> dict[str, object]:
        out = self.scan.as_json()
        out.update({
            "model": self.model_id,
            "embedded": self.embed.embedded,
            "embed_errors": self.embed.failed,
            "pending": self.pending,
            "described": self.embed.described,
            "describe_problem": self.describe_problem,
            "model_seconds": round(self.embed.model_seconds, 3),
            "seconds": round(self.seconds, 3),
        })
        if self.keywords is not None:
            out["keywords"] = {k: v for k, v in self.keywords.as_json().items() if k != "keywords"}
        return out


def _adopt_stored_vectors(conn: sqlite3.Connection, vectors: VectorStore, model_id: str) -> None:
    """Rows of an older id with the same stored columns become this model's (new heads of the
    default model re-score from them without decoding a photo); an active old id follows."""
    old_ids = adoptable_ids(model_id)
    if old_ids and vectors.adopt(old_ids, model_id):
        settings = Settings(conn)
        if active_model_id(settings) in old_ids:
            set_active_model_id(settings, model_id)


def library_model(library: Library) -> LazyEmbedder:
    """The model an index run of `library` uses, loaded on first need: the chosen backend, with
    its captioner unless the library's descriptions are turned off."""
    settings = Settings(library.conn)
    return LazyEmbedder(ModelChoice.read(settings), cache_dir=library.paths.cache_dir,
                        describe=descriptions_enabled(settings))


def _describe_the_rest(conn: sqlite3.Connection, model: LazyEmbedder, result: IndexResult, *,
                       progress: Callable[[ScanProgress], None] | None,
                       cancel: threading.Event | None, workers: int,
                       between_batches: Callable[[], None] | None) -> None:
    """Photos that have the model's vectors but no description (indexed before descriptions
    existed, or while they were off) get one now; the model is loaded only if some need it."""
    if result.scan.cancelled or (cancel is not None and cancel.is_set()):
        return
    if not model.loaded and not descriptions.pending(conn, model.model_id):
        return
    embedder = model.get()
    result.describe_problem = describer_status(embedder)
    if result.describe_problem is not None:
        return

    def describe_progress(done: int, total: int) -> None:
        if progress:
            progress(ScanProgress("describing", done, total))

    stats = describe_pending(embedder, conn, progress=describe_progress, cancel=cancel,
                             workers=workers, between_batches=between_batches)
    result.embed.described += stats.described
    result.embed.model_seconds += stats.model_seconds


def index_folders(
    library: Library,
    roots: list[Path],
    *,
    model: LazyEmbedder | None = None,
    embedder: Embedder | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
    between_batches: Callable[[], None] | None = None,
    retry_errors: bool = False,
) -> IndexResult:
    """Scan `roots`, embed with `model` (loaded on first need) or an already loaded `embedder`;
    with neither, only photos and thumbnails are recorded.

    `between_batches` is called often, with no transaction open, between the scan's and the
    embedding's short write transactions: where the GUI worker runs queued user operations.
    `retry_errors` analyses again every file that holds an error (transient ones always are).
    """
    started = time.perf_counter()
    _refuse_library_folders(library, roots)
    lock = library.index_lock()  # one indexing run per library, across processes
    lock.acquire(wait=library.wait.wait, on_wait=library.wait.on_wait,
                 cancelled=cancel.is_set if cancel is not None else None,
                 while_waiting=between_batches)  # may wait for another process's whole index
    try:
        return _index_locked(library, roots, model=model, embedder=embedder, progress=progress,
                             cancel=cancel, workers=workers, between_batches=between_batches,
                             retry_errors=retry_errors,
                             started=started)
    finally:
        lock.release()


def _refuse_library_folders(library: Library, roots: list[Path]) -> None:
    """The library's own folder holds thumbnails (JPEGs) and the index, not photos: a root at or
    inside it is a mistake, which recorded every thumbnail as a photo of the library (the
    walk skips the library folder only when it meets it below a root)."""
    own = library.paths.root
    for root in roots:
        resolved = root.expanduser().resolve()
        if resolved == own or own in resolved.parents:
            raise LibraryError(f"{root} is the library's own folder {own} or inside it (thumbnails "
                               "and the index, not photos): choose a folder of photos")


def _index_locked(library: Library, roots: list[Path], *, model: LazyEmbedder | None,
                  embedder: Embedder | None, progress: Callable[[ScanProgress], None] | None,
                  cancel: threading.Event | None, workers: int | None,
                  between_batches: Callable[[], None] | None, started: float,
                  retry_errors: bool = False) -> IndexResult:
    if embedder is not None:
        model = LazyEmbedder.ready(embedder)
    conn = library.conn
    vectors = VectorStore(conn)
    if model is not None:
        _adopt_stored_vectors(conn, vectors, model.model_id)
    sink = None
    if model is not None:  # a model loading in the background is not waited for by the scan
        loading = model
        sink = EmbeddingSink(loading.get, vectors,
                             ready=(lambda: loading.loaded) if loading.in_background else None,
                             wait=library.wait)
    scanner = Scanner(PhotoStore(conn), ThumbnailCache(library.paths.thumbnails),
                      skip={library.paths.root, *removed_folders(conn, roots)}, workers=workers)
    report = scanner.scan(roots, progress=progress, cancel=cancel, sink=sink,
                          between_batches=between_batches, retry_errors=retry_errors)
    result = IndexResult(report)
    if not report.cancelled:  # keywords in XMP and IPTC become confirmed labels (ops/interop.py)
        result.keywords = InteropOps(conn, library.wait).import_keywords(
            roots, between_batches=between_batches).value
    if model is not None and model.in_background:
        if report.cancelled and not model.finished:
            model = None  # so nothing was embedded, and a cancelled run need not wait for it
        else:
            if not model.finished and progress:  # say what is waited for, and on what
                progress(ScanProgress(LOADING_PHASE, 0, len(vectors.pending(model.model_id))))
            model.wait()  # the scan did not wait for it: the photos it recorded meanwhile need it
            if model.error is not None:  # the caller learns why from the model (the GUI worker)
                model = None
    if model is not None and sink is not None:
        result.embed = sink.stats
        # Photos the scan did not decode (unchanged, moved in from elsewhere, or left over from
        # a killed run or another model) get their vectors now; only then is the model loaded.
        if not report.cancelled and vectors.pending(model.model_id):
            def embed_progress(done: int, total: int) -> None:
                if progress:
                    progress(ScanProgress("embedding", done, total))

            extra = embed_pending(model.get(), vectors, progress=embed_progress, cancel=cancel,
                                  workers=scanner.workers, between_batches=between_batches)
            result.embed.embedded += extra.embedded
            result.embed.failed += extra.failed
            result.embed.described += extra.described
            result.embed.model_seconds += extra.model_seconds
        if descriptions_enabled(Settings(conn)):
            _describe_the_rest(conn, model, result, progress=progress, cancel=cancel,
                               workers=scanner.workers, between_batches=between_batches)
        model_id = model.model_id
        result.model_id = model_id
        result.pending = len(vectors.pending(model_id))
        settings = Settings(conn)
        # A switch waits until every photo has the new model's vectors (the old ones serve until
        # then); with no model active yet there is nothing to wait for, and photos on a drive
        # that is not plugged in must not keep the rest unsearchable.
        if result.pending == 0 or (active_model_id(settings) is None and vectors.count(model_id)):
            set_active_model_id(settings, model_id)
        load_or_build_index(conn, library.paths.index_dir, model_id)
    result.seconds = time.perf_counter() - started
    return result
