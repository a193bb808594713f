"""Review mode: the label's least certain photos, one key to answer each, on to the next."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from photomgr.core.ops.review import review_order
from photomgr.gui.window.main_window import MainWindow
from photomgr.gui.worker.results import CONFIRMED, REJECTED
from tests.gui.conftest import colour_folder, index_folder
from tests.gui.labels.test_labels import add_label


@pytest.fixture
def indexed(window: MainWindow, qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    index_folder(window, qtbot, colour_folder(tmp_path / "photos"))
    yield window


def decided(window: MainWindow) -> dict[int, str]:
    with sqlite3.connect(window.paths.database) as conn:
        return dict(conn.execute("SELECT photo_id, state FROM tag_decisions"))


def test_review_order_is_least_certain_first() -> None:
    scores = np.array([0.9, 0.52, 0.1, 0.45, 0.6], np.float32)
    candidates = np.array([True, True, True, False, True])
    assert review_order(scores, 0.5, candidates).tolist() == [1, 4, 0, 2]


def test_review_asks_answers_skips_and_returns(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    window.sidebar.select_label(red)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Labels ▸ Review Label…
    review = window.review
    assert window.pages.currentWidget() is review and "red" in review.question.text()
    qtbot.waitUntil(lambda: review.photo_id is not None and review.canvas.has_image(), timeout=10_000)
    first = review.photo_id
    assert first is not None
    qtbot.keyClick(review.canvas, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: decided(window) == {first: REJECTED}, timeout=5_000)
    qtbot.waitUntil(lambda: review.photo_id not in (None, first), timeout=10_000)
    second = review.photo_id
    assert second is not None
    qtbot.keyClick(review.canvas, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: decided(window) == {first: REJECTED, second: CONFIRMED}, timeout=5_000)
    assert review.progress.text() == "2 answers"
    qtbot.waitUntil(lambda: review.photo_id not in (None, first, second), timeout=10_000)
    third = review.photo_id
    qtbot.keyClick(review.canvas, Qt.Key.Key_S)  # skipped: no decision, never asked again
    qtbot.waitUntil(lambda: review.photo_id not in (None, first, second, third), timeout=10_000)
    assert len(decided(window)) == 2
    # An answer is an ordinary decision: Ctrl+Z takes it back.
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: decided(window) == {first: REJECTED}, timeout=5_000)
    qtbot.keyClick(review.canvas, Qt.Key.Key_Escape)
    assert window.pages.currentWidget() is window.splitter
