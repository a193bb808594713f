"""`open_window()`: the model's libraries are imported before the window is shown, behind a splash.

Why: the model loads in a thread of its own while the gallery is live (photos appear before
the model, worker/library_worker.py). The first import of torch, torchvision and timm holds the GIL for
~0.1-0.3 s at a time while their C extensions initialise, and every Python slot of the window
waits meanwhile: done in the model thread it froze a live window (bench_gui: a 234-288 ms
stall while indexing, docs/benchmarks.md §5c'). Done here, it costs the launch its import
time instead, while a static splash (and a console line) says what is happening. The window is
built during the import, so its worker opens the library and the first rows are read meanwhile.

Then the heap is frozen (gc.freeze): with torch & co. imported, a full collection walks ~400,000
long-lived objects, 0.25-0.55 s with the GIL held (2 busy cores), and one ran in the model
thread ~0.4 s into every first index (bench_gui, §5c'). Frozen, they are never walked again.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from photomgr.core.models.registry import MODEL_LIBRARIES
from photomgr.gui.window.main_window import MainWindow

log = logging.getLogger(__name__)

SPLASH_TEXT = "Starting photomgr: loading the image model's libraries…"


def model_libraries_imported() -> bool:
    """All of registry.MODEL_LIBRARIES in sys.modules: nothing to wait for."""
    return all(name in sys.modules for name in MODEL_LIBRARIES)


class LibraryImport:
    """import_model_libraries() in a thread, so the splash can be painted and the window built."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="photomgr-model-imports", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        from photomgr.core.models.registry import import_model_libraries

        started = time.perf_counter()
        try:
            import_model_libraries()
        except Exception as exc:  # a broken torch install: the model load reports it in the window
            self.error = exc
        self.seconds = time.perf_counter() - started

    def wait(self, app: QApplication) -> None:
        """Until the import is done, with the event loop turning (the splash repaints, the hidden
        window takes the worker's first answers)."""
        while self._thread.is_alive():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            self._thread.join(0.02)


def splash_screen(icon: QIcon) -> QSplashScreen:
    """A static card: the app icon and one sentence (nothing in it needs the event loop)."""
    ratio = QGuiApplication.primaryScreen().devicePixelRatio() if QGuiApplication.primaryScreen() else 1.0
    pixmap = QPixmap(int(460 * ratio), int(260 * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(QColor("#f4f4f4"))
    if not icon.isNull():
        painter = QPainter(pixmap)
        painter.drawPixmap(166, 40, icon.pixmap(128, 128))
        painter.end()
    splash = QSplashScreen(pixmap)
    splash.showMessage(SPLASH_TEXT, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                       QColor("#303030"))
    return splash


def freeze_heap() -> None:
    """Take every object alive now out of the cyclic collector's reach, for good.

    What is alive here is mostly modules, classes and functions (Qt's, numpy's, torch's) that
    live as long as the process; a full collection would walk them all each time, holding the
    GIL meanwhile (the window's stall). Objects made later are collected as before. No
    gc.collect() first: after the imports it found 20 unreachable objects, for 0.35 s."""
    gc.freeze()


def open_window(library_root: Path) -> MainWindow:
    """Import the model's libraries (a splash shows meanwhile), then show the window on
    `library_root`. The application (QApplication) must exist. Used by run_gui and the GUI
    benchmarks, so that they measure the start the user gets."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    if model_libraries_imported():
        freeze_heap()
        window = MainWindow(library_root)
        window.show()
        return window
    started = time.perf_counter()
    print("photomgr: loading the image model's libraries (torch) before the window opens…",
          file=sys.stderr, flush=True)
    splash = splash_screen(QApplication.windowIcon())
    splash.show()
    app.processEvents()
    imports = LibraryImport()
    imports.start()
    try:
        window = MainWindow(library_root)
        imports.wait(app)
    except BaseException:
        splash.close()
        raise
    if imports.error is not None:
        log.warning("the model's libraries could not be imported: %s", imports.error)
    freeze_heap()  # behind the splash still
    log.info("model libraries imported in %.1f s; window shown %.1f s after the start",
             imports.seconds, time.perf_counter() - started)
    window.show()
    splash.finish(window)
    return window
