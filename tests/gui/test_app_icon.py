"""The window and the dock get photomgr's icon (offscreen Qt)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from photomgr.gui import app as app_module
from photomgr.gui import startup
from photomgr.resources import APP_ID


class _WindowBuilt(Exception):
    """Stops run_gui() where the window would be shown: the test has what it needs then."""


def test_run_gui_sets_the_icon_before_the_window(qapp: QApplication, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    class RecordingWindow:
        def __init__(self, library_root: Path) -> None:
            icon = QApplication.windowIcon()
            seen["sizes"] = sorted(s.width() for s in icon.availableSizes())
            seen["desktop_file"] = QApplication.desktopFileName()
            seen["widget_icon_null"] = QWidget().windowIcon().isNull()  # a window inherits it
            raise _WindowBuilt

    monkeypatch.setattr(startup, "MainWindow", RecordingWindow)
    QApplication.setWindowIcon(QIcon())  # start from no icon
    with pytest.raises(_WindowBuilt):
        app_module.run_gui(tmp_path / "library")
    assert seen["sizes"] == [16, 24, 32, 48, 64, 128, 256, 512]
    assert seen["desktop_file"] == APP_ID
    assert seen["widget_icon_null"] is False
