"""The status bar's scan progress: a bar, "1234/2944 photos · 45.6/s · 1m05s left", and Cancel.

Also the active-model indicator ("Model: offline default"); a later phase makes it switchable.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

DEFAULT_MODEL_TEXT = "Model: offline default"


def format_duration(seconds: float) -> str:
    """45s, 1m05s, 2h03m: short enough for a status bar."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def format_progress(done: int, total: int, rate: float, eta_s: float, phase: str = "analysing") -> str:
    if phase == "walking" or total <= 0:
        return f"Looking for photos… {done:,} files found"
    parts = [f"{done}/{total} photos"]  # no separators: the spec's "1234/2944 photos"
    if rate > 0:
        parts.append(f"{rate:.1f}/s")
    if eta_s >= 0 and done < total:
        parts.append(f"{format_duration(eta_s)} left")
    return " · ".join(parts)


class ScanStatus(QWidget):
    """Lives inside the QStatusBar; hidden while no scan runs."""

    cancel_requested = Signal()

    def __init__(self, status_bar: QStatusBar) -> None:
        super().__init__(status_bar)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.text = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan (Esc); photos recorded so far are kept")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.model_label = QLabel(DEFAULT_MODEL_TEXT)
        self.model_label.setToolTip("The model used to find similar photos and suggest labels")
        status_bar.addPermanentWidget(self.text)
        status_bar.addPermanentWidget(self.bar)
        status_bar.addPermanentWidget(self.cancel_button)
        status_bar.addPermanentWidget(self.model_label)
        self.set_running(False)
        self.hide()  # only the child widgets placed in the status bar are shown

    def set_running(self, running: bool) -> None:
        for widget in (self.bar, self.text, self.cancel_button):
            widget.setVisible(running)
        if running:
            self.bar.setRange(0, 0)  # busy until the first count arrives
            self.text.setText("Starting…")
            self.cancel_button.setEnabled(True)

    @Slot(int, int, float, float, str)
    def on_progress(self, done: int, total: int, rate: float, eta_s: float, phase: str) -> None:
        if total > 0 and phase != "walking":
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)
        self.text.setText(format_progress(done, total, rate, eta_s, phase))

    def set_cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.text.setText("Cancelling…")
