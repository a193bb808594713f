"""The photo's tags in the details panel: each with its score and state, confirm / reject buttons,
and a row to tag the selected photos with any label (one photo or a multi-selection).

The tags arrive from the worker (`photo_tags`); clicking only emits `decide`, which the window
turns into an undoable command.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photomgr.gui.worker.results import CONFIRMED, REJECTED, UNTAGGED, LabelSummary, TagRow

STATE_TEXT = {"tagged": "auto", CONFIRMED: "confirmed", REJECTED: "rejected", UNTAGGED: "below threshold"}
STATE_COLOUR = {CONFIRMED: "#2e7d32", REJECTED: "#c62828", UNTAGGED: "#808080"}
SUGGESTIONS = 3  # best labels below their threshold, shown greyed: one click tags by hand


def shown_tags(tags: list[TagRow]) -> list[TagRow]:
    """Tagged, confirmed and rejected tags, best score first, then a few near misses."""
    decided = sorted((t for t in tags if t.state != UNTAGGED), key=lambda t: -t.score)
    near = sorted((t for t in tags if t.state == UNTAGGED and t.score >= 0.01), key=lambda t: -t.score)
    return decided + near[:SUGGESTIONS]


class TagsPanel(QWidget):
    # photo ids, label id, label name, new state (CONFIRMED | REJECTED | None to forget)
    decide = Signal(list, int, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo_id: int | None = None
        self.selection: list[int] = []
        self.tags: list[TagRow] = []
        self.labels: list[LabelSummary] = []
        self.buttons: dict[tuple[int, str], QToolButton] = {}  # (label id, "confirm"|"reject")

        self.title = QLabel("<b>Tags</b>")
        self.empty = QLabel("No tags")
        self.empty.setStyleSheet("color: palette(mid);")
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(2)

        self.bulk_label = QLabel("Add a tag:")
        self.bulk_label.setWordWrap(True)  # its own line: "3 selected photos" is never cut off
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        edit = self.combo.lineEdit()
        if edit is not None:
            edit.setPlaceholderText("label…")
            edit.returnPressed.connect(lambda: self._bulk(CONFIRMED))  # type a name, press Enter
        self.combo.editTextChanged.connect(lambda _text: self._update_enabled())
        completer = QCompleter(self.combo.model(), self.combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.combo.setCompleter(completer)
        self.tag_button = QPushButton("Tag")
        self.tag_button.setToolTip("Give the selected photos this label (confirmed by you)")
        self.tag_button.clicked.connect(lambda: self._bulk(CONFIRMED))
        self.reject_button = QPushButton("Reject")
        self.reject_button.setToolTip("The selected photos do not have this label")
        self.reject_button.clicked.connect(lambda: self._bulk(REJECTED))
        bulk = QHBoxLayout()
        bulk.addWidget(self.combo, 1)
        bulk.addWidget(self.tag_button)
        bulk.addWidget(self.reject_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.empty)
        layout.addWidget(self.grid_host)
        layout.addWidget(self.bulk_label)
        layout.addLayout(bulk)
        self.set_tags(None, [])
        self._update_enabled()  # nothing selected yet: nothing to tag

    # -- contents ------------------------------------------------------------------------------
    def set_labels(self, labels: list[LabelSummary]) -> None:
        self.labels = list(labels)
        text = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems([lab.name for lab in labels])
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText(text)
        self.combo.blockSignals(False)
        self._update_enabled()

    def set_selection(self, photo_ids: list[int]) -> None:
        self.selection = list(photo_ids)
        n = len(self.selection)
        self.bulk_label.setText("Add a tag:" if n <= 1 else f"Add a tag to {n:,} selected photos:")
        self._update_enabled()

    def typed_label(self) -> LabelSummary | None:
        """The label whose name is in the field (any case), or None."""
        name = self.combo.currentText().strip().casefold()
        return next((lab for lab in self.labels if lab.name.casefold() == name), None) if name else None

    def _update_enabled(self) -> None:
        """Tag and Reject only with photos selected and an existing label's name typed or chosen."""
        self.combo.setEnabled(bool(self.selection) and bool(self.labels))
        ready = bool(self.selection) and self.typed_label() is not None
        for widget in (self.tag_button, self.reject_button):
            widget.setEnabled(ready)

    @Slot(int, list)
    def set_tags(self, photo_id: int | None, tags: list[TagRow]) -> None:
        self.photo_id = photo_id
        self.tags = shown_tags(tags)
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.buttons.clear()
        for row, tag in enumerate(self.tags):
            self._add_row(row, tag)
        self.grid_host.setVisible(bool(self.tags))
        self.empty.setVisible(not self.tags)
        self.empty.setText("No tags" if photo_id is not None else "")

    def _add_row(self, row: int, tag: TagRow) -> None:
        name = QLabel(tag.label)
        if tag.state == UNTAGGED:
            name.setStyleSheet(f"color: {STATE_COLOUR[UNTAGGED]};")
        name.setToolTip(f"{tag.label}: score {tag.score:.3f}, {tag.state} ({tag.source})")
        score = QLabel(f"{tag.score:.2f}")
        state_text = STATE_TEXT.get(tag.state, tag.state)
        if tag.source == "manual" and tag.state == CONFIRMED:
            state_text = "added by you"
        state = QLabel(state_text)
        colour = STATE_COLOUR.get(tag.state)
        if colour:
            state.setStyleSheet(f"color: {colour};")
        confirm = self._button("✓", tag, CONFIRMED, "Confirm: the photo has this label")
        reject = self._button("✕", tag, REJECTED, "Reject: the photo does not have this label")
        for col, widget in enumerate((name, score, state, confirm, reject)):
            self.grid.addWidget(widget, row, col)
        self.grid.setColumnStretch(0, 1)

    def _button(self, text: str, tag: TagRow, state: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setChecked(tag.state == state)
        button.setAutoRaise(True)
        button.setToolTip(tip + (" (click again to undo your decision)" if tag.state == state else ""))
        button.clicked.connect(lambda _checked=False: self.toggle(tag.label_id, state))
        self.buttons[(tag.label_id, "confirm" if state == CONFIRMED else "reject")] = button
        return button

    # -- actions ---------------------------------------------------------------------------------
    def toggle(self, label_id: int, state: str) -> None:
        """Confirm or reject a tag of the shown photo; the same click again forgets the decision."""
        tag = next((t for t in self.tags if t.label_id == label_id), None)
        if self.photo_id is None or tag is None:
            return
        self.decide.emit([self.photo_id], label_id, tag.label, None if tag.state == state else state)

    def top_tag(self) -> TagRow | None:
        """The best tag the photo carries (or was refused), not a suggestion."""
        return next((t for t in self.tags if t.state != UNTAGGED), None)

    def _bulk(self, state: str) -> None:
        label = self.typed_label()
        if label is None or not self.selection:
            edit = self.combo.lineEdit()
            if edit is not None:
                edit.selectAll()
            return
        self.decide.emit(list(self.selection), label.id, label.name, state)
        # Emptied: one more click must not give the next photo the same label by accident.
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText("")
