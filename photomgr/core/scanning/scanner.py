"""Incremental scan: what is new, changed, moved or gone since the last scan of these folders.

Unchanged files (same size and mtime) are never opened. A new file whose content hash matches
a photo that vanished is that photo, moved: it keeps its row, so its tags and vectors follow it.
A vanished file is marked missing, never deleted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from photomgr.core.imaging.thumbnails import ThumbnailCache
from photomgr.core.library.photos import KnownPhoto, PhotoRecord, PhotoStore
from photomgr.core.pipeline.analyze import Analyzed, analyze_file
from photomgr.core.pipeline.lookahead import lookahead_map
from photomgr.core.scanning.walker import FileEntry, WalkProblem, walk

COMMIT_EVERY = 200  # rows per transaction: fast, and a killed scan loses at most this many


@dataclass(frozen=True)
class ScanError:
    path: str
    error: str


@dataclass
class ScanReport:
    photos: int = 0
    new: int = 0
    unchanged: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    errors: list[ScanError] = field(default_factory=list)
    skipped: list[ScanError] = field(default_factory=list)  # files that are not photos at all
    cancelled: bool = False
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "photos": self.photos, "new": self.new, "unchanged": self.unchanged,
            "updated": self.updated, "moved": self.moved, "missing": self.missing,
            "errors": [{"path": e.path, "error": e.error} for e in self.errors],
            "skipped": [{"path": e.path, "reason": e.error} for e in self.skipped],
            "cancelled": self.cancelled, "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ScanProgress:
    phase: str  # "walking" | "analysing"
    done: int
    total: int  # 0 while unknown
    path: str = ""


class FrameSink(Protocol):
    """Receives each decoded photo's model input; the embedding pipeline implements this."""

    def prepare(self, image: object) -> object: ...  # in a decode thread
    def add(self, photo_id: int, prepared: object) -> None: ...  # in the scanning thread
    def flush(self) -> None: ...


ProgressFn = Callable[[ScanProgress], None]


class Scanner:
    def __init__(self, store: PhotoStore, thumbnails: ThumbnailCache, *,
                 skip: set[Path] | None = None, workers: int | None = None) -> None:
        self.store = store
        self.thumbnails = thumbnails
        self.skip = skip or set()
        self.workers = workers or max(2, os.cpu_count() or 2)

    def scan(self, roots: list[Path], *, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, sink: FrameSink | None = None) -> ScanReport:
        started = time.perf_counter()
        report = ScanReport()
        roots = [r.expanduser().absolute() for r in roots]
        known = self.store.known_under(roots)

        to_analyse: list[FileEntry] = []
        seen: set[str] = set()
        restored: list[int] = []
        for item in walk(roots, skip=self.skip):
            if isinstance(item, WalkProblem):
                report.errors.append(ScanError(str(item.path), item.reason))
                continue
            key = str(item.path)
            seen.add(key)
            old = known.get(key)
            if old is not None and old.size == item.size and old.mtime_ns == item.mtime_ns:
                report.unchanged += 1
                if old.missing:
                    restored.append(old.id)
            else:
                to_analyse.append(item)
            if progress and len(seen) % 500 == 0:
                progress(ScanProgress("walking", len(seen), 0, key))

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
        results = lookahead_map(
            lambda e: analyze_file(e, self.thumbnails, prepare),
            to_analyse, workers=self.workers, ahead=self.workers * 8, cancel=cancel)
        done = 0
        self.store.conn.execute("BEGIN IMMEDIATE")
        try:
            for result in results:
                photo_id = self._record(result, known, move_candidates, moved_ids, report)
                if sink is not None and photo_id is not None and result.prepared is not None:
                    sink.add(photo_id, result.prepared)
                done += 1
                if done % COMMIT_EVERY == 0:
                    self.store.conn.execute("COMMIT")
                    self.store.conn.execute("BEGIN IMMEDIATE")
                if progress:
                    progress(ScanProgress("analysing", done, len(to_analyse), str(result.entry.path)))
            if cancel is not None and cancel.is_set():
                report.cancelled = True
            else:
                gone = [p.id for p in vanished if p.id not in moved_ids]
                self.store.mark_missing(gone)
                report.missing = len(gone)
            self.store.conn.execute("COMMIT")
        except BaseException:
            self.store.conn.execute("ROLLBACK")
            raise
        if sink is not None:
            sink.flush()
        report.photos = self.store.count_present(roots)
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
            report.errors.append(ScanError(key, result.error or "vanished during the scan"))
            return None
        record = PhotoRecord(key, entry.size, entry.mtime_ns, result.content_hash,
                             result.metadata, result.error)
        if result.kind == "bad":
            report.errors.append(ScanError(key, result.error or "unknown error"))
        old = known.get(key)
        if old is not None:
            self.store.update(old.id, record)
            report.updated += 1
            return old.id if result.kind == "photo" else None
        candidates = move_candidates.get(result.content_hash or "")
        if candidates:
            moved = candidates.pop()
            moved_ids.add(moved.id)
            self.store.update(moved.id, record)
            report.moved += 1
            return None  # same content, so its vectors (if any) are still valid: nothing to embed
        photo_id = self.store.insert(record)
        if result.kind == "photo":
            report.new += 1
            return photo_id
        return None
