"""The bar above the gallery: which filters are in force, the sort order and the tile size.

The sort and the size are remembered per library (in the library folder's gui.ini, so two
libraries keep their own); Ctrl+plus and Ctrl+minus change the size like the slider.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from photomgr.core.library.browsing import DEFAULT_SORT, SORTS

SIZE_MIN, SIZE_MAX, SIZE_STEP = 86, 246, 16  # steps of 16 from the default, 150
SIZE_DEFAULT = 150


class BrowseBar(QWidget):
    sort_changed = Signal(str, bool)  # sort key, descending
    size_changed = Signal(int)  # thumbnail side in logical pixels
    clear_folder = Signal()  # the ✕ next to "in <folder>"

    def __init__(self, settings_file: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = QSettings(str(settings_file), QSettings.Format.IniFormat) if settings_file else None
        self._ready = False  # no signals, no writes while the saved state is put back
        self.filters = QLabel()
        self.filters.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.filters.setStyleSheet("color: palette(dark);")
        self.clear_button = QToolButton()
        self.clear_button.setText("✕ folder")
        self.clear_button.setToolTip("Show this label or search for the whole library, not one folder")
        self.clear_button.setAutoRaise(True)
        self.clear_button.clicked.connect(self.clear_folder)
        self.clear_button.hide()
        self.sort = QComboBox()
        for key, text in SORTS.items():
            self.sort.addItem(text, key)
        self.sort.setToolTip("Order of the photos (a search is always best match first)")
        self.direction = QToolButton()
        self.direction.setCheckable(True)
        self.direction.setAutoRaise(True)
        self.direction.toggled.connect(self._on_direction)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(SIZE_MIN, SIZE_MAX)
        self.size_slider.setSingleStep(SIZE_STEP)
        self.size_slider.setPageStep(SIZE_STEP)
        self.size_slider.setFixedWidth(120)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+plus, Ctrl+minus)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.addWidget(self.filters, 1)
        layout.addWidget(self.clear_button)
        layout.addWidget(QLabel("Sort:"))
        layout.addWidget(self.sort)
        layout.addWidget(self.direction)
        layout.addWidget(QLabel("Size:"))
        layout.addWidget(self.size_slider)

        sort = str(self._value("sort", DEFAULT_SORT))
        self.sort.setCurrentIndex(max(0, self.sort.findData(sort)))
        self.direction.setChecked(str(self._value("descending", "false")).lower() == "true")
        self._on_direction(self.direction.isChecked())
        self.size_slider.setValue(int(str(self._value("thumb_size", SIZE_DEFAULT))))
        self.sort.currentIndexChanged.connect(lambda _i: self._emit_sort())
        self.size_slider.valueChanged.connect(self._on_size)
        self._update_direction_enabled()
        self._ready = True

    def _value(self, key: str, default: object) -> object:
        return self._settings.value(key, default) if self._settings is not None else default

    def _store(self, key: str, value: object) -> None:
        if self._settings is not None:
            self._settings.setValue(key, value)
            self._settings.sync()

    # -- state ---------------------------------------------------------------------------------
    def sort_key(self) -> str:
        return str(self.sort.currentData())

    def descending(self) -> bool:
        return self.direction.isChecked()

    def thumb_size(self) -> int:
        return self.size_slider.value()

    def set_filters(self, text: str, scoped_to_folder: bool) -> None:
        self.filters.setText(text)
        self.clear_button.setVisible(scoped_to_folder)

    def bigger(self) -> None:
        self.size_slider.setValue(self.size_slider.value() + SIZE_STEP)

    def smaller(self) -> None:
        self.size_slider.setValue(self.size_slider.value() - SIZE_STEP)

    # -- changes -------------------------------------------------------------------------------
    def _update_direction_enabled(self) -> None:
        self.direction.setEnabled(self.sort_key() != DEFAULT_SORT)

    @Slot(bool)
    def _on_direction(self, descending: bool) -> None:
        self.direction.setText("↓" if descending else "↑")
        self.direction.setToolTip("Descending (newest, Z–A, best first)" if descending
                                  else "Ascending (oldest, A–Z, weakest first)")
        self._emit_sort()

    def _emit_sort(self) -> None:
        if not self._ready:
            return
        self._update_direction_enabled()
        self._store("sort", self.sort_key())
        self._store("descending", "true" if self.descending() else "false")
        self.sort_changed.emit(self.sort_key(), self.descending())

    @Slot(int)
    def _on_size(self, value: int) -> None:
        snapped = SIZE_MIN + round((value - SIZE_MIN) / SIZE_STEP) * SIZE_STEP
        if snapped != value:
            self.size_slider.setValue(snapped)
            return
        self._store("thumb_size", value)
        self.size_changed.emit(value)
