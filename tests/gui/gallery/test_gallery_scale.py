"""The gallery with thousands of photos: rows load off-thread, scrolling paints fast, thumbnails follow."""

from __future__ import annotations

from pathlib import Path

from bench.bench_gui import fabricate_library, scroll_through
from photomgr.gui.gallery.model import ErrorRole
from photomgr.gui.window.main_window import MainWindow

N = 3000


def test_scrolling_a_large_gallery(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    fabricate_library(tmp_path / "library", N).close()
    window = MainWindow(tmp_path / "library")
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    try:
        result = scroll_through(window, N, max_frames=80)
        print(result)
        assert window.pages.currentWidget() is window.splitter
        assert result.max_paint_ms < 150  # generous for a loaded 2-core box; typically a few ms
        # The last screenful has its thumbnails: the newest requests were served first.
        gallery = window.gallery
        last = [r for r in gallery.visible_rows() if not window.model.index(r).data(ErrorRole)]
        hashes = window.model.rows.hashes
        assert last and all(window.thumbnails.cached(hashes[r] or "") is not None
                            for r in last if r >= N - 10)
        # Bad files are in the grid too (drawn as broken images), in path order with the rest.
        assert window.model.index(996).data(ErrorRole) is True
        # The LRU cache stays bounded however far one scrolls.
        assert result.thumbnails_cached <= 1500
    finally:
        window.shutdown()
