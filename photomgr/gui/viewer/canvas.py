"""The viewer's canvas: one photo fitted to the widget, or zoomed and panned.

Zoom is in screen pixels per photo pixel, so 1.0 is "1:1" whatever was decoded. Fitted, the
screen-sized image is scaled smoothly once per size and cached; zoomed, only the visible part
of the best image at hand (full size once decoded) is drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

ZOOM_STEP = 1.25
MAX_ZOOM = 16.0
MAX_FIT_ENLARGE = 2.0


class ImageCanvas(QWidget):
    zoom_changed = Signal()
    needs_full = Signal()  # zoomed past what the screen image holds: decode every pixel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)
        self._image: QImage | None = None  # the best image at hand
        self._full_size = QSize()  # the photo's upright size in pixels
        self._fitted: QImage | None = None  # _image scaled to fit, for the current widget size
        self._zoom: float | None = None  # None: fit to the widget
        self._centre = QPointF()  # the photo point (in photo pixels) at the widget's centre
        self._drag: QPointF | None = None
        self.message = ""
        self.painted = 0  # paints that drew a photo (tests read it)

    # -- contents ----------------------------------------------------------------------------
    def set_image(self, image: QImage | None, full_size: QSize | None = None, *, keep_view: bool = False,
                  message: str = "") -> None:
        """Show `image` (None: show `message`); a new photo starts fitted unless keep_view."""
        self._image = image
        self._fitted = None
        self.message = message
        if image is not None:
            self._full_size = QSize(full_size) if full_size is not None else image.size()
        if not keep_view:
            self._zoom = None
            self._centre = QPointF(self._full_size.width() / 2, self._full_size.height() / 2)
        self.zoom_changed.emit()
        self.update()

    def has_image(self) -> bool:
        return self._image is not None

    def image_size(self) -> QSize:
        """The size of the decoded image now shown (screen-sized or full)."""
        return self._image.size() if self._image is not None else QSize()

    # -- zoom ----------------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self._zoom is None

    def fit_zoom(self) -> float:
        w, h = self._full_size.width(), self._full_size.height()
        if w <= 0 or h <= 0:
            return 1.0
        # A small photo is enlarged at most 2x when fitted (as in the details panel): beyond
        # that it would only show its blur.
        return min(MAX_FIT_ENLARGE, self.width() / w, self.height() / h)

    def zoom(self) -> float:
        """Screen pixels per photo pixel now."""
        return self.fit_zoom() if self._zoom is None else self._zoom

    def fit(self) -> None:
        self._zoom = None
        self._centre = QPointF(self._full_size.width() / 2, self._full_size.height() / 2)
        self.zoom_changed.emit()
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom`, keeping the photo point under `anchor` (widget coordinates) in place."""
        if self._image is None:
            return
        zoom = max(min(self.fit_zoom(), 0.05), min(MAX_ZOOM, zoom))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        old = self.zoom()
        under = self._to_photo(anchor, old)
        self._zoom = zoom
        mid = QPointF(self.width() / 2, self.height() / 2)
        self._centre = under - (anchor - mid) / zoom
        self._clamp()
        if zoom * self._full_size.width() > self._image.width() * 1.01:
            self.needs_full.emit()
        self.zoom_changed.emit()
        self.update()

    def zoom_in(self, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * ZOOM_STEP, anchor)

    def zoom_out(self, anchor: QPointF | None = None) -> None:
        if self._zoom is not None and self._zoom / ZOOM_STEP <= self.fit_zoom():
            self.fit()
        else:
            self.set_zoom(self.zoom() / ZOOM_STEP, anchor)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def _to_photo(self, point: QPointF, zoom: float) -> QPointF:
        mid = QPointF(self.width() / 2, self.height() / 2)
        return self._centre + (point - mid) / zoom

    def _clamp(self) -> None:
        """Keep the photo on screen: centred along an axis it does not fill."""
        zoom = self.zoom()
        w, h = self._full_size.width(), self._full_size.height()
        half_w, half_h = self.width() / 2 / zoom, self.height() / 2 / zoom
        x = w / 2 if w <= 2 * half_w else min(max(self._centre.x(), half_w), w - half_w)
        y = h / 2 if h <= 2 * half_h else min(max(self._centre.y(), half_h), h - half_h)
        self._centre = QPointF(x, y)

    # -- events --------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps > 0:
            self.zoom_in(event.position())
        elif steps < 0:
            self.zoom_out(event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self.fitted:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            self._centre -= delta / self.zoom()
            self._clamp()
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-click toggles between fitted and 1:1 at the clicked point."""
        if self.fitted:
            self.set_zoom(1.0, event.position())
        else:
            self.fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fitted = None
        self._clamp()
        self.zoom_changed.emit()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        image = self._image
        if image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message)
            return
        zoom = self.zoom()
        fw, fh = self._full_size.width(), self._full_size.height()
        left = self.width() / 2 - self._centre.x() * zoom
        top = self.height() / 2 - self._centre.y() * zoom
        target = QRectF(left, top, fw * zoom, fh * zoom)
        if self._zoom is None:
            dpr = self.devicePixelRatioF()
            size = QSize(round(target.width() * dpr), round(target.height() * dpr))
            if self._fitted is None or self._fitted.size() != size:
                # Smooth once per size (area-like quality), then every repaint is a plain blit.
                self._fitted = image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation)
                self._fitted.setDevicePixelRatio(dpr)
            painter.drawImage(target.topLeft(), self._fitted)
        else:
            # Only the visible part of the photo is sampled, however large the photo.
            visible = target.intersected(QRectF(self.rect()))
            sx, sy = image.width() / fw, image.height() / fh
            source = QRectF((visible.x() - target.x()) / zoom * sx, (visible.y() - target.y()) / zoom * sy,
                            visible.width() / zoom * sx, visible.height() / zoom * sy)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 2.0)
            painter.drawImage(visible, image, source)
        self.painted += 1
