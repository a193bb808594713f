"""The details panel: a large preview of the selected photo, its description (editable in place),
its tags and its facts (EXIF, file, error).

Everything arrives asynchronously: the facts from a QueryRunner, the preview from a
PreviewLoader, the tags (scores, decisions) from the worker. The gallery thumbnail stands in
for the preview while it decodes.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photomgr.core.fspaths import display_path
from photomgr.core.library.photos import PhotoRow
from photomgr.gui.details.descriptions import DescriptionEdit
from photomgr.gui.details.preview_loader import PreviewLoader
from photomgr.gui.details.tags_panel import TagsPanel
from photomgr.gui.worker.results import TagRow

FIELDS = ("Name", "Folder", "Date taken", "Camera", "Dimensions", "File size", "Format", "GPS")


class PreviewLabel(QLabel):
    """Shows one pixmap scaled to fit, rescaled when the panel is resized."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(200, 180))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)

    def set_image(self, pixmap: QPixmap | None, text: str = "") -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.clear()
            self.setText(text)
        else:
            self._rescale()

    def has_image(self) -> bool:
        return self._pixmap is not None

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is not None and not self._pixmap.isNull():
            # A small photo is enlarged at most 2x: beyond that it only shows its blur.
            box = self.size().boundedTo(self._pixmap.deviceIndependentSize().toSize() * 2)
            dpr = self.devicePixelRatioF()
            scaled = self._pixmap.scaled(box * dpr, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)
            scaled.setDevicePixelRatio(dpr)
            self.setPixmap(scaled)


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def describe(row: PhotoRow) -> dict[str, str]:
    """The panel's text for each field ('' hides nothing: an unknown value shows as a dash)."""
    camera = " ".join(p for p in (row.camera_make, row.camera_model) if p)
    if row.camera_make and row.camera_model and row.camera_model.startswith(row.camera_make):
        camera = row.camera_model  # "Canon Canon EOS 5D" reads badly
    gps = ""
    if row.gps_lat is not None and row.gps_lon is not None:
        gps = f"{row.gps_lat:.5f}, {row.gps_lon:.5f}"
    return {
        "Name": display_path(os.path.basename(row.path)),  # bytes not UTF-8 as \xNN, not U+FFFD
        "Folder": display_path(os.path.dirname(row.path)),
        "Date taken": (row.date_taken or "").replace("T", " "),
        "Camera": camera,
        "Dimensions": f"{row.width} × {row.height}" if row.width and row.height else "",
        "File size": format_size(row.size),
        "Format": (row.format or "").upper(),
        "GPS": gps,
    }


class DetailsPanel(QWidget):
    def __init__(self, preview: PreviewLoader,
                 thumbnail: Callable[[str], QPixmap | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preview_loader = preview
        self._thumbnail = thumbnail
        self.photo_id: int | None = None
        self.row: PhotoRow | None = None
        preview.ready.connect(self._on_preview)

        self.preview = PreviewLabel(self)
        self.preview.setText("No photo selected")
        self.values: dict[str, QLabel] = {}
        facts = QWidget()
        form = QFormLayout(facts)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in FIELDS:
            label = QLabel("–")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[name] = label
            form.addRow(f"{name}:", label)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        form.addRow(self.error)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(facts)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.tags = TagsPanel()
        self.description = DescriptionEdit()  # filled by gui/details/descriptions.DescriptionViews
        layout.addWidget(self.preview, 3)
        layout.addWidget(self.description)
        layout.addWidget(self.tags)
        layout.addWidget(scroll, 2)
        self.setMinimumWidth(260)

    def clear(self) -> None:
        self.photo_id = None
        self.row = None
        self._preview_loader.forget()
        self.preview.set_image(None, "No photo selected")
        for label in self.values.values():
            label.setText("–")
        self.error.hide()
        self.tags.set_tags(None, [])
        self.description.show_loading(None)

    def show_loading(self, photo_id: int, content_hash: str | None) -> None:
        """A photo was selected: show its thumbnail at once; facts and preview follow."""
        self.photo_id = photo_id
        self.row = None
        thumb = self._thumbnail(content_hash) if content_hash else None
        self.preview.set_image(thumb, "Loading…")
        if self.tags.photo_id != photo_id:
            self.tags.set_tags(photo_id, [])

    @Slot(int, list)
    def show_tags(self, photo_id: int, tags: list[TagRow]) -> None:
        """The photo's tags arrived from the worker; ignored if another photo is selected by now."""
        if photo_id == self.photo_id:
            self.tags.set_tags(photo_id, tags)

    @Slot(object)
    def show_row(self, row: PhotoRow | None) -> None:
        """The facts arrived (on the GUI thread); ignored if another photo is selected by now."""
        if row is None or row.id != self.photo_id:
            return
        self.row = row
        for name, text in describe(row).items():
            self.values[name].setText(text or "–")
        self.values["Name"].setToolTip(row.path)
        if row.error:
            self.error.setText(f"Error: {row.error}")
            self.error.show()
            self.preview.set_image(None, "This file could not be read")
        else:
            self.error.hide()
            self._preview_loader.request(row.id, row.path)

    @Slot(int, object, str)
    def _on_preview(self, photo_id: int, image: QImage | None, error: str) -> None:
        if photo_id != self.photo_id:
            return
        if image is not None:
            self.preview.set_image(QPixmap.fromImage(image))
        else:
            self.preview.set_image(None, "Preview unavailable")
            self.error.setText(f"Preview failed: {error}")
            self.error.show()
