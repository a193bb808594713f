"""Help ▸ Keyboard Shortcuts and About, and a launch without Qt's X11 libraries that says what to
install instead of Qt's misleading message."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import qVersion

from photomgr import __version__
from photomgr.gui import app as gui_app
from photomgr.gui import platform_check
from photomgr.gui.main_window import MainWindow


def test_help_menu_shows_shortcuts_and_about(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.host.model.state != "loading", timeout=10_000)
    menus = {a.text(): a for a in window.menuBar().actions()}
    assert "&Help" in menus
    actions = window.menu_actions
    assert actions.shortcuts is not None and actions.about is not None
    actions.shortcuts.trigger()
    from PySide6.QtWidgets import QDialog

    shown = [d for d in window.findChildren(QDialog) if d.isVisible()]
    assert shown and "Next / previous photo" in shown[-1].text.text()  # type: ignore[attr-defined]
    assert "Ctrl+plus" in shown[-1].text.text()  # type: ignore[attr-defined]
    actions.about.trigger()
    about = [d for d in window.findChildren(QDialog) if d.isVisible() and d.windowTitle() == "About photomgr"]
    text = about[0].text.text()  # type: ignore[attr-defined]
    assert f"photomgr {__version__}" in text and str(window.paths.root) in text
    assert f"Qt {qVersion()}" in text and "Model: CLIP fake-colour (v1)" in text


def test_missing_qt_libraries_are_named_with_the_install_line(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    present = {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    x11 = {"DISPLAY": ":0"}
    assert platform_check.missing_qt_libraries(lambda lib: lib in present, x11) == \
        ["libxcb-icccm4", "libxcb-keysyms1"]
    assert platform_check.missing_qt_libraries(lambda lib: False, {"QT_QPA_PLATFORM": "offscreen"}) == []
    assert platform_check.missing_qt_libraries(lambda lib: False, {"WAYLAND_DISPLAY": "wayland-0",
                                                                   "DISPLAY": ":0"}) == []
    # At launch: no QApplication yet, the libraries missing -> the exact line, and exit status 1.
    monkeypatch.setattr(gui_app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(gui_app, "missing_qt_libraries", lambda: ["libxcb-icccm4", "libxcb-keysyms1"])
    assert gui_app.run_gui(tmp_path / "library") == 1
    err = capsys.readouterr().err
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0" in err
    assert "libxcb-icccm4, libxcb-keysyms1" in err and "xcb-cursor0 is needed" not in err


@pytest.mark.parametrize("library", ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
def test_the_real_loader_answers_for_each_library(library: str) -> None:
    assert isinstance(platform_check._loads(library), bool)
