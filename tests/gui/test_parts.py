"""The window's parts on their own: formatting, queries, the model's updates, cancellation, stalls."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer

from bench.bench_gui import fabricate_library, fake_hash
from photomgr.core.library import gallery as queries
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoRow
from photomgr.gui.details.panel import describe, format_size
from photomgr.gui.gallery.model import ErrorRole, GalleryModel, HashRole, IdRole
from photomgr.gui.stall import StallMonitor
from photomgr.gui.window.status_bar import format_duration, format_progress
from photomgr.gui.worker.library_worker import _Cancelled


def test_progress_text() -> None:
    assert format_progress(1234, 2944, 45.6, 65, "analysing") == "1234/2944 photos · 45.6/s · 1m05s left"
    assert format_progress(2944, 2944, 45.6, 0, "analysing") == "2944/2944 photos · 45.6/s"
    assert format_progress(0, 12, 0.0, -1, "loading model") == "Loading the model to embed 12 photos…"
    assert format_progress(1500, 0, 0.0, -1, "walking") == "Looking for photos… 1,500 files found"
    assert format_progress(12, 40, 3.0, 9, "embedding") == "Embedding 12/40 photos · 3.0/s · 9s left"
    assert [format_duration(s) for s in (0, 59.4, 60, 3599, 3600, 7380)] == \
        ["0s", "59s", "1m00s", "59m59s", "1h00m", "2h03m"]


def test_details_text() -> None:
    row = PhotoRow(1, "/p/a/IMG_1.jpg", 2_500_000, "ab" * 16, "jpeg", 4000, 3000, 1,
                   "2021-07-04T18:30:00", "Canon", "Canon EOS 5D", 48.85837, 2.294481, None, False)
    text = describe(row)
    assert text["Name"] == "IMG_1.jpg" and text["Folder"] == "/p/a"
    assert text["Date taken"] == "2021-07-04 18:30:00"
    assert text["Camera"] == "Canon EOS 5D"  # the make is not repeated
    assert text["Dimensions"] == "4000 × 3000" and text["File size"] == "2.4 MB"
    assert text["GPS"] == "48.85837, 2.29448"
    assert format_size(512) == "512 bytes"


def test_names_that_are_not_utf8_show_their_bytes(qtbot) -> None:  # type: ignore[no-untyped-def]
    """'café.jpg' written in Latin-1 (b'caf\\xe9.jpg') showed as 'caf.jpg' on its tile (Qt drops
    the lone surrogate) and 'caf\ufffd.jpg' in the panel: now 'caf\\xe9.jpg', as the CLI and the
    Duplicates dialogs print it, so two such names never look alike."""
    import os

    path = os.fsdecode(b"/p/d\xe9j\xe0/caf\xe9.jpg")
    row = PhotoRow(1, path, 10, None, "jpeg", 4, 3, 1, None, None, None, None, None, None, False)
    text = describe(row)
    assert text["Name"] == "caf\\xe9.jpg" and text["Folder"] == "/p/d\\xe9j\\xe0"
    model = GalleryModel()
    model.set_rows(queries.GalleryRows(np.asarray([1], dtype=np.int64), [fake_hash(1)], [path], [False]))
    assert model.index(0).data() == "caf\\xe9.jpg"
    assert model.index(0).data(Qt.ItemDataRole.ToolTipRole) == "/p/d\\xe9j\\xe0/caf\\xe9.jpg"
    from photomgr.gui.gallery.similar_panel import short_name
    from photomgr.gui.window.sidebar import Sidebar

    assert short_name(path) == "d\\xe9j\\xe0\ncaf\\xe9.jpg"  # Find similar's captions
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_folders([queries.FolderCount(os.path.dirname(path), 1)], 1)
    item = sidebar.folders.child(1)
    assert item is not None and item.text(0) == "d\\xe9j\\xe0 (1)" and item.toolTip(0) == "/p/d\\xe9j\\xe0"


def test_queries_order_filter_and_counts(tmp_path: Path) -> None:
    library = fabricate_library(tmp_path / "lib", 1200, broken_every=400)
    try:
        conn = library.conn
        assert not queries.library_is_empty(conn)
        rows = queries.gallery_rows(conn)
        assert len(rows) == 1200 and rows.paths == sorted(rows.paths)  # undated: path order
        assert sum(rows.errors) == 3
        album1 = queries.gallery_rows(conn, "/fake/album0001")
        assert len(album1) == 500 and all(p.startswith("/fake/album0001/") for p in album1.paths)
        assert len(queries.gallery_rows(conn, "/fake/album000")) == 0  # a prefix is not a folder
        picked = queries.rows_for_ids(conn, [7, 3, 999_999, 5])
        assert picked.ids.tolist() == [7, 3, 5] and picked.hashes[1] == fake_hash(2)
        assert queries.folder_counts(conn) == [queries.FolderCount("/fake", 1197)]
        assert queries.present_count(conn) == 1197
    finally:
        library.close()
    with Library(tmp_path / "empty") as empty:
        assert queries.library_is_empty(empty.conn)


def _rows(ids: list[int]) -> queries.GalleryRows:
    return queries.GalleryRows(np.asarray(ids, dtype=np.int64), [fake_hash(i) for i in ids],
                               [f"/p/{i}.jpg" for i in ids], [i == 13 for i in ids])


def test_model_appends_keep_rows_and_other_changes_reset(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = GalleryModel()
    assert model.set_rows(_rows([1, 2, 3])) == "reset"
    with qtbot.waitSignal(model.rowsInserted) as inserted:
        assert model.set_rows(_rows([1, 2, 3, 13, 14])) == "append"
    assert inserted.args[1:] == [3, 4]
    assert model.set_rows(_rows([1, 2, 3, 13, 14])) == "same"
    with qtbot.waitSignal(model.modelReset):
        assert model.set_rows(_rows([2, 1, 3])) == "reset"
    assert model.row_of(3) == 2 and model.row_of(99) == -1 and model.rows_of([3, 2]) == [0, 2]
    index = model.index(0)
    assert (index.data(IdRole), index.data(HashRole), index.data()) == (2, fake_hash(2), "2.jpg")
    model.set_rows(_rows([13]))
    assert model.index(0).data(ErrorRole) is True


def test_cancel_covers_running_and_queued_jobs_only() -> None:
    cancel = _Cancelled()
    first, second = cancel.next_job(), cancel.next_job()
    assert cancel.start(first) and not cancel.event.is_set()
    cancel.cancel()  # while `first` runs, with `second` queued
    assert cancel.event.is_set()
    assert not cancel.start(second)  # skipped
    third = cancel.next_job()  # asked for after the cancel: runs
    assert cancel.start(third) and not cancel.event.is_set()


def test_stall_monitor_sees_a_blocked_event_loop(qtbot) -> None:  # type: ignore[no-untyped-def]
    monitor = StallMonitor(interval_ms=10)
    monitor.start()

    def block() -> None:
        end = time.perf_counter() + 0.15
        while time.perf_counter() < end:  # busy: the GUI thread does not return to the loop
            pass

    QTimer.singleShot(50, block)
    qtbot.waitUntil(lambda: monitor.max_gap_ms >= 150, timeout=5_000)
    monitor.stop()
    assert monitor.gaps_over_100ms == 1 and monitor.max_stall_ms >= 140
    assert "max GUI gap" in monitor.summary()


def test_visible_rows_cover_the_viewport_only(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSize

    from photomgr.gui.gallery.thumbnail_loader import ThumbnailLoader
    from photomgr.gui.gallery.view import GalleryView

    model = GalleryModel()
    loader = ThumbnailLoader(lambda key: Path("/nonexistent") / key, QSize(150, 150))
    view = GalleryView(model, loader)
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    model.set_rows(_rows(list(range(1, 2001))))
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 0, timeout=5_000)
    per_line = view.tiles_per_line()
    assert 2 <= per_line <= 5
    rows = view.visible_rows()
    assert rows.start == 0 and per_line * 3 <= len(rows) <= per_line * 6
    view.scrollTo(model.index(1000))
    rows = view.visible_rows()
    assert 1000 in rows and len(rows) <= per_line * 6
    loader.shutdown()
