"""A first index as a new user sees it (issue 14): photos appear while the model still loads,
and the counter counts photos, not every file in the folder."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

import photomgr.core.services.model_choice as model_choice
from photomgr.gui.window.main_window import MainWindow
from photomgr.gui.window.status_bar import format_progress
from tests.gui.conftest import photo_folder


def test_photos_show_while_the_model_is_still_loading(tmp_path: Path, qtbot,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The model takes as long as the test wants: it is released only after the photos showed.
    release = threading.Event()
    loader = model_choice.load_embedder
    monkeypatch.setattr(model_choice, "load_embedder",
                        lambda backend, **kw: (release.wait(60), loader(backend, **kw))[1])
    folder = photo_folder(tmp_path / "photos", good=12, broken=0)
    window = MainWindow(tmp_path / "library")
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.library_ready, timeout=10_000)
        # The window asks for the model after its first paint: it is loading when the user adds a folder.
        qtbot.waitUntil(lambda: window.host.model.state == "loading", timeout=5_000)
        window.add_folder(folder)
        # Every photo is in the gallery and counted in the sidebar, the model still not loaded.
        qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=30_000)
        qtbot.waitUntil(lambda: window.sidebar.all_photos.text(0) == "All photos (12)", timeout=10_000)
        assert not release.is_set() and window.host.model.loaded is None
        assert window.host.model.state == "loading"
    finally:
        release.set()
    # Once in, the model embeds the photos the scan recorded without it.
    qtbot.waitUntil(lambda: window.host.model.searchable and window.search.isEnabled(), timeout=60_000)
    qtbot.waitUntil(lambda: not window.host.busy, timeout=30_000)
    with sqlite3.connect(window.paths.database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 12
    window.shutdown()


def test_the_counter_counts_photos_not_the_other_files(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = photo_folder(tmp_path / "photos", good=6, broken=1)  # a broken .jpg is a photo (with an error)
    (folder / "labels.csv").write_text("path,label\n")
    (folder / "README.txt").write_text("my holiday")
    counts: list[tuple[int, int]] = []
    window.host.progress.connect(lambda done, total, rate, eta, phase: counts.append((done, total))
                                 if phase == "analysing" else None)
    with qtbot.waitSignal(window.host.scan_finished, timeout=60_000):
        window.add_folder(folder)
    qtbot.waitUntil(lambda: bool(counts), timeout=5_000)
    assert counts[-1] == (7, 7) and all(total == 7 for _, total in counts)
    assert format_progress(7, 7, 3.0, 0, "analysing").startswith("7/7 photos")

