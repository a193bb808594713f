"""Descriptions in the window: under the photo, edited in place (Enter saves, Esc cancels,
Ctrl+Z undoes), as the tiles' tooltips, and the Model menu's setting."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from photomgr.gui.gallery.model import DescriptionRole
from photomgr.gui.window.main_window import MainWindow
from tests.fakes import DescribingFakeEmbedder, FakeEmbedder
from tests.gui.conftest import colour_folder, index_folder
from tests.gui.labels.test_labels import select, shown_names

RED_TEXT = "a red square on a striped card"


@pytest.fixture(autouse=True)
def _describing_model(_fake_model_by_default: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake model, and its describing twin when the window asks for the captioner."""
    fake, describing = FakeEmbedder(), DescribingFakeEmbedder()
    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder",
                        lambda backend, **kwargs: describing if kwargs.get("describe") else fake)


@pytest.fixture
def indexed(window: MainWindow, qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    index_folder(window, qtbot, colour_folder(tmp_path / "photos"))
    yield window


def stored(window: MainWindow, photo_id: int) -> list[tuple[str, str]]:
    with sqlite3.connect(window.paths.database) as conn:
        return conn.execute("SELECT source, text FROM descriptions WHERE photo_id = ? ORDER BY source",
                            (photo_id,)).fetchall()


def test_the_description_shows_under_the_photo_and_as_the_tooltip(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    edit = window.details.description
    select(window, qtbot, "red0")
    qtbot.waitUntil(lambda: edit.text() == RED_TEXT, timeout=5_000)
    assert edit.isEnabled() and edit.font().italic() and "model" in edit.toolTip()
    row = shown_names(window).index("red0")
    qtbot.waitUntil(lambda: window.model.index(row).data(DescriptionRole) == RED_TEXT, timeout=5_000)
    tip = window.model.index(row).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith(RED_TEXT + "\n") and tip.endswith("red0.jpg")


def test_a_long_description_shows_its_start(qtbot) -> None:  # type: ignore[no-untyped-def]
    """QLineEdit puts the cursor after the text it is given, and scrolls to keep it in view:
    a sentence wider than the panel showed "…et is standing in front of a large building."."""
    from photomgr.core.library.descriptions import Description
    from photomgr.gui.details.descriptions import DescriptionEdit

    edit = DescriptionEdit()
    qtbot.addWidget(edit)
    edit.resize(120, edit.sizeHint().height())
    edit.show()
    edit.photo_id = 7
    long = "A man in a red jacket is standing in front of a large building with many windows."
    for source in ("model", "user"):
        edit.setCursorPosition(0)
        edit.show_description(7, Description(7, long, source, None))
        assert edit.cursorPosition() == 0 and edit.cursorRect().left() < 10, source
    edit.setText("typed")
    edit.cancel()  # Esc puts the shown sentence back: from its start too
    assert edit.text() == long and edit.cursorPosition() == 0


def test_enter_saves_the_users_description_and_undo_restores_the_models(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    edit = window.details.description
    photo_id = select(window, qtbot, "red0")
    qtbot.waitUntil(lambda: edit.text() == RED_TEXT, timeout=5_000)
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "Grandpa's red tractor")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ("user", "Grandpa's red tractor") in stored(window, photo_id), timeout=5_000)
    qtbot.waitUntil(lambda: not edit.font().italic(), timeout=5_000)  # shown as the user's now
    assert ("model", RED_TEXT) in stored(window, photo_id)  # kept behind it
    row = shown_names(window).index("red0")
    qtbot.waitUntil(lambda: window.model.index(row).data(DescriptionRole) == "Grandpa's red tractor",
                    timeout=5_000)
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: stored(window, photo_id) == [("model", RED_TEXT)], timeout=5_000)
    qtbot.waitUntil(lambda: edit.text() == RED_TEXT and edit.font().italic(), timeout=5_000)
    window.undo_stack.redo()
    qtbot.waitUntil(lambda: edit.text() == "Grandpa's red tractor", timeout=5_000)


def test_escape_puts_back_what_was_shown_and_saves_nothing(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    edit = window.details.description
    photo_id = select(window, qtbot, "blue1")
    qtbot.waitUntil(lambda: edit.text().startswith("a blue"), timeout=5_000)
    before = edit.text()
    edit.setFocus()
    qtbot.keyClicks(edit, " and more")
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == before and not edit.hasFocus()
    window.gallery.setFocus()  # leaving the field after Esc saves nothing either
    assert window.undo_stack.count() == 0
    assert stored(window, photo_id) == [("model", before)]


def test_the_model_menu_turns_descriptions_off(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    toggle = window.menu_actions.descriptions
    qtbot.waitUntil(toggle.isChecked, timeout=5_000)  # on by default, read from the library
    toggle.trigger()
    assert not toggle.isChecked()

    def setting() -> str | None:
        with sqlite3.connect(window.paths.database) as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = 'descriptions.enabled'").fetchone()
        return row[0] if row else None

    qtbot.waitUntil(lambda: setting() == "0", timeout=5_000)
    # The worker reloads the model without its captioner: the next photos get no description.
    qtbot.waitUntil(lambda: not window.host.busy, timeout=10_000)
    assert not isinstance(window.host.worker.embedder, DescribingFakeEmbedder)


def test_the_search_box_finds_photos_by_their_descriptions(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    photo_id = select(window, qtbot, "green1")
    edit = window.details.description
    qtbot.waitUntil(edit.isEnabled, timeout=5_000)
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "Our allotment in June")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ("user", "Our allotment in June") in stored(window, photo_id), timeout=5_000)
    window.search.setText("allotment")
    window.run_search()
    qtbot.waitUntil(lambda: window.feed.showing.kind == "search" and bool(shown_names(window)), timeout=5_000)
    assert shown_names(window)[0] == "green1"  # its words, not its looks (the fake knows no allotments)
    assert window.feed.showing.captions[photo_id].endswith("text")
    first = window.model.index(0).data(Qt.ItemDataRole.DisplayRole)
    assert first.startswith(window.feed.showing.captions[photo_id]) and first.endswith("green1.jpg")
