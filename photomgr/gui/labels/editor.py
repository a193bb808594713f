"""The label editor (a dock): add, rename and delete labels, edit prompts, and a threshold slider
with a live count of the photos that would carry the label.

The count needs no round trip: the worker sends the label's sorted scores once
(`LabelScores`), and each slider move is one np.searchsorted here. Below the count, the photos
the new threshold would add or remove are shown as thumbnails (their hashes read off-thread).
Moving the slider unticks "Use the model's default": the slider never looks live while inert.
Apply turns the edits into one undoable step; the worker re-scores and the counts follow.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from photomgr.core.library import gallery as queries
from photomgr.gui.gallery.thumbnail_loader import ThumbnailLoader
from photomgr.gui.labels.undo import LabelActions
from photomgr.gui.text import plural
from photomgr.gui.worker.host import WorkerHost
from photomgr.gui.worker.query_runner import QueryRunner
from photomgr.gui.worker.results import LabelScores, LabelSummary

STEPS = 1000  # slider resolution: thresholds in steps of 0.001
IdRole = Qt.ItemDataRole.UserRole + 1
HashRole = Qt.ItemDataRole.UserRole + 2
ShownRole = Qt.ItemDataRole.UserRole + 3  # True once the item shows its thumbnail
CHANGES_SHOWN = 40  # thumbnails of added/removed photos shown at most (nearest the threshold)


def _fields(label: LabelSummary) -> tuple[object, ...]:
    """What the editor's fields show (a new photo count alone must not discard the user's edits)."""
    return label.id, label.name, label.prompts, label.threshold, label.custom_threshold


def parse_prompts(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class LabelEditor(QWidget):
    def __init__(self, host: WorkerHost, actions: LabelActions, parent: QWidget | None = None, *,
                 thumbnails: ThumbnailLoader | None = None, reader: QueryRunner | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.reader = reader
        self.host = host
        self.label_actions = actions
        self.summaries: list[LabelSummary] = []
        self.current: LabelSummary | None = None
        self.scores: LabelScores | None = None
        host.label_scores.connect(self._on_scores)

        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("New label, e.g. beach")
        self.new_name.returnPressed.connect(self.add_label)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_label)
        self.message = QLabel()
        self.message.setStyleSheet("color: #c62828;")
        self.message.setWordWrap(True)
        self.message.hide()
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._on_current)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the label (its decisions too; Ctrl+Z brings both back)")
        self.delete_button.clicked.connect(self.delete_label)

        self.name = QLineEdit()
        self.prompts = QPlainTextEdit()
        self.prompts.setPlaceholderText("One text per line, e.g. “a photo of my dog Rex”\n"
                                        "(“{}” stands for the name). Empty: the name.")
        self.prompts.setFixedHeight(72)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.valueChanged.connect(self._update_count)
        # A move by the user (drag, click, keys, wheel) means "my own threshold".
        self.slider.actionTriggered.connect(self._on_slider_moved_by_user)
        self.value = QLabel("–")
        self.value.setMinimumWidth(44)
        self.default_box = QCheckBox("Use the model's default")
        self.default_box.toggled.connect(self._on_default)
        self.count = QLabel("–")
        self.count.setObjectName("live-count")
        self.change_text = QLabel()
        self.change_text.setWordWrap(True)
        self.changes = QListWidget()
        self.changes.setViewMode(QListWidget.ViewMode.IconMode)
        self.changes.setIconSize(QSize(56, 56))
        self.changes.setFlow(QListWidget.Flow.LeftToRight)
        self.changes.setWrapping(False)
        self.changes.setFixedHeight(76)
        self.changes.setToolTip("The photos this threshold would add (green) or remove (red)")
        self.changes.hide()
        self._changes_timer = QTimer(self, singleShot=True, interval=120)
        self._changes_timer.timeout.connect(self._show_changes)
        self._change_ids: list[int] = []
        if thumbnails is not None:
            thumbnails.loaded.connect(self._on_thumbnail)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self._fill)

        add_row = QHBoxLayout()
        add_row.addWidget(self.new_name, 1)
        add_row.addWidget(self.add_button)
        slider_row = QHBoxLayout()
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.value)
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Prompts:", self.prompts)
        form.addRow("Threshold:", slider_row)
        form.addRow("", self.default_box)
        form.addRow("Matches:", self.count)
        form.addRow("", self.change_text)
        form.addRow(self.changes)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        self.fields = QWidget()
        fields_layout = QVBoxLayout(self.fields)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        fields_layout.addLayout(form)
        fields_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(add_row)
        layout.addWidget(self.message)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.fields)
        self.setMinimumWidth(300)
        self._fill()

    # -- the label list ----------------------------------------------------------------------
    @Slot(list)
    def set_labels(self, labels: list[LabelSummary]) -> None:
        self.summaries = list(labels)
        keep = self.current.id if self.current is not None else None
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for label in labels:
                item = QListWidgetItem(f"{label.name} ({label.photos:,})")
                item.setData(IdRole, label.id)
                self.list.addItem(item)
                if label.id == keep:
                    self.list.setCurrentItem(item)
        finally:
            self.list.blockSignals(False)
        fresh = next((s for s in labels if s.id == keep), None)
        old, self.current = self.current, fresh
        if fresh is None or old is None or _fields(fresh) != _fields(old):
            self._fill()  # deleted, or changed by Apply or an undo; not for a new count alone
        if fresh is not None and fresh != old:  # re-scored: the slider's count needs new scores
            self.host.request_scores(fresh.id)

    def select(self, label_id: int) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item is not None and item.data(IdRole) == label_id:
                self.list.setCurrentItem(item)
                return

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        label_id = item.data(IdRole) if item is not None else None
        self.current = next((s for s in self.summaries if s.id == label_id), None)
        self.scores = None
        self._fill()
        if self.current is not None:
            self.host.request_scores(self.current.id)

    # -- the fields ----------------------------------------------------------------------------
    @Slot()
    def _fill(self) -> None:
        label = self.current
        self.fields.setEnabled(label is not None)
        self.name.setText(label.name if label else "")
        self.prompts.setPlainText("\n".join(label.prompts) if label else "")
        self.default_box.blockSignals(True)
        self.default_box.setChecked(bool(label) and not label.custom_threshold)  # type: ignore[union-attr]
        self.default_box.blockSignals(False)
        self.slider.setEnabled(label is not None)
        self.slider.setValue(round(label.threshold * STEPS) if label else 0)
        self._update_count()

    def threshold(self) -> float:
        return self.slider.value() / STEPS

    @Slot(object)
    def _on_scores(self, scores: LabelScores) -> None:
        if self.current is not None and scores.label_id == self.current.id:
            self.scores = scores
            self._update_count()

    @Slot(int)
    def _on_slider_moved_by_user(self, _action: int) -> None:
        self.default_box.setChecked(False)

    @Slot(bool)
    def _on_default(self, checked: bool) -> None:
        if checked and self.scores is not None:
            self.slider.setValue(round(self.scores.default_threshold * STEPS))

    @Slot()
    def _update_count(self) -> None:
        t = self.threshold()
        self.value.setText(f"{t:.3f}")
        if self.current is None:
            self.count.setText("–")
        elif self.scores is None or self.scores.label_id != self.current.id:
            self.count.setText("counting…")
        else:
            n = self.scores.count_at(t)
            self.count.setText(f"{plural(n, 'photo')} at {t:.3f}")
        self._changes_timer.start()

    def change_ids(self) -> tuple[list[int], list[int]]:
        """(added, removed) photo ids at the slider's threshold against the label's own now."""
        if self.scores is None or self.current is None or self.scores.label_id != self.current.id:
            return [], []
        added, removed = self.scores.changes(self.threshold())
        return [int(i) for i in added], [int(i) for i in removed]

    @Slot()
    def _show_changes(self) -> None:
        added, removed = self.change_ids()
        if not added and not removed:
            self.change_text.setText("")
            self.changes.clear()
            self.changes.hide()
            self._change_ids = []
            return
        parts = []
        if added:
            parts.append(f"<span style='color:#2e7d32'>+{plural(len(added), 'photo')} would join</span>")
        if removed:
            parts.append(f"<span style='color:#c62828'>−{plural(len(removed), 'photo')} would leave</span>")
        self.change_text.setText(" · ".join(parts))
        shown = (added or removed)[:CHANGES_SHOWN]
        self._change_ids = shown
        self.changes.show()
        if self.reader is None:
            return
        joining = bool(added)
        self.reader.submit(lambda conn: queries.paths_and_hashes(conn, shown),
                           lambda found: self._fill_changes(shown, found, joining))

    def _fill_changes(self, ids: list[int], found: dict[int, tuple[str, str | None]], joining: bool) -> None:
        if ids != self._change_ids:
            return  # the slider moved on
        self.changes.clear()
        for pid in ids:
            path, content_hash = found.get(pid, ("", None))
            item = QListWidgetItem()
            item.setData(IdRole, pid)
            item.setData(HashRole, content_hash)
            item.setToolTip(("Would join: " if joining else "Would leave: ") + path)
            self._set_icon(item)
            self.changes.addItem(item)

    def _set_icon(self, item: QListWidgetItem) -> None:
        key = item.data(HashRole)
        pixmap = self.thumbnails.pixmap(key) if self.thumbnails is not None and key else None
        if pixmap is not None:
            item.setIcon(QIcon(pixmap))
            item.setData(ShownRole, True)
        elif not item.data(ShownRole):  # a grey square until the thumbnail is decoded
            blank = QPixmap(self.changes.iconSize())
            blank.fill(QColor(128, 128, 128, 60))
            item.setIcon(QIcon(blank))

    @Slot(str)
    def _on_thumbnail(self, key: str) -> None:
        if self.changes.isHidden():
            return
        for row in range(self.changes.count()):
            item = self.changes.item(row)
            if item is not None and item.data(HashRole) == key and not item.data(ShownRole):
                self._set_icon(item)

    def live_count(self) -> int | None:
        """The count the slider shows now (None until the scores arrived)."""
        if self.scores is None or self.current is None:
            return None
        return self.scores.count_at(self.threshold())

    # -- changes -----------------------------------------------------------------------------
    def _problem(self, name: str, exclude: int | None = None) -> str | None:
        if not name.strip():
            return "A label needs a name."
        taken = {s.name.casefold() for s in self.summaries if s.id != exclude}
        if name.strip().casefold() in taken:
            return f"A label named “{name.strip()}” already exists."
        return None

    def _show_problem(self, problem: str | None) -> bool:
        self.message.setText(problem or "")
        self.message.setVisible(problem is not None)
        return problem is None

    @Slot()
    def add_label(self) -> None:
        name = self.new_name.text().strip()
        if self._show_problem(self._problem(name)):
            self.label_actions.add_label(name)
            self.new_name.clear()

    @Slot()
    def delete_label(self) -> None:
        if self.current is not None:
            self.label_actions.delete_label(self.current.id, self.current.name)

    @Slot()
    def apply(self) -> None:
        label = self.current
        if label is None or not self._show_problem(self._problem(self.name.text(), exclude=label.id)):
            return
        threshold = None if self.default_box.isChecked() else self.threshold()
        prompts = parse_prompts(self.prompts.toPlainText())
        self.label_actions.edit_label(label, self.name.text(), prompts, threshold)
