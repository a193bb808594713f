"""A dismissible message strip at the top of the window: errors are shown, never swallowed."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

MAX_MESSAGES = 5  # older ones scroll out; the log keeps everything


class Banner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(
            "#banner { background: #fdecea; border: 1px solid #f5c6cb; border-radius: 4px; }"
            "#banner QLabel { color: #611a15; }")
        self.messages: list[str] = []
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.messages = [*self.messages, text][-MAX_MESSAGES:]
        self.label.setText("\n".join(self.messages))
        self.show()

    def remove(self, texts: list[str]) -> None:
        """Take back messages that no longer hold (e.g. a model warning once another model is chosen)."""
        self.messages = [m for m in self.messages if m not in texts]
        self.label.setText("\n".join(self.messages))
        self.setVisible(bool(self.messages))

    def dismiss(self) -> None:
        self.messages = []
        self.label.clear()
        self.hide()
