"""The model's libraries are imported before the window is shown, never in a live window.

Issue 14: "no GUI stall over 100 ms while browsing, viewing and indexing at once". torch's,
torchvision's and timm's first imports hold the GIL for up to ~0.3 s; the model thread did them
while the gallery was live (docs/benchmarks.md §5c'). A fresh interpreter is needed: in this
test process another test may have imported torch already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import gc, json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication

from photomgr.gui import startup
from photomgr.gui.worker.library_worker import LibraryWorker
from photomgr.gui.window.main_window import MainWindow

LibraryWorker.load_model = lambda self: None  # the test is about imports, not a model
HEAVY = ("torch", "torchvision", "timm")
seen = {"at_start": [m for m in HEAVY if m in sys.modules]}
show = MainWindow.show

def recording_show(self):
    seen["at_show"] = [m for m in HEAVY if m in sys.modules]
    seen["imported_flag_at_show"] = startup.model_libraries_imported()
    seen["frozen_at_show"] = gc.get_freeze_count()
    show(self)

def recording_exec(self=None):
    seen["at_exec"] = [m for m in HEAVY if m in sys.modules]
    seen["windows_visible"] = [w.isVisible() for w in QApplication.topLevelWidgets()
                               if isinstance(w, MainWindow)]
    for w in QApplication.topLevelWidgets():
        if isinstance(w, MainWindow):
            w.close()  # stops its worker
    return 0

MainWindow.show = recording_show
QApplication.exec = recording_exec
from photomgr.gui.app import run_gui

code = run_gui(Path(sys.argv[1]))
print("RESULT " + json.dumps({"code": code, **seen}))
"""


def run_child(code: str, library: Path, pythonpath: list[Path]) -> tuple[dict, str]:
    """Run `code` (which calls run_gui and prints "RESULT {json}") in a fresh offscreen interpreter."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join(str(p) for p in [*pythonpath, REPO])}
    out = subprocess.run([sys.executable, "-c", code, str(library)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT ")), out.stderr


def test_run_gui_imports_torch_timm_torchvision_before_the_window_shows(tmp_path: Path) -> None:
    seen, stderr = run_child(CHILD, tmp_path / "library", [])
    assert seen["code"] == 0
    assert seen["at_start"] == []  # the GUI's own modules do not import torch
    assert seen["at_show"] == ["torch", "torchvision", "timm"]  # before the window is shown
    assert seen["imported_flag_at_show"] is True
    # torch & co.'s objects are out of the collector's reach: no full collection walks them in a
    # live window (~400,000 objects, 0.25-0.55 s with the GIL held)
    assert seen["frozen_at_show"] > 100_000
    assert seen["windows_visible"] == [True]
    assert "loading the image model's libraries" in stderr  # the console says why it waits


BROKEN_CHILD = r"""
import gc, json, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication

from photomgr.gui.window.main_window import MainWindow

seen = {}

def waiting_exec(self=None):
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    seen["visible"] = window.isVisible()
    deadline = time.monotonic() + 120  # the window asks for the model 3 s after its library is open
    while "could not be loaded" not in window.banner.label.text() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    seen["banner"] = window.banner.label.text()
    window.close()
    return 0

QApplication.exec = waiting_exec
from photomgr.gui.app import run_gui

code = run_gui(Path(sys.argv[1]))
print("RESULT " + json.dumps({"code": code, **seen}))
"""


def test_a_broken_torch_still_opens_the_window_and_says_the_model_could_not_load(tmp_path: Path) -> None:
    """A torch that fails to import (a broken install) must not keep the window from opening:
    the startup import's error is logged, and the window's banner says what failed."""
    broken = tmp_path / "broken" / "torch"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        'raise ImportError("simulated broken torch: libtorch_cpu.so: cannot open shared object file")\n')
    seen, stderr = run_child(BROKEN_CHILD, tmp_path / "library", [broken.parent])
    assert seen["code"] == 0
    assert seen["visible"] is True
    assert "The model could not be loaded" in seen["banner"]
    assert "simulated broken torch" in seen["banner"]
    assert "the model's libraries could not be imported" in stderr
