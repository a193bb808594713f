"""The gallery grid: a QListView of uniform tiles, painted by `GalleryDelegate`.

IconMode with static movement, uniform item sizes and batched layout: 100,000 photos lay out
in well under a second without blocking the GUI thread for more than a few tens of ms (see
bench/bench_gui.py, which measures it).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from photomgr.core.fspaths import display_path
from photomgr.core.library.gallery import GalleryRows
from photomgr.gui.gallery.model import CaptionRole, ErrorRole, GalleryModel, HashRole, IdRole, PathRole
from photomgr.gui.gallery.thumbnail_loader import ThumbnailLoader

THUMB = QSize(150, 150)  # the thumbnail area of a tile
PAD = 6
CAPTION_H = 18
CAPTION_LINES = 2  # at most, above the name: a duplicate's "#3 · 2.4 MB · 2019-06-01 · 4000×3000"
SEP = " · "


def pack_caption(caption: str, fits: Callable[[str], bool], max_lines: int = CAPTION_LINES) -> list[str]:
    """Break "a · b · c" between its parts into lines that fit (a part is never cut in two,
    so a size or a date is read whole); only the last line may still be too long."""
    lines: list[str] = []
    for part in caption.split(SEP):
        if lines and len(lines) <= max_lines and fits(lines[-1] + SEP + part):
            lines[-1] += SEP + part
        elif len(lines) < max_lines:
            lines.append(part)
        else:
            lines[-1] += SEP + part
    return lines

AnyIndex = QModelIndex | QPersistentModelIndex


class GalleryDelegate(QStyledItemDelegate):
    """Paints a tile: the cached pixmap (or a placeholder, or a broken-image mark) and the file name."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None,
                 captions: bool = True) -> None:
        super().__init__(parent)
        self._loader = loader
        self._captions = captions
        self._caption_lines = 0  # lines above the name for the view's captions (0: none)
        self._thumb = QSize(THUMB)
        self._size = QSize()
        self.set_thumb_size(THUMB.width())
        self.painted_pixmaps = 0  # tiles painted with a real thumbnail (tests, benchmarks)
        self.painted_tiles = 0  # tiles painted at all, placeholders included (first-paint timing)

    @property
    def tile_size(self) -> QSize:
        return QSize(self._size)

    @property
    def thumb_size(self) -> int:
        return self._thumb.width()

    def set_thumb_size(self, side: int) -> None:
        self._thumb = QSize(side, side)
        lines = 1 + self._caption_lines if self._captions else 0
        self._size = QSize(side + 2 * PAD, side + 2 * PAD + CAPTION_H * lines)

    def set_caption_lines(self, lines: int) -> bool:
        """Room for `lines` of caption above each name; True if the tile size changed."""
        if lines == self._caption_lines:
            return False
        self._caption_lines = lines
        self.set_thumb_size(self._thumb.width())
        return True

    def caption_lines_for(self, caption: str, metrics: QFontMetrics,
                          max_lines: int = CAPTION_LINES) -> list[str]:
        width = self._thumb.width()
        return pack_caption(caption, lambda text: metrics.horizontalAdvance(text) <= width,
                            max(1, max_lines))

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(self._size)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        self.painted_tiles += 1
        rect: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        palette = option.palette  # type: ignore[attr-defined]
        painter.save()
        if state & QStyle.StateFlag.State_Selected:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.highlight())
            painter.drawRoundedRect(rect.adjusted(2, 2, -2, -2), 6, 6)
        thumb = QRect(rect.x() + PAD, rect.y() + PAD, self._thumb.width(), self._thumb.height())
        key = index.data(HashRole)
        broken = bool(index.data(ErrorRole)) or key is None
        pixmap = None if broken else self._loader.pixmap(key)
        if pixmap is not None:
            size = pixmap.deviceIndependentSize().toSize()
            if size.width() > thumb.width() or size.height() > thumb.height():
                size = size.scaled(thumb.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(thumb.center())
            painter.drawPixmap(target, pixmap)
            self.painted_pixmaps += 1
        elif broken or self._loader.is_failed(key):
            _paint_broken(painter, thumb)
        else:
            painter.fillRect(thumb.adjusted(8, 8, -8, -8), QColor(128, 128, 128, 40))
        if self._captions:
            text_rect = QRect(rect.x() + PAD, thumb.bottom() + 2, self._thumb.width(), CAPTION_H)
            role = palette.highlightedText() if state & QStyle.StateFlag.State_Selected \
                else palette.text()
            painter.setPen(QPen(role.color()))
            metrics = painter.fontMetrics()
            caption = index.data(CaptionRole) if self._caption_lines else None
            lines = self.caption_lines_for(str(caption), metrics, self._caption_lines) if caption else []
            name = display_path(os.path.basename(str(index.data(PathRole) or ""))) if caption else \
                str(index.data(Qt.ItemDataRole.DisplayRole) or "")  # "0.53 · name.jpg": one line
            for text, elide in [*((line, Qt.TextElideMode.ElideRight) for line in lines),
                                (name, Qt.TextElideMode.ElideMiddle)]:
                painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                                 metrics.elidedText(text, elide, text_rect.width()))
                text_rect.translate(0, CAPTION_H)
        painter.restore()


def _paint_broken(painter: QPainter, thumb: QRect) -> None:
    """A broken-image mark: a grey frame torn by a zigzag, and a red cross."""
    box = thumb.adjusted(30, 40, -30, -40)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(150, 150, 150), 2))
    painter.setBrush(QColor(128, 128, 128, 30))
    painter.drawRect(box)
    mid = box.center().y()
    step = max(4, box.width() // 8)
    points = [QPoint(box.left() + i * step, mid + (6 if i % 2 else -6))
              for i in range(box.width() // step + 1)]
    painter.drawPolyline(points)
    painter.setPen(QPen(QColor(200, 50, 50), 3))
    c = QRect(box.right() - 18, box.top() + 4, 14, 14)
    painter.drawLine(c.topLeft(), c.bottomRight())
    painter.drawLine(c.topRight(), c.bottomLeft())


class GalleryView(QListView):
    """The grid. `apply_rows()` swaps in new contents and keeps the selection and scroll place."""

    def __init__(self, model: GalleryModel, loader: ThumbnailLoader,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._loader = loader
        self.setModel(model)
        self.delegate = GalleryDelegate(loader, self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)  # first: it resets flow, wrapping and movement
        self.setMovement(QListView.Movement.Static)  # no drag-to-rearrange: photos keep their order
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(40)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setMouseTracking(False)

        # Repaint once per burst of loaded thumbnails, not once per thumbnail.
        self._repaint = QTimer(self, singleShot=True, interval=30)
        self._repaint.timeout.connect(self.viewport().update)
        loader.loaded.connect(self._on_loaded)
        # After scrolling settles, queued loads for rows no longer visible are dropped.
        self._prune = QTimer(self, singleShot=True, interval=120)
        self._prune.timeout.connect(self.prune_requests)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._prune.start())

    def _fit_captions(self, captions: dict[int, str] | None) -> None:
        """Tiles tall enough for the view's longest caption, broken into lines between its parts;
        a caption of one part (a score) stays on the name's line."""
        longest = max(captions.values(), key=len) if captions else ""
        lines = len(self.delegate.caption_lines_for(longest, self.fontMetrics())) if SEP in longest else 0
        if self.delegate.set_caption_lines(min(lines, CAPTION_LINES)):
            self.doItemsLayout()
            self.viewport().update()

    def set_thumb_size(self, side: int) -> None:
        """Bigger or smaller tiles: thumbnails are decoded again at the new size, the current
        photo stays in view."""
        if side == self.delegate.thumb_size:
            return
        self.delegate.set_thumb_size(side)
        self._loader.set_fit(QSize(side, side))
        self._fit_captions(self._model.captions)
        self.doItemsLayout()
        if self.currentIndex().isValid():
            self.scrollTo(self.currentIndex(), QAbstractItemView.ScrollHint.EnsureVisible)
        self.viewport().update()

    @Slot(str)
    def _on_loaded(self, _key: str) -> None:
        if not self._repaint.isActive():
            self._repaint.start()

    def tiles_per_line(self) -> int:
        """How many tiles a line of the grid holds (uniform tiles: count those level with row 0)."""
        model = self._model
        n = model.rowCount()
        if n == 0:
            return 1
        top = self.visualRect(model.index(0)).top()
        per_line = 1
        while per_line < n and self.visualRect(model.index(per_line)).top() == top:
            per_line += 1
        return per_line

    def visible_rows(self) -> range:
        """Rows whose tiles intersect the viewport, with one line of margin above and below."""
        n = self._model.rowCount()
        if n == 0:
            return range(0)
        tile = self.delegate.tile_size
        first = 0
        for y in (4, tile.height() // 2):  # the top edge may fall between two lines of tiles
            index = self.indexAt(QPoint(tile.width() // 2, y))
            if index.isValid():
                first = index.row()
                break
        per_line = self.tiles_per_line()
        lines = self.viewport().height() // max(1, tile.height()) + 2
        lo = max(0, (first // per_line - 1) * per_line)
        return range(lo, min(n, lo + per_line * (lines + 1)))

    @Slot()
    def prune_requests(self) -> None:
        hashes = self._model.rows.hashes
        self._loader.retain(h for h in (hashes[r] for r in self.visible_rows()) if h)

    def selected_ids(self) -> list[int]:
        return sorted(int(i.data(IdRole)) for i in self.selectionModel().selectedIndexes())

    def current_id(self) -> int | None:
        index = self.currentIndex()
        return int(index.data(IdRole)) if index.isValid() else None

    def select_photo(self, photo_id: int, *, centre: bool = True) -> bool:
        """Make `photo_id` the current, only selected photo and scroll to it (to the middle, or
        only as far as needed); False if not shown."""
        row = self._model.row_of(photo_id)
        if row < 0:
            return False
        index = self._model.index(row)
        self.selectionModel().setCurrentIndex(index, self.selectionModel().SelectionFlag.ClearAndSelect)
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter if centre
                      else QAbstractItemView.ScrollHint.EnsureVisible)
        return True

    def apply_rows(self, rows: GalleryRows, captions: dict[int, str] | None = None, *,
                   keep_place: bool = True) -> None:
        """Show `rows`; with keep_place the selection and scroll position survive a reset."""
        model = self._model
        current = self.current_id()
        selected = self.selected_ids()
        anchor_row = self.indexAt(QPoint(8, 8)).row()
        anchor = model.id_at(anchor_row) if anchor_row >= 0 else None
        change = model.set_rows(rows, captions)
        self._fit_captions(captions)
        if change == "reset" and not keep_place:
            self.scrollToTop()
            return
        if change != "reset":
            return
        # A reset forgets the selection and scrolls to the top: put both back by photo id.
        selection = self.selectionModel()
        for row in model.rows_of(selected):
            selection.select(model.index(row), selection.SelectionFlag.Select)
        if current is not None and (row := model.row_of(current)) >= 0:
            selection.setCurrentIndex(model.index(row), selection.SelectionFlag.NoUpdate)
        if anchor is not None and (row := model.row_of(anchor)) >= 0:
            self.scrollTo(model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)
