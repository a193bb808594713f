"""The first-run offer of the better model: a strip above the gallery, never a blocking dialog.

While the offline default model is in use and CLIP's weights are not on this machine, it says
in one line what the default can and cannot recognise and offers "Download CLIP ViT-B-32" with
a progress bar and Cancel. The download is the same core code as `photomgr model fetch`
(resolve_clip_weights) and runs in a plain thread: the worker (scans, tags) is never held up.
When the weights are in, "Use CLIP" switches (the photos are re-embedded in the background).
"Not now" hides the strip for this library (gui.ini).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from photomgr.core.models.base import DownloadCancelled, ModelUnavailable
from photomgr.gui.worker.results import ModelState

DEFAULT_CAN = ("Tags use the offline default model: it recognises about 1,000 everyday objects, "
               "animals and scenes, but not faces, places, styles or your own names for things.")
CLIP_SIZE = "600 MB"


def fetch_clip(pretrained: str, progress: object, cancel: threading.Event) -> Path:
    """`photomgr model fetch`'s core call (kept here so tests can stand in for the network)."""
    from photomgr.core.models.clip_weights import resolve_clip_weights

    return resolve_clip_weights("ViT-B-32", pretrained, allow_download=True,
                                progress=progress, cancel=cancel)  # type: ignore[arg-type]


class _Signals(QObject):
    progress = Signal(int, int)  # bytes done, total (0: unknown)
    finished = Signal(object, str)  # path or None, error ("" when done, "cancelled")


class ModelOffer(QFrame):
    use_clip = Signal(str)  # the downloaded weights' pretrained tag: switch to CLIP now

    def __init__(self, settings_file: Path | None = None, pretrained: str = "laion2b_s34b_b79k",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model-offer")
        self.setStyleSheet("#model-offer { background: palette(alternate-base); border-radius: 4px; }")
        self._settings = QSettings(str(settings_file), QSettings.Format.IniFormat) if settings_file else None
        self.pretrained = pretrained
        self._cancel: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._signals = _Signals()
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self.text = QLabel(DEFAULT_CAN)
        self.text.setWordWrap(True)
        self.download = QPushButton(f"Download CLIP ViT-B-32 ({CLIP_SIZE})")
        self.download.setToolTip("Better tags and search for any words; the window stays usable")
        self.download.clicked.connect(self.start_download)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(200)
        self.bar.hide()
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_download)
        self.cancel.hide()
        self.switch = QPushButton("Use CLIP")
        self.switch.clicked.connect(lambda: self.use_clip.emit(self.pretrained))
        self.switch.hide()
        self.later = QPushButton("Not now")
        self.later.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.text, 1)
        for widget in (self.bar, self.download, self.cancel, self.switch, self.later):
            layout.addWidget(widget)
        self.hide()

    # -- when to offer -------------------------------------------------------------------------
    def on_model_state(self, state: ModelState) -> None:
        """Offered while the default runs and no CLIP weights are here (and not dismissed)."""
        if self.downloading or not self.switch.isHidden():
            return
        dismissed = self._settings is not None and self._settings.value("model_offer_dismissed") == "yes"
        wanted = state.state != "loading" and state.backend == "default" and not state.clip_available
        self.setVisible(wanted and not dismissed)

    @property
    def downloading(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @Slot()
    def dismiss(self) -> None:
        self.cancel_download()
        if self._settings is not None:
            self._settings.setValue("model_offer_dismissed", "yes")
            self._settings.sync()
        self.hide()

    # -- the download --------------------------------------------------------------------------
    @Slot()
    def start_download(self) -> None:
        if self.downloading:
            return
        cancel = threading.Event()
        self._cancel = cancel
        signals, pretrained = self._signals, self.pretrained

        def run() -> None:
            def report(done: int, total: int | None) -> None:
                signals.progress.emit(int(done), int(total or 0))

            try:
                path = fetch_clip(pretrained, report, cancel)
            except DownloadCancelled:
                signals.finished.emit(None, "cancelled")
            except ModelUnavailable as exc:
                signals.finished.emit(None, str(exc))
            except Exception as exc:  # shown in the strip, never a crash
                signals.finished.emit(None, f"{type(exc).__name__}: {exc}")
            else:
                signals.finished.emit(path, "")

        self.download.hide()
        self.later.hide()
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel.show()
        self.cancel.setEnabled(True)
        self.text.setText("Downloading CLIP ViT-B-32… (you can keep working)")
        self._thread = threading.Thread(target=run, name="clip-download", daemon=True)
        self._thread.start()

    @Slot()
    def cancel_download(self) -> None:
        if self._cancel is not None and self.downloading:
            self._cancel.set()
            self.cancel.setEnabled(False)
            self.text.setText("Cancelling the download…")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * done / total))
            self.text.setText(f"Downloading CLIP ViT-B-32: {done / 1e6:,.0f} of {total / 1e6:,.0f} MB")

    @Slot(object, str)
    def _on_finished(self, path: Path | None, error: str) -> None:
        self.bar.hide()
        self.cancel.hide()
        if path is not None:
            self.text.setText(f"CLIP ViT-B-32 is ready ({path.name}). Switch now? Your photos are "
                              "re-embedded in the background; tags and search keep working meanwhile.")
            self.switch.show()
            self.later.show()
            return
        self.text.setText("Download cancelled; nothing was kept." if error == "cancelled"
                          else f"Could not download CLIP: {error}")
        self.download.setText("Try again" if error != "cancelled" else self.download.text())
        self.download.show()
        self.later.show()

    def shutdown(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
