"""Help ▸ Keyboard Shortcuts and Help ▸ About: what the keys do; versions, model and library."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import TYPE_CHECKING

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from photomgr import __version__
from photomgr.gui.worker.results import describe_model

if TYPE_CHECKING:
    from photomgr.gui.window.main_window import MainWindow

SHORTCUTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Gallery", [
        ("Double-click, Enter", "View the photo large"),
        ("Space", "Confirm (or un-confirm) the photo's top tag"),
        ("Ctrl+plus / Ctrl+minus", "Bigger / smaller thumbnails"),
        ("Ctrl+F", "Search by what the photos show"),
        ("Esc", "Cancel the running scan"),
    ]),
    ("Viewer", [
        ("Right, Left (Page Down, Page Up)", "Next / previous photo"),
        ("Home, End", "First / last photo"),
        ("Mouse wheel, + / −", "Zoom in / out"),
        ("1 · 0 · double-click", "Actual size (1:1) · fit to the window · toggle both"),
        ("Space", "Confirm the photo's top tag"),
        ("Esc, Backspace", "Back to the gallery"),
    ]),
    ("Review", [
        ("Y / N", "The photo has the label / does not, then on to the next"),
        ("S, Right", "Skip this photo"),
        ("Esc", "End the review"),
    ]),
    ("Everywhere", [
        ("Ctrl+O", "Add a folder"),
        ("F5", "Rescan (new, changed, moved and deleted photos)"),
        ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo a label or tag change"),
        ("Ctrl+L / Ctrl+Shift+L", "Edit labels / add a label"),
        ("Ctrl+Q", "Quit"),
    ]),
]


def shortcuts_html() -> str:
    rows = []
    for section, keys in SHORTCUTS:
        rows.append(f"<tr><td colspan=2><br><b>{section}</b></td></tr>")
        rows += [f"<tr><td style='padding-right:16px'><tt>{key}</tt></td><td>{what}</td></tr>"
                 for key, what in keys]
    return "<table>" + "".join(rows) + "</table>"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_text(win: MainWindow) -> str:
    """Versions (without importing torch: the metadata says it), the model, the library."""
    state = win.host.model
    return (f"<b>photomgr {__version__}</b> — an offline photo manager<br><br>"
            f"Library: {win.paths.root}<br>"
            f"Model: {describe_model(state.active or state.loaded)}"
            f"{'' if state.active else ' (no photo embedded yet)'}<br><br>"
            f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {PySide6.__version__}<br>"
            f"torch {_version('torch')} · open_clip {_version('open_clip_torch')} · "
            f"faiss {_version('faiss-cpu')} · Pillow {_version('pillow')}")


def _dialog(parent: QWidget, title: str, html: str) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    text = QLabel(html)
    text.setTextFormat(Qt.TextFormat.RichText)
    text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    text.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.text = text  # type: ignore[attr-defined]  # tests read it
    return dialog


def show_shortcuts(win: MainWindow) -> QDialog:
    dialog = _dialog(win, "Keyboard Shortcuts", shortcuts_html())
    dialog.show()  # not modal: it can stay open next to the window
    return dialog


def show_about(win: MainWindow) -> QDialog:
    dialog = _dialog(win, "About photomgr", about_text(win))
    dialog.show()
    return dialog
