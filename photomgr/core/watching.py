"""Watched folders: notice new, changed, moved and deleted files under the library's roots.

watchdog's native observer (inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW on
Windows) tells us about changes, so nothing polls a large tree. Events are debounced: a burst
(a camera import of 500 files, a sync client catching up) becomes one rescan once the folder
has been quiet for `quiet` seconds, and a steady trickle still rescans every `max_delay`
seconds. What to rescan is the set of library roots that saw a change: a scan of an unchanged
root is a cheap stat walk (see docs/benchmarks.md, "Incremental re-index"), and scanning whole
roots keeps move detection (a file leaving one folder and arriving in another) intact.

Qt-free: `photomgr watch` drives it from the command line, the window from its worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

QUIET_SECONDS = 1.0
MAX_DELAY_SECONDS = 10.0


def _interesting(path: str) -> bool:
    """Changes worth a rescan: not hidden files (our own atomic-write temporaries start with a
    dot, as do most tools' partial downloads) and not SQLite's side files."""
    name = path.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith(".") and not name.endswith(("-journal", "-wal", "-shm"))


class _Collector(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading a file changes nothing (the scanner itself opens files)
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        for raw in paths:
            path = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
            if path and _interesting(path):
                self.watcher.noticed(Path(path))


class FolderWatcher:
    """Calls `on_change(roots)` from its own thread after changes under `roots` settle.

    `ignore` holds folders whose changes never count (the library folder, if it lies inside a
    root: its thumbnails and database change with every scan).
    """

    def __init__(self, roots: Iterable[Path], on_change: Callable[[list[Path]], None], *,
                 ignore: Iterable[Path] = (), quiet: float = QUIET_SECONDS,
                 max_delay: float = MAX_DELAY_SECONDS) -> None:
        self.roots = sorted({Path(r) for r in roots}, key=lambda p: len(p.parts))
        self.on_change = on_change
        self.ignore = [Path(p) for p in ignore]
        self.quiet = quiet
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._pending: set[Path] = set()
        self._first = 0.0
        self._last = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._thread: threading.Thread | None = None
        self.problems: list[str] = []  # roots that could not be watched, and why

    def _root_of(self, path: Path) -> Path | None:
        if any(path == i or i in path.parents for i in self.ignore):
            return None
        # The deepest root containing the path: overlapping roots scan the narrowest one.
        for root in sorted(self.roots, key=lambda p: -len(p.parts)):
            if path == root or root in path.parents:
                return root
        return None

    def noticed(self, path: Path) -> None:
        root = self._root_of(path)
        if root is None:
            return
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._first = now
            self._pending.add(root)
            self._last = now
        self._wake.set()

    def start(self) -> None:
        observer = Observer()
        observer.daemon = True
        observer.start()  # first: a watch scheduled on a running observer fails on its own
        handler = _Collector(self)
        for root in self.roots:
            if not root.is_dir():  # a drive that is not plugged in: its photos wait, unwatched
                self.problems.append(f"{root}: not present, not watched")
                continue
            try:
                observer.schedule(handler, str(root), recursive=True)
            except OSError as exc:  # vanished meanwhile, or out of inotify watches
                self.problems.append(f"{root}: cannot watch ({exc})")
        self._observer = observer
        self._thread = threading.Thread(target=self._debounce, name="photomgr-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _take_if_settled(self) -> tuple[list[Path], float]:
        """(roots to rescan now, seconds to wait before looking again)."""
        with self._lock:
            if not self._pending:
                return [], 3600.0
            now = time.monotonic()
            quiet_for = now - self._last
            waited = now - self._first
            if quiet_for >= self.quiet or waited >= self.max_delay:
                roots = sorted(self._pending)
                self._pending.clear()
                return roots, 0.0
            return [], min(self.quiet - quiet_for, self.max_delay - waited)

    def _debounce(self) -> None:
        while not self._stop.is_set():
            roots, wait = self._take_if_settled()
            if roots:
                try:
                    self.on_change(roots)
                except Exception:  # a failed rescan must not end the watching
                    log.exception("rescan after a change failed")
                continue
            self._wake.wait(timeout=wait)
            self._wake.clear()
