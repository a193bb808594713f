"""Find similar in the window with the REAL default model on real photos (../shared/photos).

Caltech-101's Faces/image_N and Faces_easy/image_N are the same photo (the second a tighter
crop): the twin must be the first result. A handful of pairs and twenty other photos are
copied into tmp_path (never into the repository); the test skips when the photos are absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from photomgr.gui.window.main_window import MainWindow
from tests.gui.conftest import index_folder

PAIRS = 6
OTHERS = ("airplanes", "Motorbikes", "Leopards", "piano", "dalmatian", "watch", "brain", "butterfly",
          "chair", "lamp")


@pytest.mark.shared
def test_find_similar_lists_the_twin_first(shared_photos: Path, tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    source = shared_photos / "caltech101-dev"
    if not (source / "Faces_easy").is_dir():
        pytest.skip(f"Caltech-101 faces not found in {source}")
    photos = tmp_path / "photos"
    faces = sorted((source / "Faces").glob("*.jpg"))[:PAIRS]
    for face in faces:
        for folder in ("Faces", "Faces_easy"):
            (photos / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy(source / folder / face.name, photos / folder / face.name)
    for name in OTHERS:
        (photos / name).mkdir(parents=True)
        for other in sorted((source / name).glob("*.jpg"))[:2]:
            shutil.copy(other, photos / name / other.name)

    window = MainWindow(tmp_path / "library")
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.library_ready, timeout=10_000)
        index_folder(window, qtbot, photos, timeout_ms=180_000)
        assert window.host.model.active is not None and window.host.model.active.startswith("default:")
        assert window.scan_status.model_label.text() == "Model: offline default"
        rows = {Path(p).relative_to(photos).as_posix(): int(i)
                for i, p in zip(window.model.rows.ids.tolist(), window.model.rows.paths, strict=True)}
        similar = window.similar
        for face in faces:
            photo_id = rows[f"Faces/{face.name}"]
            window.find_similar(photo_id, face.name)
            qtbot.waitUntil(lambda pid=photo_id: similar.source_id == pid and bool(similar.hits),
                            timeout=30_000)
            first = Path(similar.hits[0].path).relative_to(photos).as_posix()
            assert first == f"Faces_easy/{face.name}", [h.path for h in similar.hits[:3]]
    finally:
        window.shutdown()
