"""The edges a new user hit (issue 14, item 4), each reproduced here first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from photomgr.gui.gallery import duplicates
from photomgr.gui.text import plural
from photomgr.gui.window.main_window import MainWindow
from photomgr.gui.worker.results import CONFIRMED, REJECTED
from tests.gui.conftest import colour_folder, index_folder
from tests.gui.labels.test_labels import add_label, decisions, names, select, shown_names


@pytest.fixture
def indexed(window: MainWindow, qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    index_folder(window, qtbot, colour_folder(tmp_path / "photos"))
    yield window


def test_moving_the_slider_unticks_the_models_default(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    editor = window.label_editor
    editor.select(red)
    qtbot.waitUntil(lambda: editor.live_count() == 3, timeout=5_000)
    assert editor.default_box.isChecked()
    # The user drags the slider (as keys do): it moves, and the default is no longer used.
    assert editor.slider.isEnabled()
    editor.slider.setFocus()
    before = editor.slider.value()
    qtbot.keyClick(editor.slider, Qt.Key.Key_Home)
    assert editor.slider.value() == 0 != before
    assert not editor.default_box.isChecked() and editor.live_count() == 10
    # It shows which photos would join: the seven others, as thumbnails.
    added, removed = editor.change_ids()
    assert len(added) == 7 and removed == []
    qtbot.waitUntil(lambda: editor.changes.count() == 7, timeout=5_000)
    assert "+7 photos would join" in editor.change_text.text()
    editor.apply_button.click()
    qtbot.waitUntil(lambda: names(window) == ["red (10)"], timeout=5_000)
    # Ticking the default again puts the slider back at the model's threshold.
    editor.default_box.setChecked(True)
    assert editor.slider.value() == round(editor.scores.default_threshold * 1000)  # type: ignore[union-attr]


def test_a_typed_label_name_tags_with_enter_and_the_field_empties(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    add_label(window, qtbot, "red", 3)
    tags = window.details.tags
    # Nothing selected: nothing can be tagged.
    window.gallery.clearSelection()
    assert not tags.tag_button.isEnabled() and not tags.reject_button.isEnabled()
    select(window, qtbot, "blue0")
    edit = tags.combo.lineEdit()
    assert edit is not None
    assert not tags.tag_button.isEnabled()  # an empty field tags nothing
    qtbot.keyClicks(edit, "Red")
    assert tags.tag_button.isEnabled()
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: decisions(window) == {"blue0": CONFIRMED}, timeout=5_000)
    # The field is empty again, so a click on Tag cannot give the next photo "red" by mistake.
    assert tags.combo.currentText() == "" and not tags.tag_button.isEnabled()
    select(window, qtbot, "blue1")
    tags.tag_button.click()
    assert decisions(window) == {"blue0": CONFIRMED}
    # A name that is no label: Tag stays off.
    qtbot.keyClicks(edit, "purple")
    assert not tags.tag_button.isEnabled()


def test_several_selected_photos_are_named_in_full(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    add_label(window, qtbot, "red", 3)
    tags = window.details.tags
    selection = window.gallery.selectionModel()
    for row in range(3):
        selection.select(window.model.index(row), selection.SelectionFlag.Select)
    assert tags.bulk_label.text() == "Add a tag to 3 selected photos:"
    # On a line of its own, wrapped rather than cut off.
    assert tags.bulk_label.wordWrap()


def test_a_rejected_tag_keeps_the_models_score(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    red = add_label(window, qtbot, "red", 3)
    tags = window.details.tags
    select(window, qtbot, "red1")
    qtbot.waitUntil(lambda: [t.label for t in tags.tags] == ["red"], timeout=5_000)
    score = tags.tags[0].score
    assert score > 0.5
    tags.buttons[(red, "reject")].click()
    qtbot.waitUntil(lambda: bool(tags.tags) and tags.tags[0].state == REJECTED, timeout=5_000)
    assert tags.tags[0].score == pytest.approx(score, abs=1e-4)
    assert shown_names(window)


def test_counts_are_worded_in_the_singular_for_one(window: MainWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert plural(1, "photo") == "1 photo" and plural(2, "photo") == "2 photos"
    assert plural(1, "group") == "1 group" and plural(1234, "group") == "1,234 groups"
    import shutil

    from tests.conftest import make_photo
    from tests.gui.conftest import BLUE, RED

    folder = tmp_path / "photos"
    make_photo(folder / "red0.jpg", RED, seed=0)
    shutil.copy(folder / "red0.jpg", folder / "red0-copy.jpg")
    make_photo(folder / "blue0.jpg", BLUE, seed=20)
    index_folder(window, qtbot, folder)
    messages: list[str] = []
    window.feed.message.connect(messages.append)
    duplicates.show_duplicates(window)
    qtbot.waitUntil(lambda: bool(messages), timeout=10_000)
    assert messages[-1] == "1 group of duplicates (2 photos)"
    qtbot.waitUntil(lambda: window.feed.showing.kind == "duplicates" and window.model.rowCount() == 2,
                    timeout=5_000)
    menu = window.photo_menu(window.model.index(0))
    assert any(a.text() == "Keep this one, hide the other 1 photo of #1" for a in menu.actions())


def test_a_cancelled_index_says_so_and_resumes_after_a_relaunch(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from tests.gui.conftest import photo_folder

    folder = photo_folder(tmp_path / "many", good=150, broken=0, size=(480, 360))
    (folder / "labels.csv").write_text("path,label\n")
    library = tmp_path / "library"
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.library_ready, timeout=10_000)
    totals: list[int] = []
    window.host.progress.connect(lambda done, total, rate, eta, phase: totals.append(total)
                                 if phase not in ("walking", "embedding") else None)
    with qtbot.waitSignal(window.host.progress, timeout=30_000,
                          check_params_cb=lambda done, total, *_: total > 0 and done >= 5):
        window.add_folder(folder)
    with qtbot.waitSignal(window.host.scan_finished, timeout=30_000) as finished:
        window.cancel_scan()
    assert finished.args[0].cancelled
    # The counter counts photos: labels.csv is not one (test_first_index.py has more).
    assert totals and max(totals) == 150
    assert "/150 photos" in window.scan_status.text.text() or not window.scan_status.text.isVisible()
    qtbot.waitUntil(lambda: window.scan_status.resume_button.isVisible(), timeout=5_000)
    assert "Resume" in window.statusBar().currentMessage()
    window.shutdown()
    window.close()

    again = MainWindow(library)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.scan_status.resume_button.isVisible(), timeout=10_000)
    with qtbot.waitSignal(again.host.scan_finished, timeout=60_000) as finished:
        again.scan_status.resume_button.click()
    assert not finished.args[0].cancelled
    qtbot.waitUntil(lambda: again.model.rowCount() == 150, timeout=10_000)
    qtbot.waitUntil(lambda: not again.scan_status.resume_button.isVisible(), timeout=5_000)
    again.shutdown()


def test_labels_show_while_the_model_loads_and_nothing_tags_without_a_selection(  # type: ignore[no-untyped-def]
        tmp_path: Path, qtbot, monkeypatch) -> None:
    from photomgr.core.library.database import Library
    from photomgr.core.library.labels import LabelStore
    from photomgr.gui.window.sidebar import LOADING_LABELS, NO_LABELS

    library = tmp_path / "library"
    with Library(library) as lib, lib.conn:
        LabelStore(lib.conn).add("beach")
    import threading
    release = threading.Event()
    import photomgr.core.services.model_choice as model_choice

    loader = model_choice.load_embedder
    monkeypatch.setattr(model_choice, "load_embedder",
                        lambda backend, **kw: (release.wait(20), loader(backend, **kw))[1])
    window = MainWindow(library)
    qtbot.addWidget(window)
    assert window.sidebar.labels.child(0).text(0) == LOADING_LABELS  # type: ignore[union-attr]
    window.show()
    qtbot.waitUntil(lambda: window.sidebar.labels.child(0).text(0) == "beach (…)", timeout=10_000)  # type: ignore[union-attr]
    assert NO_LABELS not in window.sidebar.labels.child(0).text(0)  # type: ignore[union-attr]
    tags = window.details.tags
    assert not tags.tag_button.isEnabled() and not tags.reject_button.isEnabled()
    release.set()
    qtbot.waitUntil(lambda: window.sidebar.labels_counted, timeout=20_000)
    assert window.sidebar.labels.child(0).text(0) == "beach (0)"  # type: ignore[union-attr]
    assert not tags.tag_button.isEnabled()
    window.shutdown()


def test_search_shows_strong_matches_then_a_few_marked_weak(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    messages: list[str] = []
    window.feed.message.connect(messages.append)
    window.search.setText("blue")
    window.run_search()
    qtbot.waitUntil(lambda: window.feed.showing.kind == "search" and len(shown_names(window)) > 0,
                    timeout=5_000)
    captions = [str(window.model.index(r).data()) for r in range(window.model.rowCount())]
    strong = [c for c in captions if not c.startswith("weak")]
    weak = [c for c in captions if c.startswith("weak")]
    # The blue photos first, above the line; everything after them is marked weak.
    assert [c.split(" · ")[1][:4] for c in strong] == ["blue"] * 3
    assert weak and all("blue" not in c for c in weak)
    assert captions == strong + weak
    assert any(m.startswith("3 strong matches for “blue”") for m in messages)
    assert not any("best matches" in m for m in messages)


def test_similar_photos_are_captioned_folder_over_name_cut_at_the_end(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = indexed
    row = shown_names(window).index("red0")
    window.find_similar(int(window.model.rows.ids[row]), "red0.jpg")
    qtbot.waitUntil(lambda: window.similar.list.count() > 0, timeout=5_000)
    item = window.similar.list.item(0)
    assert item is not None
    score, folder, name = item.text().split("\n")
    assert float(score) > 0 and folder == "photos" and name.endswith(".jpg")
    assert window.similar.list.textElideMode() == Qt.TextElideMode.ElideRight


def test_choosing_the_default_model_clears_a_bad_clip_warning(tmp_path: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from photomgr.core.models.base import ModelUnavailable
    from tests.fakes import FakeEmbedder

    fake = FakeEmbedder()

    def load(backend: str, **kwargs: object) -> FakeEmbedder:
        if backend == "clip":
            raise ModelUnavailable("the CLIP weights file is damaged")
        return fake

    monkeypatch.setattr("photomgr.core.services.model_choice.load_embedder", load)
    library = tmp_path / "library"
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.host.model.state != "loading", timeout=10_000)
    window.use_model("clip", weights=tmp_path / "bad.safetensors")
    qtbot.waitUntil(lambda: "damaged" in window.banner.label.text(), timeout=10_000)
    window.menu_actions.use_default.trigger()
    qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=10_000)
    qtbot.waitUntil(lambda: window.host.model.backend == "default", timeout=10_000)
    window.shutdown()
    with sqlite3.connect(library / "library.db") as conn:
        assert dict(conn.execute("SELECT key, value FROM settings"))["model.backend"] == "default"
    again = MainWindow(library)  # the next launch does not try the bad file again
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.host.model.state != "loading", timeout=10_000)
    qtbot.wait(300)
    assert again.banner.isHidden()
    again.shutdown()


def test_duplicates_tell_copies_apart_and_keep_one_hides_the_rest(indexed: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from PySide6.QtGui import QAction

    from photomgr.gui.gallery.model import IdRole

    window = indexed
    duplicates.show_duplicates(window)
    qtbot.waitUntil(lambda: window.feed.showing.kind == "duplicates" and len(shown_names(window)) > 0,
                    timeout=5_000)
    qtbot.waitUntil(lambda: "×" in str(window.model.index(0).data()), timeout=5_000)
    captions = {stem: str(window.model.index(r).data()) for r, stem in enumerate(shown_names(window))}
    # "#1 · 3.2 KB · 320×240 · green0.jpg": the group, the size and pixels of each copy.
    group = captions["green0"].split(" · ")[0]
    assert group.startswith("#") and captions["green0-copy"].startswith(group + " · ")
    assert "320×240" in captions["green0"]
    messages: list[str] = []
    window.feed.message.connect(messages.append)
    window.feed.refetch()
    qtbot.waitUntil(lambda: bool(messages), timeout=5_000)
    assert messages[-1] == "3 groups of duplicates (10 photos)"  # the fake colours: one per colour
    members = [stem for stem, text in captions.items() if text.startswith(group + " · ")]

    row = shown_names(window).index("green0")
    keep = int(window.model.index(row).data(IdRole))
    menu = window.photo_menu(window.model.index(row))
    action = next(a for a in menu.actions() if isinstance(a, QAction) and a.text().startswith("Keep"))
    assert action.text() == f"Keep this one, hide the other {len(members) - 1} photos of {group}"
    action.trigger()
    qtbot.waitUntil(lambda: "green0-copy" not in shown_names(window), timeout=5_000)
    window.set_folder(None)
    window.sidebar.select_folder(None)
    qtbot.waitUntil(lambda: len(shown_names(window)) == 10 - (len(members) - 1), timeout=5_000)
    assert keep in window.model.rows.ids.tolist()
    # The sidebar counts what the gallery lists: the hidden copies are not counted.
    shown = 10 - (len(members) - 1)
    qtbot.waitUntil(lambda: window.sidebar.all_photos.text(0) == f"All photos ({shown})", timeout=5_000)
    folders = window.sidebar._folder_items()
    assert [item.text(0) for item in folders.values()] == [f"photos ({shown})"]
    with sqlite3.connect(window.paths.database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM hidden_photos").fetchone()[0] == len(members) - 1
    window.undo_stack.undo()  # shown again
    window.feed.query.invalidate()
    qtbot.waitUntil(lambda: "green0-copy" in shown_names(window), timeout=5_000)
