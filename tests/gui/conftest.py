"""GUI tests run headless: Qt's offscreen platform, set before anything imports Qt."""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported below

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QStackedWidget

from photomgr.gui.qt_compat import broken_pyside
from photomgr.gui.window.main_window import MainWindow
from tests.conftest import make_photo
from tests.fakes import FakeEmbedder

_BROKEN = broken_pyside()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With a PySide6 that corrupts reference counts the GUI tests would abort the whole run."""
    if _BROKEN:
        here = Path(__file__).parent
        for item in items:
            if here in Path(item.path).parents:
                item.add_marker(pytest.mark.skip(reason=_BROKEN))


@pytest.fixture(autouse=True)
def _fake_model_by_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every GUI test uses the tiny fake model (instant, deterministic), except the ones marked
    `shared`, which run the real default model on real photos."""
    if request.node.get_closest_marker("shared") is None:
        fake = FakeEmbedder()
        monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder",
                            lambda backend, **kwargs: fake)


@pytest.fixture
def window(tmp_path: Path, qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """A shown main window on an empty library, its worker started and the library open."""
    win = MainWindow(tmp_path / "library")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.library_ready, timeout=10_000)
    yield win
    win.shutdown()


def wait_for_page(qtbot, pages: QStackedWidget, page: object) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: pages.currentWidget() is page, timeout=10_000)


RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


def colour_folder(root: Path) -> Path:
    """Three red, three green and three blue photos, and an exact copy of green0 (10 files)."""
    for i in range(3):
        make_photo(root / f"red{i}.jpg", RED, seed=i)
        make_photo(root / f"green{i}.jpg", GREEN, seed=10 + i)
        make_photo(root / f"blue{i}.jpg", BLUE, seed=20 + i)
    shutil.copy(root / "green0.jpg", root / "green0-copy.jpg")
    return root


def index_folder(window: MainWindow, qtbot, folder: Path, timeout_ms: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Add `folder` and wait until its photos are embedded and shown."""
    with qtbot.waitSignal(window.host.scan_finished, timeout=timeout_ms):
        window.add_folder(folder)
    qtbot.waitUntil(lambda: window.host.model.searchable and window.search.isEnabled(), timeout=timeout_ms)
    n = sum(1 for p in folder.rglob("*") if p.is_file())
    qtbot.waitUntil(lambda: window.model.rowCount() == n, timeout=10_000)


def photo_folder(root: Path, good: int, *, broken: int = 1, size: tuple[int, int] = (320, 240)) -> Path:
    """`good` distinct JPEGs in two sub-folders, plus `broken` files with a JPEG name and no image."""
    for i in range(good):
        make_photo(root / f"album{i % 2}" / f"p{i:04d}.jpg", size=size, seed=i)
    for i in range(broken):
        (root / f"broken{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 50)
    return root
