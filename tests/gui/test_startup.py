"""The model's libraries are imported before the window is shown, never in a live window.

Issue 14: "no GUI stall over 100 ms while browsing, viewing and indexing at once". torch's,
torchvision's and timm's first imports hold the GIL for up to ~0.3 s; the model thread did them
while the gallery was live (docs/benchmarks.md §5c'). A fresh interpreter is needed: in this
test process another test may have imported torch already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication

from photomgr.gui import startup, worker
from photomgr.gui.main_window import MainWindow

worker.LibraryWorker.load_model = lambda self: None  # the test is about imports, not a model
HEAVY = ("torch", "torchvision", "timm")
seen = {"at_start": [m for m in HEAVY if m in sys.modules]}
show = MainWindow.show

def recording_show(self):
    seen["at_show"] = [m for m in HEAVY if m in sys.modules]
    seen["imported_flag_at_show"] = startup.model_libraries_imported()
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


def test_run_gui_imports_torch_timm_torchvision_before_the_window_shows(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "library")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-3000:]
    import json

    seen = json.loads(lines[-1].removeprefix("RESULT "))
    assert seen["code"] == 0
    assert seen["at_start"] == []  # the GUI's own modules do not import torch
    assert seen["at_show"] == ["torch", "torchvision", "timm"]  # before the window is shown
    assert seen["imported_flag_at_show"] is True
    assert seen["windows_visible"] == [True]
    assert "loading the image model's libraries" in out.stderr  # the console says why it waits
