"""The Model menu: switching models re-embeds in the background; a missing CLIP is a warning."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from photomgr.core.models.base import ModelInfo, ModelUnavailable
from photomgr.gui.window.main_window import MainWindow
from photomgr.gui.worker.results import ModelState
from tests.fakes import DIM, FakeEmbedder
from tests.gui.conftest import colour_folder, index_folder

V1, V2 = "clip:fake-colour:v1", "clip:fake-colour:v2"


class FakeV2(FakeEmbedder):
    info = ModelInfo(model_id=V2, backend="clip", image_dim=DIM, label_dim=DIM, shared_space=True)


def test_point_to_clip_weights_reembeds_while_old_vectors_serve(window: MainWindow, qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 monkeypatch) -> None:
    index_folder(window, qtbot, colour_folder(tmp_path / "photos"))
    assert window.host.model.active == V1
    weights = tmp_path / "open_clip_ViT-B-32-openai.safetensors"
    weights.write_bytes(b"not really weights: the fake model does not read them")
    v1, v2 = FakeEmbedder(), FakeV2()
    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder",
                        lambda backend, **kw: v2 if kw.get("clip_weights") else v1)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(weights), ""))
    states: list[ModelState] = []
    window.host.model_state.connect(states.append)
    with qtbot.waitSignal(window.host.scan_finished, timeout=30_000):
        window.menu_actions.clip_weights.trigger()
    qtbot.waitUntil(lambda: window.host.model.active == V2, timeout=10_000)
    # While the new vectors were made, the old ones stayed active.
    assert any(s.state == "embedding" and s.active == V1 and s.loaded == V2 for s in states)
    assert window.scan_status.model_label.text() == "Model: CLIP fake-colour (v2)"
    assert window.menu_actions.use_clip.isChecked() and window.search.isEnabled()
    with sqlite3.connect(window.paths.database) as conn:
        settings = dict(conn.execute("SELECT key, value FROM settings"))
    assert settings["model.backend"] == "clip" and settings["model.clip_weights"] == str(weights)
    assert settings["model.clip_pretrained"] == "openai"  # from the file's name


def test_missing_clip_weights_fall_back_with_a_warning(window: MainWindow, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake = FakeEmbedder()

    def load(backend: str, **kwargs: object) -> FakeEmbedder:
        if backend == "clip":
            raise ModelUnavailable("CLIP weights for ViT-B-32/laion2b_s34b_b79k are not available offline")
        return fake

    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", load)
    monkeypatch.setattr("photomgr.gui.worker.library_worker.clip_state",
                        lambda choice: (False, "no CLIP weights here"))
    qtbot.waitUntil(lambda: window.host.model.state != "loading", timeout=10_000)
    window.menu_actions.model_menu.aboutToShow.emit()  # looks for CLIP weights, on demand
    qtbot.waitUntil(lambda: window.host.model.clip_checked, timeout=10_000)
    assert not window.menu_actions.use_clip.isEnabled()
    assert window.menu_actions.use_clip.toolTip() == "no CLIP weights here"
    window.use_model("clip")
    qtbot.waitUntil(lambda: "offline default model for now" in window.banner.label.text(), timeout=10_000)
    assert "not available offline" in window.banner.label.text()


def test_launch_resumes_embedding_left_unfinished(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    """A library whose photos were scanned but not embedded (the app was closed mid-index):
    the next launch embeds them without the user asking."""
    from photomgr.core.library.database import Library
    from photomgr.core.services.indexing import index_folders

    photos = colour_folder(tmp_path / "photos")
    with Library(tmp_path / "library") as library:
        index_folders(library, [photos])  # no model: photos and thumbnails only
        assert library.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 0
    window = MainWindow(tmp_path / "library")
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.library_ready, timeout=10_000)
        qtbot.waitUntil(lambda: window.host.model.searchable and window.host.model.pending == 0,
                        timeout=30_000)
        assert window.host.model.active == V1 and window.host.model.vectors == 10
    finally:
        window.shutdown()


def test_resuming_never_marks_an_unplugged_folder_missing(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    """One of two folders is gone at launch (a drive not plugged in): the other's photos are
    embedded, the absent ones stay in the library, not missing, still waiting for their vectors."""
    import shutil

    from photomgr.core.library.database import Library
    from photomgr.core.services.indexing import index_folders

    here = colour_folder(tmp_path / "here")
    away = colour_folder(tmp_path / "drive")
    with Library(tmp_path / "library") as library:
        index_folders(library, [here, away])
    shutil.move(away, tmp_path / "unplugged")
    window = MainWindow(tmp_path / "library")
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.library_ready, timeout=10_000)
        # the resume job starts once the model is loaded; the drive's 10 photos stay pending
        qtbot.waitUntil(lambda: window.host.model.loaded is not None and not window.host.busy
                        and window.host.model.vectors == 10 and window.host.model.pending == 10,
                        timeout=30_000)
    finally:
        window.shutdown()
    with Library(tmp_path / "library") as library:
        rows = library.conn.execute(
            "SELECT p.path, p.missing, p.error, COUNT(e.photo_id) FROM photos p"
            " LEFT JOIN embeddings e ON e.photo_id = p.id GROUP BY p.id").fetchall()
    assert len(rows) == 20
    assert all(missing == 0 and error is None for _, missing, error, _ in rows)
    assert {Path(path).parent.name for path, _, _, n in rows if n} == {"here"}
    assert sum(1 for *_, n in rows if n == 0) == 10
