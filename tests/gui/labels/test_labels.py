"""Labels and tags in the window, end to end through the worker, with the fake colour model.

Red, green and blue photos; the fake model (tests/fakes.py) scores the labels "red", "green"
and "blue" like CLIP would, so counts, decisions, undo and the live threshold count are checkable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from photomgr.gui.gallery.model import IdRole, PathRole
from photomgr.gui.window.main_window import MainWindow
from photomgr.gui.worker.results import CONFIRMED, REJECTED
from tests.gui.conftest import colour_folder, index_folder

# How long a step may take before the test fails. waitUntil returns as soon as its condition
# holds, so a generous limit costs nothing when the machine is quiet; 5 s was too tight once
# when other jobs kept both cores busy (a label deletion then undo took longer).
WAIT_MS = 20_000


@pytest.fixture
def indexed(window: MainWindow, qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    index_folder(window, qtbot, colour_folder(tmp_path / "photos"))
    yield window


def names(window: MainWindow) -> list[str]:
    sidebar = window.sidebar
    return [sidebar.labels.child(i).text(0) for i in range(sidebar.labels.childCount())]  # type: ignore[union-attr]


def shown_names(window: MainWindow) -> list[str]:
    return [Path(p).stem for p in window.model.rows.paths]


def add_label(window: MainWindow, qtbot, name: str, count: int) -> int:  # type: ignore[no-untyped-def]
    window.show_label_editor()
    window.label_editor.new_name.setText(name)
    window.label_editor.add_button.click()
    qtbot.waitUntil(lambda: f"{name} ({count})" in names(window), timeout=10_000)
    label = next(s for s in window.sidebar.summaries if s.name == name)
    return label.id


def click_label(window: MainWindow, qtbot, label_id: int) -> None:  # type: ignore[no-untyped-def]
    item = window.sidebar.label_item(label_id)
    assert item is not None
    rect = window.sidebar.visualItemRect(item)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def select(window: MainWindow, qtbot, stem: str) -> int:  # type: ignore[no-untyped-def]
    row = shown_names(window).index(stem)
    photo_id = int(window.model.index(row).data(IdRole))
    # Not setCurrentIndex(): it reads the keyboard's modifiers, which an earlier test's Ctrl+Z
    # can leave set on the offscreen platform, and then adds to the selection.
    assert window.gallery.select_photo(photo_id)
    qtbot.waitUntil(lambda: window.details.tags.photo_id == photo_id, timeout=WAIT_MS)
    return photo_id


def decisions(window: MainWindow) -> dict[str, str]:
    """photo stem -> state, read from the library file (what was persisted)."""
    with sqlite3.connect(window.paths.database) as conn:
        rows = conn.execute("SELECT p.path, d.state FROM tag_decisions d JOIN photos p ON p.id = d.photo_id")
        return {Path(path).stem: state for path, state in rows}


def decision_rows(window: MainWindow) -> list[tuple[int, str]]:
    with sqlite3.connect(window.paths.database) as conn:
        return sorted(conn.execute("SELECT label_id, state FROM tag_decisions"))


def test_add_label_click_rename_delete_and_undo(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    # Thumbnails appeared (9: the copy of green0 shares its thumbnail).
    qtbot.waitUntil(lambda: window.thumbnails.cache_size() == 9, timeout=10_000)
    red = add_label(window, qtbot, "red", 3)
    click_label(window, qtbot, red)
    qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["red0", "red1", "red2"], timeout=WAIT_MS)
    assert window.model.index(0).data().startswith("0.")  # the score is shown on the tile

    editor = window.label_editor
    editor.select(red)
    editor.name.setText("red things")  # its text still says red
    editor.apply_button.click()
    qtbot.waitUntil(lambda: names(window) == ["red things (3)"], timeout=WAIT_MS)
    assert sorted(shown_names(window)) == ["red0", "red1", "red2"]  # still showing the renamed label

    window.undo_stack.undo()
    qtbot.waitUntil(lambda: names(window) == ["red (3)"], timeout=WAIT_MS)
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: names(window) == ["red things (3)"], timeout=WAIT_MS)

    window.sidebar.setFocus()
    qtbot.keyClick(window.sidebar, Qt.Key.Key_Delete)  # Del on the selected label
    qtbot.waitUntil(lambda: names(window) == ["No labels yet"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(shown_names(window)) == 10, timeout=WAIT_MS)  # back to all photos
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: names(window) == ["red things (3)"], timeout=WAIT_MS)


def test_confirm_reject_bulk_and_undo(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    tags = window.details.tags

    select(window, qtbot, "red1")
    qtbot.waitUntil(lambda: [t.label for t in tags.tags] == ["red"], timeout=WAIT_MS)
    assert tags.tags[0].state == "tagged"
    tags.buttons[(red, "reject")].click()
    qtbot.waitUntil(lambda: tags.tags and tags.tags[0].state == REJECTED, timeout=WAIT_MS)
    assert tags.buttons[(red, "reject")].isChecked()
    # A rejection also pushes the label away from look-alikes (the fake reds are near-identical).
    qtbot.waitUntil(lambda: names(window) != ["red (3)"], timeout=WAIT_MS)
    after_reject = names(window)
    assert decisions(window) == {"red1": REJECTED}

    # A label the model did not give: tagging by hand makes a manual, confirmed tag.
    select(window, qtbot, "blue0")
    qtbot.waitUntil(lambda: tags.combo.isEnabled(), timeout=WAIT_MS)
    tags.combo.setEditText("red")
    assert tags.tag_button.isEnabled()
    tags.tag_button.click()
    qtbot.waitUntil(lambda: bool(tags.tags) and tags.tags[0].state == CONFIRMED, timeout=WAIT_MS)
    assert tags.tags[0].source == "manual" and decisions(window) == {"red1": REJECTED, "blue0": CONFIRMED}

    window.undo_stack.undo()  # the manual tag
    # Gone (at most a greyed suggestion below the threshold is left).
    qtbot.waitUntil(lambda: all(t.state == "untagged" for t in tags.tags), timeout=WAIT_MS)
    assert tags.top_tag() is None
    qtbot.waitUntil(lambda: names(window) == after_reject, timeout=WAIT_MS)
    window.undo_stack.undo()  # the rejection
    qtbot.waitUntil(lambda: names(window) == ["red (3)"], timeout=WAIT_MS)
    assert decisions(window) == {}
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, ctrl_shift)  # redo
    qtbot.waitUntil(lambda: decisions(window) == {"red1": REJECTED}, timeout=WAIT_MS)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: decisions(window) == {}, timeout=WAIT_MS)

    # Bulk: the four green photos through the right-click menu's Tag with ▸ red.
    model = window.model
    selection = window.gallery.selectionModel()
    selection.clearSelection()
    greens = [r for r, stem in enumerate(shown_names(window)) if stem.startswith("green")]
    for row in greens:
        selection.select(model.index(row), selection.SelectionFlag.Select)
    menu = window.photo_menu(model.index(greens[0]))
    tag_with = cast(QMenu, next(a for a in menu.actions() if a.text() == "Tag with").menu())
    next(a for a in tag_with.actions() if a.text() == "red").trigger()
    qtbot.waitUntil(lambda: len(decisions(window)) == 4, timeout=WAIT_MS)
    assert sorted(decisions(window)) == ["green0", "green0-copy", "green1", "green2"]
    assert set(decisions(window).values()) == {CONFIRMED}
    click_label(window, qtbot, red)
    qtbot.waitUntil(lambda: {"green0", "green0-copy", "green1", "green2"} <= set(shown_names(window)),
                    timeout=WAIT_MS)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: decisions(window) == {}, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["red0", "red1", "red2"], timeout=WAIT_MS)


def test_deleting_a_label_is_undone_with_its_decisions(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    blue = add_label(window, qtbot, "blue", 3)
    photo = select(window, qtbot, "red0")
    window.label_actions.decide([photo], red, "red", REJECTED)
    window.label_actions.decide([photo], blue, "blue", CONFIRMED)
    qtbot.waitUntil(lambda: set(decision_rows(window)) == {(blue, CONFIRMED), (red, REJECTED)},
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(names(window)) == 2 and names(window) != ["blue (3)", "red (3)"],
                    timeout=WAIT_MS)
    before = names(window)
    window.delete_label(red)
    qtbot.waitUntil(lambda: names(window) == before[:1], timeout=WAIT_MS)
    assert decision_rows(window) == [(blue, CONFIRMED)]  # the label's decisions went with it
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: names(window) == before, timeout=WAIT_MS)
    with sqlite3.connect(window.paths.database) as conn:
        assert conn.execute("SELECT state FROM tag_decisions WHERE label_id = ?", (red,)).fetchall() == \
            [(REJECTED,)]  # same id, same decision
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: names(window) == before[:1], timeout=WAIT_MS)


def test_threshold_slider_counts_live_and_apply_rescores(indexed: MainWindow, qtbot,  # type: ignore[no-untyped-def]
                                                         monkeypatch) -> None:
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    editor = window.label_editor
    editor.select(red)
    qtbot.waitUntil(lambda: editor.live_count() == 3, timeout=WAIT_MS)
    submitted: list[object] = []
    monkeypatch.setattr(window.host, "submit", submitted.append)
    editor.default_box.setChecked(False)
    editor.slider.setValue(0)
    assert editor.live_count() == 10 and editor.count.text().startswith("10 photos")
    editor.slider.setValue(1000)
    assert editor.live_count() == 0
    assert submitted == []  # counted on the GUI thread: no round trip to the worker
    monkeypatch.undo()

    editor.slider.setValue(0)
    editor.apply_button.click()
    qtbot.waitUntil(lambda: names(window) == ["red (10)"], timeout=WAIT_MS)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: names(window) == ["red (3)"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: editor.default_box.isChecked(), timeout=WAIT_MS)


def test_find_similar_search_and_duplicates(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    assert window.search.isEnabled()
    red0 = next(r for r, stem in enumerate(shown_names(window)) if stem == "red0")
    index = window.model.index(red0)
    actions = {a.text(): a for a in window.photo_menu(index).actions()}
    actions["Find similar"].trigger()
    panel = window.similar
    qtbot.waitUntil(lambda: len(panel.hits) > 0, timeout=WAIT_MS)
    assert sorted(Path(h.path).stem for h in panel.hits[:2]) == ["red1", "red2"]  # red photos first
    assert int(index.data(IdRole)) not in panel.ids() and panel.hits[0].score >= panel.hits[-1].score
    assert window.similar_dock.isVisible()
    item = panel.list.item(1)
    assert item is not None
    panel.list.itemDoubleClicked.emit(item)
    assert window.gallery.current_id() == panel.hits[1].photo_id

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    qtbot.keyClicks(window.search, "blue")
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.feed.showing.kind == "search" and len(shown_names(window)) > 0,
                    timeout=WAIT_MS)
    assert [stem[:4] for stem in shown_names(window)[:3]] == ["blue"] * 3
    window.search.clear()
    qtbot.waitUntil(lambda: len(shown_names(window)) == 10, timeout=WAIT_MS)

    window.sidebar.setCurrentItem(window.sidebar.duplicates)
    qtbot.waitUntil(lambda: window.feed.showing.kind == "duplicates" and len(shown_names(window)) > 0,
                    timeout=WAIT_MS)
    captions = {Path(str(window.model.index(r).data(PathRole))).stem: window.model.index(r).data()
                for r in range(window.model.rowCount())}
    group = captions["green0-copy"].split(" · ")[0]
    assert group.startswith("#") and captions["green0"].startswith(group + " · ")


def test_space_confirms_the_top_tag_and_the_model_is_shown(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    add_label(window, qtbot, "green", 4)
    assert window.scan_status.model_label.text() == "Model: CLIP fake-colour (v1)"
    select(window, qtbot, "green1")
    tags = window.details.tags
    qtbot.waitUntil(lambda: tags.top_tag() is not None, timeout=WAIT_MS)
    window.gallery.setFocus()
    qtbot.keyClick(window.gallery, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: decisions(window) == {"green1": CONFIRMED}, timeout=WAIT_MS)
    texts = [a.text() for a in window.menu_actions.model_menu.actions() if isinstance(a, QAction)]
    assert "Point to CLIP Weights…" in texts and not window.menu_actions.use_clip.isEnabled()


def test_labels_are_answered_while_a_scan_runs(indexed: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Quick jobs run between files: a label added during a long scan is scored before it ends."""
    from tests.gui.conftest import photo_folder

    window = indexed
    folder = photo_folder(tmp_path / "many", good=300, broken=0, size=(640, 480))
    with qtbot.waitSignal(window.host.progress, timeout=30_000,
                          check_params_cb=lambda done, total, *_: total > 0 and done >= 3):
        window.add_folder(folder)
    window.label_actions.add_label("blue")
    qtbot.waitUntil(lambda: names(window) == ["blue (3)"], timeout=10_000)
    assert window.scanning  # answered between two files, not after the scan
    with qtbot.waitSignal(window.host.scan_finished, timeout=30_000):
        window.cancel_scan()


def test_changes_made_by_another_process_show_when_the_window_is_active_again(  # type: ignore[no-untyped-def]
        indexed: MainWindow, qtbot) -> None:
    """`photomgr labels remove red` and `labels add green` in a terminal while the window is
    open: back in the window, its label list, the shown label's photos and tags follow."""
    from PySide6.QtGui import QGuiApplication

    from photomgr.core.library.database import Library
    from photomgr.core.library.labels import LabelStore
    from photomgr.core.library.transaction import write_transaction
    from photomgr.core.ops.tagging import TagOps

    window = indexed
    red = add_label(window, qtbot, "red", 3)
    blue = add_label(window, qtbot, "blue", 3)
    click_label(window, qtbot, blue)
    qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["blue0", "blue1", "blue2"], timeout=WAIT_MS)
    with Library(window.paths.root) as other:  # the other process: its own connection
        TagOps(other.conn).remove_label(red)
        with write_transaction(other.conn):
            LabelStore(other.conn).add("green")
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
    qtbot.waitUntil(lambda: names(window) == ["blue (3)", "green (4)"], timeout=WAIT_MS)
    assert sorted(shown_names(window)) == ["blue0", "blue1", "blue2"]  # still the label shown
    click_label(window, qtbot, next(s.id for s in window.sidebar.summaries if s.name == "green"))
    qtbot.waitUntil(lambda: "green0" in shown_names(window), timeout=WAIT_MS)
    select(window, qtbot, "green0")
    qtbot.waitUntil(lambda: "green" in [t.label for t in window.details.tags.tags], timeout=WAIT_MS)
    assert "red" not in [t.label for t in window.details.tags.tags]


def test_labels_are_answered_while_the_scan_waits_for_another_index(  # type: ignore[no-untyped-def]
        indexed: MainWindow, qtbot, tmp_path: Path) -> None:
    """A `photomgr index` in a terminal holds the library's index lock; the window's Rescan
    waits for it. Meanwhile clicks must still be answered (the worker thread waited in a sleep
    loop and ran no queued job until the other index ended)."""
    from photomgr.core.library.database import Library

    window = indexed
    red = add_label(window, qtbot, "red", 3)
    with Library(window.paths.root) as other:
        lock = other.index_lock()
        lock.acquire()  # the other process's index
        try:
            window.rescan()
            qtbot.waitUntil(lambda: window.host.busy, timeout=WAIT_MS)
            qtbot.wait(500)  # the worker is in the lock's wait by now
            click_label(window, qtbot, red)
            qtbot.waitUntil(lambda: sorted(shown_names(window)) == ["red0", "red1", "red2"], timeout=5_000)
            assert window.host.busy  # still waiting for the lock
        finally:
            lock.release()
    qtbot.waitUntil(lambda: not window.host.busy, timeout=WAIT_MS)
