"""Lazy thumbnail loading for the gallery: JPEG -> QImage in pool threads, QPixmap on the GUI thread.

The delegate asks `pixmap(key)` while painting. A miss queues a request; requests are served
newest first (LIFO), so the rows on screen now win over rows scrolled past a moment ago, and
`retain()` drops queued requests for rows that are no longer visible.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 1500  # pixmaps kept; ~150x112 px each, about 100 MB when full
MAX_PENDING = 1000  # queued requests beyond this drop the oldest (long gone from view)


def read_thumbnail(path: Path, fit: QSize) -> QImage | None:
    """Decode a thumbnail JPEG scaled to fit `fit`, in whatever thread calls it (never the GUI's)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(False)  # thumbnails are stored upright already
    size = reader.size()
    if size.isValid() and (size.width() > fit.width() or size.height() > fit.height()):
        # The JPEG plugin decodes at reduced size directly (libjpeg DCT scaling): cheap.
        reader.setScaledSize(size.scaled(fit, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        log.debug("thumbnail %s unreadable: %s", path, reader.errorString())
        return None
    return image


class ThumbnailLoader(QObject):
    """LRU cache of gallery pixmaps keyed by content hash, filled by a QThreadPool."""

    loaded = Signal(str)  # a key's pixmap is now cached, or the key is known to be unreadable
    _image_ready = Signal(str, object)  # from pool threads: key, QImage | None

    def __init__(self, path_for: Callable[[str], Path], fit: QSize, *,
                 capacity: int = DEFAULT_CAPACITY, threads: int = 2, device_pixel_ratio: float = 1.0,
                 parent: QObject | None = None) -> None:
        """`fit` is in logical pixels; on a HiDPI screen thumbnails decode at `fit` x the ratio."""
        super().__init__(parent)
        self._path_for = path_for
        self._dpr = max(1.0, device_pixel_ratio)
        self._fit = QSize(round(fit.width() * self._dpr), round(fit.height() * self._dpr))
        self._capacity = capacity
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._lock = threading.Lock()  # guards _pending, _in_flight, _draining, _generation
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._draining = 0
        self._generation = 0  # bumped by clear(): results of older requests are dropped
        self._closed = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))
        self._image_ready.connect(self._on_image)

    # -- GUI-thread API ------------------------------------------------------------------
    def cached(self, key: str) -> QPixmap | None:
        """The pixmap if cached, without queuing anything."""
        pixmap = self._cache.get(key)
        if pixmap is not None:
            self._cache.move_to_end(key)
        return pixmap

    def pixmap(self, key: str) -> QPixmap | None:
        """The cached pixmap, or None after queuing a load (a `loaded` signal follows)."""
        pixmap = self.cached(key)
        if pixmap is None and key not in self._failed:
            self.request(key)
        return pixmap

    def is_failed(self, key: str) -> bool:
        return key in self._failed

    def request(self, key: str) -> None:
        start = False
        with self._lock:
            if self._closed or key in self._in_flight:
                return
            if key in self._pending:
                self._pending.move_to_end(key)  # asked again: it is on screen now
                return
            self._pending[key] = None
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            if self._draining < self._pool.maxThreadCount():
                self._draining += 1
                start = True
        if start:
            self._pool.start(self._drain)

    def retain(self, keys: Iterable[str]) -> None:
        """Forget queued requests for anything not in `keys` (the rows now on screen)."""
        keep = set(keys)
        with self._lock:
            for key in [k for k in self._pending if k not in keep]:
                del self._pending[key]

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._in_flight)

    def cache_size(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        """Drop everything, e.g. when the tile size changes."""
        with self._lock:
            self._pending.clear()
            self._generation += 1
        self._cache.clear()
        self._failed.clear()

    def set_fit(self, fit: QSize) -> None:
        """Decode at a new size (logical pixels) from now on; everything cached is dropped."""
        with self._lock:
            self._fit = QSize(round(fit.width() * self._dpr), round(fit.height() * self._dpr))
        self.clear()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
        self._pool.waitForDone(5000)

    # -- pool threads --------------------------------------------------------------------
    def _drain(self) -> None:
        """One pool task: keep loading the newest pending request until none is left."""
        while True:
            with self._lock:
                if not self._pending or self._closed:
                    self._draining -= 1
                    return
                key, _ = self._pending.popitem(last=True)
                self._in_flight.add(key)
                generation = self._generation
                fit = QSize(self._fit)
            try:
                image = read_thumbnail(self._path_for(key), fit)
            except Exception:  # one unreadable thumbnail must not stop the pool
                log.exception("thumbnail %s", key)
                image = None
            with self._lock:
                self._in_flight.discard(key)
                stale = generation != self._generation or self._closed
            if not stale:
                self._image_ready.emit(key, image)

    # -- back on the GUI thread ----------------------------------------------------------
    @Slot(str, object)
    def _on_image(self, key: str, image: QImage | None) -> None:
        if image is None:
            self._failed.add(key)
        else:
            pixmap = QPixmap.fromImage(image)  # QPixmap only ever on the GUI thread
            pixmap.setDevicePixelRatio(self._dpr)
            self._cache[key] = pixmap
            self._cache.move_to_end(key)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        self.loaded.emit(key)
