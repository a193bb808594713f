"""Watched folders: a burst of changes is one rescan; copied photos arrive embedded and tagged
with no user action; deletions and moves are noticed."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photomgr.core.library.database import Library
from photomgr.core.library.settings import Settings
from photomgr.core.ops.tagging import NewLabel, TagOps
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.model_choice import LazyEmbedder, active_model_id
from photomgr.core.services.watch import WatchScan, watch_library
from photomgr.core.watching import FolderWatcher
from tests.conftest import make_photo
from tests.fakes import FakeEmbedder


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_burst_of_500_files_is_one_rescan(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    calls: list[list[Path]] = []
    watcher = FolderWatcher([root], calls.append, quiet=0.5, max_delay=30)
    watcher.start()
    try:
        for i in range(500):
            (root / "sub" / f"IMG_{i:04d}.jpg").write_bytes(b"x" * 10)
        (root / ".hidden.tmp").write_bytes(b"ignored")
        assert wait_for(lambda: len(calls) >= 1, 10)
        time.sleep(1.0)  # nothing more may come: the burst was one change
        assert calls == [[root]]
        (root / "sub" / "IMG_0001.jpg").unlink()
        assert wait_for(lambda: len(calls) == 2, 10)
    finally:
        watcher.stop()
    assert watcher.problems == []


def test_a_trickle_still_rescans_by_max_delay(tmp_path: Path) -> None:
    calls: list[list[Path]] = []
    watcher = FolderWatcher([tmp_path], calls.append, quiet=0.5, max_delay=1.0)
    watcher.start()
    try:
        deadline = time.monotonic() + 2.5
        i = 0
        while time.monotonic() < deadline:  # a change every 0.2 s: never quiet for 0.5 s
            (tmp_path / f"f{i}.jpg").write_bytes(b"x")
            i += 1
            time.sleep(0.2)
        assert len(calls) >= 2
    finally:
        watcher.stop()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Library, Path, list[WatchScan], FakeEmbedder]]:
    root = tmp_path / "photos"
    make_photo(root / "first.jpg", (220, 20, 20), seed=99)
    fake = FakeEmbedder()
    library = Library(tmp_path / "lib")
    index_folders(library, [root], embedder=fake)
    tags = TagOps(library.conn)
    tags.use_model(active_model_id(Settings(library.conn)), lambda: fake)
    tags.add_labels([NewLabel("red")])
    yield library, root, [], fake
    library.close()


def test_copied_photos_arrive_embedded_and_tagged(
        watched: tuple[Library, Path, list[WatchScan], FakeEmbedder], tmp_path: Path) -> None:
    library, root, scans, fake = watched
    staging = tmp_path / "camera"
    for i in range(200):
        make_photo(staging / f"IMG_{i:04d}.jpg", (220, 20, 20), size=(64, 48), seed=i)
    stop = threading.Event()
    ready = threading.Event()
    db = library.paths.root / "library.db"

    def watch() -> None:
        with Library(library.paths.root) as own:  # the watching thread owns its connection
            watch_library(own, model=LazyEmbedder.ready(fake), stop=stop, on_scan=scans.append,
                          on_start=lambda w: ready.set(), quiet=0.5)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        assert ready.wait(10)
        assert wait_for(lambda: len(scans) >= 1)  # the catch-up scan
        started = time.monotonic()
        for source in sorted(staging.iterdir()):
            shutil.copy(source, root / source.name)

        def embedded() -> int:
            return int(library.conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

        assert wait_for(lambda: embedded() == 201, 60), f"{embedded()} embedded; scans {len(scans)}"
        took = time.monotonic() - started
        assert len(scans) - 1 <= 3, "a 200-file copy must be one rescan (or a few), not 200"
        assert took < 30
        tags = TagOps(library.conn)
        tags.use_model(active_model_id(Settings(library.conn)), lambda: fake)
        ids, _ = tags.carrying(tags.labels.by_name("red"))
        assert len(ids) == 201  # every new photo carries the label, with no user action

        (root / "IMG_0000.jpg").unlink()
        (root / "moved").mkdir()
        (root / "IMG_0001.jpg").rename(root / "moved" / "IMG_0001.jpg")

        def state(name: str) -> tuple[int, ...] | None:
            return library.conn.execute("SELECT missing FROM photos WHERE path LIKE ?",
                                        (f"%/{name}",)).fetchone()

        assert wait_for(lambda: state("IMG_0000.jpg") == (1,) and state("moved/IMG_0001.jpg") == (0,), 30)
        assert db.exists()
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_missing_root_is_reported_not_fatal(tmp_path: Path) -> None:
    calls: list[list[Path]] = []
    here = tmp_path / "here"
    here.mkdir()
    watcher = FolderWatcher([tmp_path / "unplugged", here], calls.append, quiet=0.3)
    watcher.start()
    try:
        assert watcher.problems == [f"{tmp_path / 'unplugged'}: not present, not watched"]
        (here / "a.jpg").write_bytes(b"x")
        assert wait_for(lambda: calls == [[here]], 10)
    finally:
        watcher.stop()
