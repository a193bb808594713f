"""`run_gui()`: the desktop window's entry point (the CLI calls it when given no sub-command)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from photomgr import __version__
from photomgr.core.library.paths import default_library_dir
from photomgr.gui.platform_check import missing_libraries_message, missing_qt_libraries
from photomgr.gui.qt_compat import broken_pyside
from photomgr.gui.startup import open_window
from photomgr.resources import APP_ID, icon_files


def run_gui(library_root: Path | None = None, argv: list[str] | None = None) -> int:
    """Open the library (default: $PHOTOMGR_LIBRARY or the user data folder) in a window.

    The library itself is opened by the window's background worker; a library that cannot
    be opened is reported in the window rather than as a traceback.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = broken_pyside()
    if problem:
        print(f"photomgr: error: {problem}", file=sys.stderr)
        return 1
    app = QApplication.instance()
    if app is None and (missing := missing_qt_libraries()):  # else Qt aborts with a misleading hint
        print(missing_libraries_message(missing), file=sys.stderr)
        return 1
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("photomgr")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("photomgr")
    set_app_icon(app)
    # Torch & co. are imported before the window shows (startup.py): never in a live window
    window = open_window(library_root if library_root is not None else default_library_dir())
    window.raise_()
    return int(app.exec())


def set_app_icon(app: QApplication) -> None:
    """The window's and the dock's icon: every shipped PNG size, and the desktop entry's id.

    PNGs rather than the SVG so that no SVG image plugin is needed. The desktop file name lets
    Wayland docks match the window to the installed entry (and so to its icon).
    """
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    if not icon.isNull():
        app.setWindowIcon(icon)
    app.setDesktopFileName(APP_ID)
