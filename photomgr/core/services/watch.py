"""Keep a library in step with its folders: a catch-up scan, then a rescan after each change.

Used by `photomgr watch`. All library work happens in the calling thread (it owns the
connection); the FolderWatcher's thread only hands over which roots changed. After each scan,
if the library's "keep XMP sidecars up to date" setting is on, sidecars under the rescanned
roots are merged (unchanged ones are not rewritten).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.ops.interop import InteropOps, SidecarReport
from photomgr.core.services.indexing import IndexResult, index_folders
from photomgr.core.services.model_choice import LazyEmbedder
from photomgr.core.watching import FolderWatcher


@dataclass(frozen=True)
class WatchScan:
    roots: tuple[Path, ...]
    result: IndexResult
    sidecars: SidecarReport | None  # None: keeping sidecars up to date is off
    first: bool  # the catch-up scan at start


def watch_library(library: Library, *, model: LazyEmbedder | None, stop: threading.Event,
                  on_scan: Callable[[WatchScan], None] | None = None,
                  on_start: Callable[[FolderWatcher], None] | None = None,
                  quiet: float = 1.0, max_delay: float = 10.0) -> None:
    """Watch the library's roots until `stop` is set."""
    roots = [Path(r) for r in PhotoStore(library.conn).roots()]
    changed: queue.Queue[list[Path]] = queue.Queue()
    watcher = FolderWatcher(roots, changed.put, ignore=[library.paths.root], quiet=quiet,
                            max_delay=max_delay)
    watcher.start()  # before the catch-up scan, so nothing that happens during it is missed
    try:
        if on_start is not None:
            on_start(watcher)
        _scan(library, roots, model, on_scan, first=True)
        while not stop.is_set():
            try:
                due = changed.get(timeout=0.2)
            except queue.Empty:
                continue
            while True:  # everything queued meanwhile goes into the same scan
                try:
                    due = due + changed.get_nowait()
                except queue.Empty:
                    break
            _scan(library, sorted(set(due)), model, on_scan, first=False)
    finally:
        watcher.stop()


def _scan(library: Library, roots: list[Path], model: LazyEmbedder | None,
          on_scan: Callable[[WatchScan], None] | None, *, first: bool) -> None:
    if not roots:
        return
    result = index_folders(library, roots, model=model)
    interop = InteropOps(library.conn, library.wait)
    sidecars = interop.write_sidecars(roots).value if interop.keep_updated() else None
    if on_scan is not None:
        on_scan(WatchScan(tuple(roots), result, sidecars, first))
