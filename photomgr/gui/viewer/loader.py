"""Decode photos for the viewer in a pool thread: a screen-sized image first, full size on demand.

Opening a photo must feel instant, so two sizes are decoded. The *screen* image (upright, long
side about the viewer's size in device pixels) uses libjpeg's DCT scaling and is all that
fitting to the window needs. The *full* image (every pixel) is decoded only for zooming in.
The photos either side of the current one are decoded ahead (prefetch), so stepping to them
paints from memory. Images leave the thread as QImage in Format_RGB32, which the raster
engine paints without a conversion; QPixmap is never made here.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QSize, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from photomgr.core.imaging.decode import decode_photo
from photomgr.core.imaging.errors import ImageError
from photomgr.gui.details.preview_loader import pil_to_qimage

log = logging.getLogger(__name__)

SCREEN = "screen"
FULL = "full"
FULL_MIN_SIDE = 1 << 15  # "no limit": decode_photo caps the long side at 2x this
SCREEN_KEEP = 6  # screen images kept: the current photo, its neighbours, a step back
FULL_KEEP = 2  # full images are big (24 MP = 96 MB): the current one and the last one


@dataclass(frozen=True)
class ViewImage:
    """A decoded photo: `image` upright in RGB32; `full_size` the photo's upright size in pixels."""

    image: QImage
    full_size: QSize


def decode_for_view(path: Path, kind: str, screen_side: int) -> ViewImage:
    """Decode `path` upright, screen-sized or full; raises ImageError/OSError with a reason."""
    min_side = FULL_MIN_SIDE if kind == FULL else max(64, screen_side // 2)
    decoded = decode_photo(path, min_side=min_side)
    image = pil_to_qimage(decoded.image).convertToFormat(QImage.Format.Format_RGB32)
    meta = decoded.metadata
    full = QSize(meta.width, meta.height) if meta.width and meta.height else image.size()
    return ViewImage(image, full)


class ViewerLoader(QObject):
    """`want()` names the photos to have ready, most wanted first; `loaded` says one arrived."""

    loaded = Signal(int, str, object, str)  # photo id, kind, ViewImage | None, error text
    _done = Signal(int, str, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one decode at a time: the wanted order is the priority
        self._lock = threading.Lock()
        self._wanted: list[tuple[int, str, Path]] = []
        self._cache: dict[str, OrderedDict[int, ViewImage]] = {SCREEN: OrderedDict(), FULL: OrderedDict()}
        self._failed: dict[tuple[int, str], str] = {}
        self._running = False
        self._closed = False
        self.screen_side = 1600
        self._done.connect(self._on_done)

    # -- GUI thread --------------------------------------------------------------------------
    def cached(self, photo_id: int, kind: str) -> ViewImage | None:
        with self._lock:
            cache = self._cache[kind]
            found = cache.get(photo_id)
            if found is not None:
                cache.move_to_end(photo_id)  # in use: evicted last
            return found

    def error(self, photo_id: int) -> str | None:
        with self._lock:
            return self._failed.get((photo_id, SCREEN))

    def want(self, jobs: Sequence[tuple[int, str, str | Path]]) -> None:
        """Replace the queue with `jobs` (photo id, SCREEN|FULL, path): first is decoded first."""
        start = False
        with self._lock:
            self._wanted = [(pid, kind, Path(path)) for pid, kind, path in jobs]
            if not self._running and not self._closed:
                self._running = start = True
        if start:
            self._pool.start(self._work)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running

    def set_screen_side(self, side: int) -> None:
        """A larger window needs larger screen images: those decoded smaller are dropped."""
        if side > self.screen_side:
            with self._lock:
                self._cache[SCREEN].clear()
        self.screen_side = max(self.screen_side, side)

    def forget(self) -> None:
        """Drop every decoded image and every remembered failure (the files may have changed)."""
        with self._lock:
            self._wanted = []
            for cache in self._cache.values():
                cache.clear()
            self._failed.clear()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._wanted = []
        self._pool.waitForDone(10_000)

    # -- pool thread -------------------------------------------------------------------------
    def _next_job(self) -> tuple[int, str, Path] | None:
        while self._wanted:
            pid, kind, path = self._wanted.pop(0)
            if pid not in self._cache[kind] and (pid, kind) not in self._failed \
                    and (pid, SCREEN) not in self._failed:
                return pid, kind, path
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                job = None if self._closed else self._next_job()
                if job is None:
                    self._running = False
                    return
                side = self.screen_side
            photo_id, kind, path = job
            result: ViewImage | None = None
            error = ""
            try:
                result = decode_for_view(path, kind, side)
            except (ImageError, OSError) as exc:
                error = str(exc) or type(exc).__name__
            except Exception as exc:  # shown in the viewer, never a crash
                log.exception("viewer decode of %s", path)
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if self._closed:
                    self._running = False
                    return
                if result is not None:
                    cache = self._cache[kind]
                    cache[photo_id] = result
                    while len(cache) > (FULL_KEEP if kind == FULL else SCREEN_KEEP):
                        cache.popitem(last=False)
                else:
                    self._failed[(photo_id, kind)] = error
            self._done.emit(photo_id, kind, result, error)

    @Slot(int, str, object, str)
    def _on_done(self, photo_id: int, kind: str, result: ViewImage | None, error: str) -> None:
        self.loaded.emit(photo_id, kind, result, error)
