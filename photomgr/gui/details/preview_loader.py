"""Decode the selected photo's large preview in a pool thread (decode_photo, upright, ~1024 px).

Only the newest request matters: clicking through photos quickly starts at most one decode
at a time, and results for photos no longer selected are dropped.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from photomgr.core.imaging.decode import decode_photo
from photomgr.core.imaging.errors import ImageError

log = logging.getLogger(__name__)

PREVIEW_MIN_SIDE = 1024
PREVIEW_MAX_SIDE = 2048  # a panoramic photo's long side is capped too: memory, and paint cost


def pil_to_qimage(image: Image.Image) -> QImage:
    """An RGB PIL image as a QImage that owns its pixels (safe to send across threads)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    w, h = rgb.size
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def load_preview(path: Path) -> QImage:
    """Decode `path` for the details panel; raises ImageError (or OSError) with a reason."""
    image = decode_photo(path, min_side=PREVIEW_MIN_SIDE).image
    if max(image.size) > PREVIEW_MAX_SIDE:
        image = image.copy()
        image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.BILINEAR)
    return pil_to_qimage(image)


class PreviewLoader(QObject):
    # photo id, QImage or None, error text ("" on success); on the loader's (GUI) thread
    ready = Signal(int, object, str)
    _done = Signal(int, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._wanted: tuple[int, Path] | None = None  # the newest request not yet started
        self._latest = -1  # the photo whose result will be shown
        self._running = False
        self._closed = False
        self._done.connect(self._on_done)

    def request(self, photo_id: int, path: str | Path) -> None:
        start = False
        with self._lock:
            self._latest = photo_id
            self._wanted = (photo_id, Path(path))
            if not self._running and not self._closed:
                self._running = start = True
        if start:
            self._pool.start(self._work)

    def forget(self) -> None:
        """Nothing selected any more: drop what is queued and what is being decoded."""
        with self._lock:
            self._wanted = None
            self._latest = -1

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._wanted = None
        self._pool.waitForDone(10_000)

    def _work(self) -> None:
        while True:
            with self._lock:
                job = self._wanted
                self._wanted = None
                if job is None or self._closed:
                    self._running = False
                    return
            photo_id, path = job
            image: QImage | None = None
            error = ""
            try:
                image = load_preview(path)
            except (ImageError, OSError) as exc:
                error = str(exc) or type(exc).__name__
            except Exception as exc:  # shown in the panel, never a crash
                log.exception("preview of %s", path)
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if self._closed:
                    self._running = False
                    return
            self._done.emit(photo_id, image, error)

    @Slot(int, object, str)
    def _on_done(self, photo_id: int, image: QImage | None, error: str) -> None:
        if photo_id == self._latest:
            self.ready.emit(photo_id, image, error)
