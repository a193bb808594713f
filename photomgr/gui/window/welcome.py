"""The first-run page: one line about photomgr and a big "Add a folder…" button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

# Two fixed lines: a word-wrapped label in a centred layout is given too little height.
TAGLINE = ("photomgr finds the photos in your folders and lets you browse, search and tag them\n"
           "with labels you define — all on this computer, nothing leaves it.")


class WelcomePage(QWidget):
    add_folder_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Welcome to photomgr")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        line = QLabel(TAGLINE)
        line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button = QPushButton("Add a folder…")
        big = QFont(self.button.font())
        big.setPointSizeF(big.pointSizeF() * 1.4)
        self.button.setFont(big)
        self.button.setMinimumSize(240, 56)
        self.button.setDefault(True)
        self.button.clicked.connect(self.add_folder_clicked)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addWidget(line, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(24)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
