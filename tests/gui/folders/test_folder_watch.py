"""Folders in the window: photos copied into a watched folder appear embedded and tagged with no
user action; "Keep XMP Sidecars Up to Date" writes sidecars after a change; the sidebar's folder
tree; removing a folder from the library."""

from __future__ import annotations

import shutil
from pathlib import Path

from photomgr.core.ops.results import CONFIRMED
from photomgr.core.ops.tagging import NewLabel
from photomgr.core.xmp.parse import parse_packet
from photomgr.gui.folders.actions import remove_folder
from photomgr.gui.window.main_window import MainWindow
from tests.conftest import make_photo
from tests.gui.conftest import RED, colour_folder, index_folder


def _red_count(window: MainWindow) -> int:
    return next((s.photos for s in window.sidebar.summaries if s.name == "red"), -1)


def test_copying_200_photos_into_a_watched_folder(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = colour_folder(tmp_path / "photos")
    index_folder(window, qtbot, folder)
    window.host.run_op(lambda ops: ops.tags.add_labels([NewLabel("red")]))
    qtbot.waitUntil(lambda: _red_count(window) == 3, timeout=10_000)
    qtbot.waitUntil(lambda: window.folder_watch.watcher is not None, timeout=10_000)
    staging = tmp_path / "camera"
    for i in range(200):
        make_photo(staging / f"IMG_{i:04d}.jpg", RED, size=(64, 48), seed=100 + i)
    for source in sorted(staging.iterdir()):
        shutil.copy(source, folder / source.name)
    qtbot.waitUntil(lambda: window.model.rowCount() == 210, timeout=60_000)  # nobody pressed F5
    qtbot.waitUntil(lambda: _red_count(window) == 203, timeout=60_000)  # embedded and tagged
    assert 1 <= window.folder_watch.rescans <= 3  # debounced: not one scan per file


def test_keep_sidecars_up_to_date(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = colour_folder(tmp_path / "photos")
    index_folder(window, qtbot, folder)
    window.host.run_op(lambda ops: ops.tags.add_labels([NewLabel("sunset")]))
    qtbot.waitUntil(lambda: any(s.name == "sunset" for s in window.sidebar.summaries), timeout=10_000)
    window.folder_watch.action.setChecked(True)
    label_id = next(s.id for s in window.sidebar.summaries if s.name == "sunset")
    ids = {Path(p).name: int(i) for i, p in zip(window.model.rows.ids, window.model.rows.paths, strict=True)}
    window.host.run_op(lambda ops: ops.tags.decide([ids["blue1.jpg"]], label_id, CONFIRMED))
    sidecar = folder / "blue1.jpg.xmp"
    qtbot.waitUntil(sidecar.exists, timeout=10_000)
    assert parse_packet(sidecar.read_bytes()).keywords == (("sunset",),)
    assert not (folder / "red0.jpg.xmp").exists()  # nothing to say about it: no sidecar


def test_folder_tree_and_remove_folder(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "photos"
    make_photo(root / "z.jpg", seed=1)
    make_photo(root / "a" / "x.jpg", seed=2)
    make_photo(root / "a" / "b" / "y.jpg", seed=3)
    index_folder(window, qtbot, root)
    sidebar = window.sidebar

    def tree() -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        stack = [(sidebar.folders.child(i), 0) for i in reversed(range(sidebar.folders.childCount()))]
        while stack:
            item, depth = stack.pop()
            if item is None:
                continue
            out.append((depth, item.text(0)))
            stack.extend((item.child(i), depth + 1) for i in reversed(range(item.childCount())))
        return out

    qtbot.waitUntil(lambda: tree() == [(0, "All photos (3)"), (0, "photos (3)"), (1, "a (2)"), (2, "b (1)")],
                    timeout=10_000)
    sidebar.select_folder(str(root / "a" / "b"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=10_000)  # the subfolder's photo
    remove_folder(window, str(root / "a"))
    qtbot.waitUntil(lambda: tree() == [(0, "All photos (1)"), (0, "photos (1)")], timeout=10_000)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1 and window.model.rows.paths == [str(root / "z.jpg")],
                    timeout=10_000)
    assert (root / "a" / "x.jpg").exists() and (root / "a" / "b" / "y.jpg").exists()  # nothing on disk
