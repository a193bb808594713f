"""Incremental scan: what is new, changed, moved or gone since the last scan of these folders.

Unchanged files (same size and mtime) are never opened. A new file whose content hash matches
a photo that vanished is that photo, moved: it keeps its row, so its tags and vectors follow it.
A vanished file is marked missing, never deleted.

Writes happen in short batches, each its own transaction: analysed results are collected with
no transaction open, then written and committed at once. Between batches the caller's
`between_batches` hook runs with no transaction open, so a user's edit made there is its own
transaction and can never be rolled back by the scan. A killed scan loses at most the batch
in flight; the next scan redoes it (those files still look new or changed).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from photomgr.core.imaging.errors import PERMANENT, TRANSIENT
from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.fingerprints import FingerprintStore
from photomgr.core.library.photos import KnownPhoto, PhotoRecord, PhotoStore
from photomgr.core.pipeline.analyze import IMAGE_EXTENSIONS, Analyzed, analyze_file, promises_image
from photomgr.core.pipeline.lookahead import lookahead_map
from photomgr.core.scanning.walker import FileEntry, WalkProblem, walk

COMMIT_EVERY = 200  # rows per transaction at most: fast, and a killed scan loses at most this many
# ...and at most this long between commits, so `between_batches` (the GUI's user edits, another
# process waiting for the write lock) gets its turn often even when files are slow to decode.
COMMIT_SECONDS = 0.5


@dataclass(frozen=True)
class ScanError:
    path: str
    error: str
    kind: str = PERMANENT  # "permanent" | "transient" (retried by the next scan)


@dataclass
class ScanReport:
    photos: int = 0
    new: int = 0
    unchanged: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    errors: list[ScanError] = field(default_factory=list)  # met by this scan
    skipped: list[ScanError] = field(default_factory=list)  # files that are not photos at all
    cancelled: bool = False
    seconds: float = 0.0
    retried: int = 0  # unchanged files with an error analysed again (transient, or asked to)
    # Every photo under the scanned folders that holds an error now, met by this scan or not.
    held_errors: list[ScanError] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "photos": self.photos, "new": self.new, "unchanged": self.unchanged,
            "updated": self.updated, "moved": self.moved, "missing": self.missing,
            "errors": [_error_json(e) for e in self.errors],
            "skipped": [{"path": e.path, "reason": e.error} for e in self.skipped],
            "cancelled": self.cancelled, "seconds": round(self.seconds, 3),
            "retried": self.retried,
            "held_errors": [_error_json(e) for e in self.held_errors],
        }


def _error_json(e: ScanError) -> dict[str, str]:
    return {"path": e.path, "error": e.error, "kind": e.kind}


LOADING_PHASE = "loading model"  # index_folders: the scan is done, the model loading alongside is not


@dataclass(frozen=True)
class ScanProgress:
    phase: str  # "walking" | "analysing"
    done: int  # "walking": files found; "analysing": photos analysed
    # "analysing": photos to analyse, known by their names first (a labels.csv is not counted);
    # a file whose name does not say "photo" is added once its content says it is one.
    total: int  # 0 while unknown
    path: str = ""


class FrameSink(Protocol):
    """Receives each decoded photo's model input; the embedding pipeline implements this."""

    def prepare(self, image: object) -> object: ...  # in a decode thread
    def add(self, photo_id: int, prepared: object) -> None: ...  # in the scanning thread
    def flush(self) -> None: ...


ProgressFn = Callable[[ScanProgress], None]
BetweenBatchesFn = Callable[[], None]


class Scanner:
    def __init__(self, store: PhotoStore, thumbnails: ThumbnailCache, *,
                 skip: set[Path] | None = None, workers: int | None = None) -> None:
        self.store = store
        self.thumbnails = thumbnails
        self.skip = skip or set()
        self.workers = workers or max(2, os.cpu_count() or 2)
        self._scanned_roots: list[Path] = []  # of the scan under way
        self._library_roots: list[Path] = []  # every root the library had when it began

    def scan(self, roots: list[Path], *, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, sink: FrameSink | None = None,
             between_batches: BetweenBatchesFn | None = None,
             retry_errors: bool = False) -> ScanReport:
        """Scan `roots` and record what changed.

        `progress` and `between_batches` are both called with no transaction open, from the
        calling thread. `between_batches` runs after every committed batch (at least every
        COMMIT_SECONDS while files are being analysed) and now and then during the walk: the
        place for a caller to run queued user operations, each in its own transaction.

        Unchanged files whose error is transient are analysed again; with `retry_errors`,
        every unchanged file that has an error is.
        """
        started = time.perf_counter()
        report = ScanReport()
        roots = [r.expanduser().absolute() for r in roots]
        known = self.store.known_under(roots)
        self._scanned_roots = roots
        self._library_roots = [Path(r) for r in self.store.roots()]

        to_analyse: list[FileEntry] = []
        seen: set[str] = set()
        restored: list[int] = []
        for item in walk(roots, skip=self.skip):
            if isinstance(item, WalkProblem):
                report.errors.append(ScanError(str(item.path), item.reason, TRANSIENT))
                continue
            key = str(item.path)
            seen.add(key)
            old = known.get(key)
            if old is not None and old.size == item.size and old.mtime_ns == item.mtime_ns:
                if old.error is not None and (retry_errors or old.error_kind != PERMANENT):
                    report.retried += 1
                    to_analyse.append(item)
                    continue
                report.unchanged += 1
                if old.missing:
                    restored.append(old.id)
            else:
                to_analyse.append(item)
            if len(seen) % 500 == 0:
                if progress:
                    progress(ScanProgress("walking", len(seen), 0, key))
                if between_batches:
                    between_batches()

        # Photos that were here last time and are gone now may turn up under a new path.
        vanished = [p for path, p in known.items() if path not in seen and not p.missing]
        move_candidates: dict[str, list[KnownPhoto]] = {}
        for photo in [*vanished, *self.store.missing_with_hash()]:
            if photo.content_hash:
                move_candidates.setdefault(photo.content_hash, []).append(photo)
        moved_ids: set[int] = set()

        with self.store.transaction():
            for root in roots:
                if root.is_dir():
                    self.store.add_root(root)
            self.store.mark_present(restored)

        prepare = sink.prepare if sink is not None else None
        start_loading = getattr(sink, "start_loading", None)
        if start_loading is not None and any(e.path.suffix.lower() in IMAGE_EXTENSIONS
                                             for e in to_analyse):
            start_loading()  # the model loads while the first photos are decoded
        # With a model, decode at least two model batches ahead: the workers keep decoding
        # while the model runs, so the next batch is ready when it returns.
        ahead = self.workers * 8 if sink is None else max(self.workers * 8,
                                                          2 * _sink_batch(sink) + self.workers)
        results = lookahead_map(
            lambda e: analyze_file(e, self.thumbnails, prepare),
            to_analyse, workers=self.workers, ahead=ahead, cancel=cancel)
        batch = _Batch(self, known, move_candidates, moved_ids, report, sink, between_batches)
        done, total = 0, sum(1 for e in to_analyse if promises_image(e.path))
        try:
            for result in results:
                batch.add(result)
                if result.kind != "not_image":  # a photo, or a file that should have been one
                    done += 1
                    if not promises_image(result.entry.path):
                        total += 1
                if progress:
                    progress(ScanProgress("analysing", done, total, str(result.entry.path)))
                if batch.due():
                    batch.flush()
            batch.flush()
        except KeyboardInterrupt:
            batch.save_on_interrupt()
            raise
        if cancel is not None and cancel.is_set():
            report.cancelled = True
        else:
            gone = [p.id for p in vanished if p.id not in moved_ids]
            with self.store.transaction():
                self.store.mark_missing(gone)
            report.missing = len(gone)
        if sink is not None:
            sink.flush()
        report.photos = self.store.count_present(roots)
        report.held_errors = [ScanError(p.path, p.error or "", p.error_kind or PERMANENT)
                              for p in self.store.errors_under(roots)]
        report.seconds = time.perf_counter() - started
        return report

    def _record(self, result: Analyzed, known: dict[str, KnownPhoto],
                move_candidates: dict[str, list[KnownPhoto]], moved_ids: set[int],
                report: ScanReport) -> int | None:
        """Write one analysed file; return its photo id when it is a usable photo to embed."""
        entry = result.entry
        key = str(entry.path)
        if result.kind == "not_image":
            report.skipped.append(ScanError(key, result.error or "not an image"))
            return None
        if result.kind == "vanished":
            report.errors.append(ScanError(key, result.error or "vanished during the scan", TRANSIENT))
            return None
        kind = result.error_kind or PERMANENT
        record = PhotoRecord(key, entry.size, entry.mtime_ns, result.content_hash,
                             result.metadata, result.error, kind if result.error else None)
        if result.kind == "bad":
            report.errors.append(ScanError(key, result.error or "unknown error", kind))
        old = known.get(key)
        if old is not None:
            self.store.update(old.id, record)
            report.updated += 1
            return old.id if result.kind == "photo" else None
        candidates = move_candidates.get(result.content_hash or "")
        moved = candidates.pop() if candidates else self._moved_from_elsewhere(result.content_hash, moved_ids)
        if moved is not None:
            moved_ids.add(moved.id)
            self.store.update(moved.id, record)
            report.moved += 1
            return None  # same content, so its vectors (if any) are still valid: nothing to embed
        photo_id = self.store.insert(record)
        if result.kind == "photo":
            report.new += 1
            return photo_id
        return None


    def _moved_from_elsewhere(self, content_hash: str | None, moved_ids: set[int]) -> KnownPhoto | None:
        """A photo of another root (not scanned now) whose file is gone from its place, with this
        file's content: the user moved a folder from one root to another (`mv a/trip b/`, then
        index b). Without this the photos came in as new and their tags, rejections and
        descriptions stayed behind on rows of files that no longer exist.

        Only with evidence that the old place is online and the file really left it: the
        nearest folder of the old place that still exists holds something (an unplugged drive
        leaves its mount point as an empty folder, whether it is the root or a folder inside
        one), and no photo of that content outside the roots scanned now is still in its place
        (then this file is a copy, such as a backup)."""
        if not content_hash:
            return None
        taken: KnownPhoto | None = None
        for photo in self.store.present_with_hash(content_hash):
            place = Path(photo.path)
            if any(place.is_relative_to(r) for r in self._scanned_roots):
                continue  # under the roots scanned now: the walk itself says whether it moved
            if os.path.lexists(place):
                return None  # the original is still there: this one is a copy
            if taken is None and photo.id not in moved_ids and \
                    _left_an_online_folder(place, self._library_roots):
                taken = photo
        return taken


def _left_an_online_folder(place: Path, roots: list[Path]) -> bool:
    """Whether `place` (a file that is gone) was under a library root and its nearest existing
    folder is not empty: the folder is online and the file left it."""
    root = max((r for r in roots if place.is_relative_to(r)), key=lambda r: len(r.parts), default=None)
    if root is None:
        return False
    folder = place.parent
    while not os.path.isdir(folder):
        if folder == root or folder == folder.parent:
            return False  # the root itself is gone: a drive that is not plugged in
        folder = folder.parent
    try:
        with os.scandir(folder) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def _sink_batch(sink: FrameSink) -> int:
    """The sink's model batch size (an EmbeddingSink has one; any other sink: COMMIT_EVERY)."""
    return int(getattr(sink, "batch_size", COMMIT_EVERY))


class _Batch:
    """Analysed results waiting to be written; written and committed together by `flush`."""

    def __init__(self, scanner: Scanner, known: dict[str, KnownPhoto],
                 move_candidates: dict[str, list[KnownPhoto]], moved_ids: set[int],
                 report: ScanReport, sink: FrameSink | None,
                 between_batches: BetweenBatchesFn | None) -> None:
        self.scanner = scanner
        self.known = known
        self.move_candidates = move_candidates
        self.moved_ids = moved_ids
        self.report = report
        self.sink = sink
        self.between_batches = between_batches
        self.results: list[Analyzed] = []
        self.started = 0.0
        self.embeddable = 0  # results in this batch that carry a model input

    def add(self, result: Analyzed) -> None:
        if not self.results:
            self.started = time.monotonic()
            self.embeddable = 0
        self.results.append(result)
        if result.prepared is not None:
            self.embeddable += 1

    def due(self) -> bool:
        # A full model batch decoded is written at once, so the model never sits idle waiting
        # for the time-based commit (COMMIT_SECONDS) while its input is ready.
        if self.sink is not None and self.embeddable >= _sink_batch(self.sink):
            return True
        return len(self.results) >= COMMIT_EVERY or (
            bool(self.results) and time.monotonic() - self.started >= COMMIT_SECONDS)

    def flush(self, *, embed: bool = True) -> None:
        """Write the batch in one transaction, then (transaction closed) feed the sink, then
        give the caller its turn."""
        results, self.results = self.results, []
        to_embed: list[tuple[int, object]] = []
        if results:
            with self.scanner.store.transaction():
                for result in results:
                    photo_id = self.scanner._record(result, self.known, self.move_candidates,
                                                    self.moved_ids, self.report)
                    if photo_id is not None and result.prepared is not None:
                        to_embed.append((photo_id, result.prepared))
                derived = FingerprintStore(self.scanner.store.conn)
                derived.add((r.content_hash, *r.fingerprint)
                            for r in results if r.fingerprint and r.content_hash)
                derived.add_descriptors((r.content_hash, *r.copy_descriptor) for r in results
                                        if r.copy_descriptor and r.content_hash)
        # The model runs outside the scan's transaction: the sink commits its own short ones.
        if embed and self.sink is not None:
            for photo_id, prepared in to_embed:
                self.sink.add(photo_id, prepared)
        if self.between_batches is not None:
            self.between_batches()

    def save_on_interrupt(self) -> None:
        """Ctrl-C: keep the files already analysed (their vectors are made on the next run)."""
        if not self.results or self.scanner.store.conn.in_transaction:
            return
        self.between_batches = None
        # Interrupted anyway: whatever cannot be written now is redone by the next scan.
        with contextlib.suppress(Exception):
            self.flush(embed=False)
