"""The status bar's scan progress: a bar, "1234/2944 photos · 45.6/s · 1m05s left", and Cancel.

Also the model indicator: "Loading model…", then "Model: offline default" and its state
(embedding, photos left to embed); the Model menu switches it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from photomgr.core.scanning.scanner import LOADING_PHASE, ScanReport
from photomgr.gui.text import plural
from photomgr.gui.worker.results import ModelState, describe_model, model_status_text


def format_duration(seconds: float) -> str:
    """45s, 1m05s, 2h03m: short enough for a status bar."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def format_progress(done: int, total: int, rate: float, eta_s: float, phase: str = "analysing") -> str:
    if phase == LOADING_PHASE:
        return f"Loading the model to embed {plural(total, 'photo')}…"
    if phase == "walking" or total <= 0:
        return f"Looking for photos… {done:,} files found"
    # Photos: the scan counts by name, and a labels.csv next to the photos is not one.
    parts = [f"{done}/{total} photos"]
    if phase == "embedding":  # after the scan: photos that still need a vector for the model
        parts[0] = f"Embedding {done}/{total} photos"
    if rate > 0:
        parts.append(f"{rate:.1f}/s")
    if eta_s >= 0 and done < total:
        parts.append(f"{format_duration(eta_s)} left")
    return " · ".join(parts)


def scan_summary(report: ScanReport) -> str:
    if report.cancelled:
        head = f"Indexing cancelled: {plural(report.new, 'new photo')} kept; Resume indexing continues it"
    else:
        head = f"{plural(report.photos, 'photo')}: {report.new:,} new, {report.updated:,} updated, " \
               f"{report.moved:,} moved, {report.missing:,} missing"
    if report.errors:
        n = len(report.errors)
        head += f" · {n:,} file{'s' if n != 1 else ''} could not be read (select one to see why)"
    return head


class ScanStatus(QWidget):
    """Lives inside the QStatusBar; hidden while no scan runs."""

    cancel_requested = Signal()
    resume_requested = Signal()

    def __init__(self, status_bar: QStatusBar) -> None:
        super().__init__(status_bar)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.text = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan (Esc); photos recorded so far are kept")
        self.cancel_button.clicked.connect(self.cancel_requested)
        # After a cancelled (or killed) index: says so, and continues it in one click.
        self.resume_button = QPushButton("Resume indexing")
        self.resume_button.setToolTip("Indexing was stopped before it finished: look at the rest")
        self.resume_button.clicked.connect(self.resume_requested)
        self.resume_button.hide()
        self.model_label = QLabel("Loading model…")
        self.model_label.setToolTip("The model used to find similar photos and suggest labels")
        status_bar.addPermanentWidget(self.text)
        status_bar.addPermanentWidget(self.bar)
        status_bar.addPermanentWidget(self.cancel_button)
        status_bar.addPermanentWidget(self.resume_button)
        status_bar.addPermanentWidget(self.model_label)
        self.set_running(False)
        self.hide()  # only the child widgets placed in the status bar are shown

    def set_interrupted(self, roots: list[str]) -> None:
        """Offer to resume the index of `roots` (none: hide the offer)."""
        self.resume_button.setVisible(bool(roots))
        if roots:
            self.resume_button.setToolTip("Indexing was stopped before it finished; resume it for:\n"
                                          + "\n".join(roots))

    def set_running(self, running: bool) -> None:
        for widget in (self.bar, self.text, self.cancel_button):
            widget.setVisible(running)
        if running:
            self.resume_button.hide()
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

    @Slot(object)
    def on_model_state(self, state: ModelState) -> None:
        self.model_label.setText(model_status_text(state))
        tip = [f"Active model (tags, search, Find similar): {describe_model(state.active)}",
               f"Embedding new photos with: {describe_model(state.loaded)}",
               f"{state.vectors:,} photos embedded"]
        if state.pending:
            tip.append(f"{state.pending:,} photos still to embed with {describe_model(state.loaded)}")
        if state.detail:
            tip.append(state.detail)
        self.model_label.setToolTip("\n".join(tip))
