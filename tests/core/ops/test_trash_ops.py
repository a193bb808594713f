"""Move to Trash and its undo (core/ops/trash.py): the files come back from the trash to where
they were, and the library's rows with them (tags, decisions, description, hidden mark, vectors)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from photomgr.core.library import descriptions, hidden, photo_rows
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.vectors import VectorStore
from photomgr.core.ops.hiding import hide_photos
from photomgr.core.ops.library_ops import LibraryOps
from photomgr.core.ops.results import CONFIRMED, REJECTED
from photomgr.core.ops.tagging import Memo
from photomgr.core.ops.trash import TAKEN, TrashMemo, trash_photos, undo_trash
from photomgr.core.services.indexing import index_folders
from tests.conftest import make_photo
from tests.fakes import FakeEmbedder
from tests.gui.conftest import colour_folder


class FreedesktopTrash:
    """Moves files the way a freedesktop.org trash does: files/NAME and info/NAME.trashinfo."""

    def __init__(self, root: Path) -> None:
        self.files, self.info = root / "files", root / "info"
        self.files.mkdir(parents=True)
        self.info.mkdir()

    def __call__(self, path: Path) -> Path:
        target = self.files / path.name
        n = 1
        while target.exists():  # a second file of that name: the trash keeps both
            target, n = self.files / f"{path.name}.{n}", n + 1
        (self.info / f"{target.name}.trashinfo").write_text(f"[Trash Info]\nPath={path}\n")
        path.rename(target)
        return target


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[LibraryOps, Path, dict[str, int]]]:
    fake = FakeEmbedder()
    folder = colour_folder(tmp_path / "photos")
    with Library(tmp_path / "lib") as lib:
        index_folders(lib, [folder], embedder=fake)
        ops = LibraryOps(lib)
        ops.use_active_model(lambda: fake)
        ids = {Path(p).stem: i for i, p in lib.conn.execute("SELECT id, path FROM photos")}
        yield ops, folder, ids


def _state(ops: LibraryOps, ids: list[int]) -> dict[str, object]:
    """What a user would see of these photos (and the label counts)."""
    store, vectors = PhotoStore(ops.conn), VectorStore(ops.conn)
    model = ops.tags.engine.model_id if ops.tags.engine else ""
    return {
        "paths": {i: (row.path if (row := store.by_id(i)) else None) for i in ids},
        "decisions": sorted((d.photo_id, d.label_id, d.state, d.source) for i in ids
                            for d in ops.tags.labels.decisions_for_photo(i)),
        "descriptions": {i: (d.text if (d := descriptions.shown_one(ops.conn, i)) else None) for i in ids},
        "hidden": sorted(hidden.hidden_among(ops.conn, ids)),
        "vectors": sorted(i for i in ids if vectors.get(i, model) is not None),
        "counts": [(s.name, s.photos) for s in ops.tags.summaries()],
        "text_search": sorted(r[0] for r in ops.conn.execute(
            "SELECT rowid FROM photo_text WHERE photo_text MATCH 'lighthouse'")),
    }


def test_undo_puts_files_and_rows_back(library: tuple[LibraryOps, Path, dict[str, int]],
                                       tmp_path: Path) -> None:
    ops, folder, ids = library
    label = ops.tags.add_label("red", None, None, Memo()).value
    ops.tags.decide([ids["red1"]], label.id, CONFIRMED, Memo())
    ops.tags.decide([ids["red2"]], label.id, REJECTED, Memo())
    ops.descriptions.set_user(ids["red1"], "a red card by the lighthouse")
    hide_photos(ops, [ids["red2"]])
    gone = [ids["red1"], ids["red2"]]
    before = _state(ops, gone)
    assert before["text_search"] == [ids["red1"]] and before["hidden"] == [ids["red2"]]
    trash = FreedesktopTrash(tmp_path / "Trash")
    memo = TrashMemo()

    result = trash_photos(ops, gone, trash, memo).value
    assert sorted(result.photo_ids) == sorted(gone) and result.failed == ()
    assert not (folder / "red1.jpg").exists() and (trash.files / "red1.jpg").exists()
    after = _state(ops, gone)
    assert after["paths"] == {i: None for i in gone} and after["decisions"] == [] and after["vectors"] == []

    undone = undo_trash(ops, memo).value  # was: no undo; restore from the trash and rescan
    assert sorted(undone.photo_ids) == sorted(gone) and undone.failed == ()
    assert (folder / "red1.jpg").exists() and (folder / "red2.jpg").exists()
    assert list(trash.files.iterdir()) == [] and list(trash.info.iterdir()) == []
    assert _state(ops, gone) == before
    assert undo_trash(ops, memo).value.photo_ids == ()  # undone once: nothing more to do

    # redo, then undo again: the same memo serves the next round
    assert sorted(trash_photos(ops, gone, trash, memo).value.photo_ids) == sorted(gone)
    assert sorted(undo_trash(ops, memo).value.photo_ids) == sorted(gone)
    assert _state(ops, gone) == before


def test_a_taken_place_or_an_unknown_trash_path_is_reported_and_left_alone(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    ops, folder, ids = library
    trash = FreedesktopTrash(tmp_path / "Trash")
    memo = TrashMemo()
    trash_photos(ops, [ids["blue0"], ids["blue1"]], trash, memo)
    (folder / "blue0.jpg").write_bytes(b"another file, put there since")
    undone = undo_trash(ops, memo).value
    assert undone.photo_ids == (ids["blue1"],)
    assert [(Path(p).name, why) for p, why in undone.failed] == [
        ("blue0.jpg", "another file is in its place now")]
    assert (folder / "blue0.jpg").read_bytes() == b"another file, put there since"  # never overwritten
    assert (trash.files / "blue0.jpg").exists()  # still in the trash
    assert PhotoStore(ops.conn).by_id(ids["blue0"]) is None

    memo = TrashMemo()
    trash_photos(ops, [ids["green1"]], lambda path: path.unlink(), memo)  # a mover that says nothing
    undone = undo_trash(ops, memo).value
    assert undone.photo_ids == () and "not known" in undone.failed[0][1]


def test_a_retry_after_a_taken_place_is_freed_puts_the_rest_back(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    """What one undo could not put back stays in the memo, rows and all: after a redo, the next
    undo puts it back with its tags (was: the redo's memo replaced it, its tags were lost)."""
    ops, folder, ids = library
    label = ops.tags.add_label("blue", None, None, Memo()).value
    ops.tags.decide([ids["blue0"]], label.id, CONFIRMED, Memo())
    gone = [ids["blue0"], ids["blue1"]]
    before = _state(ops, gone)
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    trash_photos(ops, gone, trash, memo)
    (folder / "blue0.jpg").write_bytes(b"in its place")
    undone = undo_trash(ops, memo).value
    assert undone.photo_ids == (ids["blue1"],) and undone.kept == (str(folder / "blue0.jpg"),)
    assert (trash.info / "blue0.jpg.trashinfo").exists()  # still listed in the desktop's trash
    (folder / "blue0.jpg").unlink()
    assert trash_photos(ops, gone, trash, memo).value.photo_ids == (ids["blue1"],)  # redo
    undone = undo_trash(ops, memo).value
    assert sorted(undone.photo_ids) == sorted(gone) and undone.failed == ()
    assert _state(ops, gone) == before and list(trash.files.iterdir()) == []


def test_an_id_taken_meanwhile_gives_the_photo_a_new_one(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    """The library numbers a new photo after the highest id: one scanned in after the trash may
    take the trashed photo's id. Undo puts the photo back under a new id, its tags with it (was:
    "the library holds another photo there now", its tags lost)."""
    ops, folder, ids = library
    newest = max(ids.values())
    name = next(n for n, i in ids.items() if i == newest)
    label = ops.tags.add_label("newest", None, None, Memo()).value
    ops.tags.decide([newest], label.id, CONFIRMED, Memo())
    ops.descriptions.set_user(newest, "a card by the lighthouse")
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    trash_photos(ops, [newest], trash, memo)
    later = colour_folder(tmp_path / "later")
    index_folders(ops.library, [later], embedder=FakeEmbedder())
    store = PhotoStore(ops.conn)
    assert store.by_id(newest) is not None and Path(store.by_id(newest).path).parent == later  # type: ignore[union-attr]
    undone = undo_trash(ops, memo).value
    assert undone.failed == () and len(undone.photo_ids) == 1 and undone.photo_ids[0] != newest
    back = store.by_id(undone.photo_ids[0])
    assert back is not None and back.path == str(folder / f"{name}.jpg") and (folder / f"{name}.jpg").exists()
    decided = [(d.label_id, d.state) for d in ops.tags.labels.decisions_for_photo(back.id)]
    assert decided == [(label.id, CONFIRMED)]
    assert ops.tags.labels.decisions_for_photo(newest) == []  # the later photo got none of its rows
    assert VectorStore(ops.conn).get(back.id, ops.tags.engine.model_id) is not None  # type: ignore[union-attr]
    assert ops.conn.execute("SELECT rowid FROM photo_text WHERE photo_text MATCH 'lighthouse'"
                            ).fetchall() == [(back.id,)]  # text search finds it under its new id
    # Redo moves that photo again, under its new id, and leaves the later one alone.
    assert memo.to_trash([newest]) == [back.id]
    assert trash_photos(ops, memo.to_trash([newest]), trash, memo).value.photo_ids == (back.id,)
    assert not (folder / f"{name}.jpg").exists() and store.by_id(newest) is not None


def test_a_library_that_cannot_be_written_moves_the_files_back(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The files that went to the trash come back when the library cannot forget them (another
    writer, a full disk), and the ones undo moved back return to the trash when it cannot put
    their rows back: the library and the folder always agree, the memo is kept for a retry."""
    ops, folder, ids = library
    gone = [ids["red0"], ids["red1"]]
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()

    def full(*_a: object) -> list[photo_rows.PhotoRows]:
        raise OSError(28, "no space left on device")

    with monkeypatch.context() as m:
        m.setattr(photo_rows, "take", full)
        with pytest.raises(OSError, match="no space"):
            trash_photos(ops, gone, trash, memo)
    assert (folder / "red0.jpg").exists() and (folder / "red1.jpg").exists()
    assert list(trash.files.iterdir()) == [] and list(trash.info.iterdir()) == []
    assert all(PhotoStore(ops.conn).by_id(i) is not None for i in gone) and not memo.done

    trash_photos(ops, gone, trash, memo)
    with monkeypatch.context() as m:
        m.setattr(photo_rows, "put_back", lambda *_a: (_ for _ in ()).throw(OSError(28, "no space left")))
        with pytest.raises(OSError, match="no space"):
            undo_trash(ops, memo)
    assert not (folder / "red0.jpg").exists() and len(list(trash.info.iterdir())) == 2  # as before
    assert memo.to_trash(gone) == []  # a redo now moves nothing: they are in the trash already
    assert sorted(undo_trash(ops, memo).value.photo_ids) == sorted(gone)  # the retry puts them back
    assert (folder / "red0.jpg").exists() and list(trash.files.iterdir()) == []


def test_two_photos_in_one_memo_with_the_same_id_each_get_their_own_rows_back(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    """Found in review: the memo looked rows up by photo id, but one memo can hold a photo still
    in the trash and another that came back under that very id (ids are reused) and was trashed
    again; undo then gave one photo the other's rows and lost its own."""
    ops, folder, ids = library
    (a_name, a), (b_name, b) = sorted(ids.items(), key=lambda kv: kv[1])[-2:]
    label = ops.tags.add_label("mine", None, None, Memo()).value
    ops.tags.decide([b], label.id, CONFIRMED, Memo())  # only the newest photo, b, is tagged
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    trash_photos(ops, [a, b], trash, memo)
    make_photo(folder / f"{b_name}.jpg", seed=99)  # a new file at b's place, scanned in: id a
    index_folders(ops.library, [folder], embedder=FakeEmbedder())
    first = undo_trash(ops, memo).value  # a comes back under a new id; b's place is taken
    assert len(first.photo_ids) == 1 and first.kept == (str(folder / f"{b_name}.jpg"),)
    trash_photos(ops, memo.to_trash([a, b]), trash, memo)  # redo: a goes to the trash again
    blocker = PhotoStore(ops.conn).find(folder / f"{b_name}.jpg")
    assert blocker is not None and blocker.id == a  # the new file took a's old id
    trash_photos(ops, [blocker.id], trash, TrashMemo())  # the user frees b's place
    second = undo_trash(ops, memo).value
    assert second.failed == () and len(second.photo_ids) == 2
    store = PhotoStore(ops.conn)
    back = {Path(row.path).stem: row.id for i in second.photo_ids if (row := store.by_id(i))}
    assert sorted(back) == sorted([a_name, b_name])
    assert [(d.label_id, d.state) for d in ops.tags.labels.decisions_for_photo(back[b_name])] == [
        (label.id, CONFIRMED)]
    assert ops.tags.labels.decisions_for_photo(back[a_name]) == []


def test_a_mover_that_fails_mid_way_leaves_nothing_half_done(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    """Not an OSError (a bug in a mover, a trash that raises its own error) after some files
    moved: those go back where the library says they are, and the error reaches the caller."""
    ops, folder, ids = library
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    calls: list[Path] = []

    def flaky(path: Path) -> Path:
        calls.append(path)
        if len(calls) == 2:
            raise RuntimeError("the trash broke")
        return trash(path)

    with pytest.raises(RuntimeError, match="the trash broke"):
        trash_photos(ops, [ids["red0"], ids["red1"], ids["blue0"]], flaky, memo)
    assert all((folder / f"{n}.jpg").exists() for n in ("red0", "red1", "blue0"))
    assert list(trash.files.iterdir()) == [] and not memo.done
    assert all(PhotoStore(ops.conn).by_id(ids[n]) is not None for n in ("red0", "red1", "blue0"))


def test_a_file_that_appears_after_the_check_is_never_replaced(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo checks that a photo's place is free, then moves it back: a file written there in
    between (a sync client, a camera import) was replaced by os.rename, and lost. Now the move
    itself refuses; the photo stays in the trash, with its rows, for another try."""
    ops, folder, ids = library
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    trash_photos(ops, [ids["blue0"]], trash, memo)
    place = folder / "blue0.jpg"
    real_lexists = os.path.lexists

    def lexists(path: object) -> bool:
        if Path(str(path)) == place and not place.exists():
            answer = real_lexists(path)  # type: ignore[arg-type]
            place.write_bytes(b"written just after the check")
            return answer
        return real_lexists(path)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(os.path, "lexists", lexists)
        undone = undo_trash(ops, memo).value
    assert place.read_bytes() == b"written just after the check"  # was: the trashed photo's bytes
    assert [(Path(p).name, why) for p, why in undone.failed] == [("blue0.jpg", TAKEN)]
    assert undone.kept == (str(place),) and (trash.files / "blue0.jpg").exists()
    place.unlink()  # the user frees the place: Redo then Undo puts it back
    trash_photos(ops, memo.to_trash([ids["blue0"]]), trash, memo)
    assert undo_trash(ops, memo).value.photo_ids == (ids["blue0"],) and place.exists()


def test_a_row_left_by_a_file_gone_from_the_place_gives_way(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    """After the trash, another file was scanned in at the photo's place and deleted since;
    its row stayed. Undo put the file back but not its rows ("the library holds another photo
    there now"), and the next scan gave the file that row, the other file's tags with it. Now
    the row of the file that is gone gives way in the undo's transaction."""
    ops, folder, ids = library
    mine = ops.tags.add_label("mine", None, None, Memo()).value
    theirs = ops.tags.add_label("theirs", None, None, Memo()).value
    ops.tags.decide([ids["blue0"]], mine.id, CONFIRMED, Memo())
    before = _state(ops, [ids["blue0"]])
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    trash_photos(ops, [ids["blue0"]], trash, memo)
    place = folder / "blue0.jpg"
    make_photo(place, seed=99)  # another file at its place, scanned in and tagged
    index_folders(ops.library, [folder], embedder=FakeEmbedder())
    other = PhotoStore(ops.conn).by_path(str(place))
    assert other is not None and other.id != ids["blue0"]
    ops.tags.decide([other.id], theirs.id, CONFIRMED, Memo())
    place.unlink()  # and deleted again; the library still lists it

    undone = undo_trash(ops, memo).value
    assert undone.failed == () and undone.photo_ids == (ids["blue0"],) and undone.replaced == (str(place),)
    assert _state(ops, [ids["blue0"]]) == before  # "theirs" counts no photo again
    assert PhotoStore(ops.conn).by_id(other.id) is None
    index_folders(ops.library, [folder], embedder=FakeEmbedder())  # the next scan keeps it so
    assert [d.label_id for d in ops.tags.labels.decisions_for_photo(ids["blue0"])] == [mine.id]


def test_redo_returns_the_row_that_gave_way(
        library: tuple[LibraryOps, Path, dict[str, int]], tmp_path: Path) -> None:
    """The entry that gave way may be of a file that was only moved: the undo keeps its rows,
    and the redo returns them with their tags (was: deleted for good, so Undo then Redo lost
    the other photo's tags). Undo again sets them aside again."""
    ops, folder, ids = library
    theirs = ops.tags.add_label("theirs", None, None, Memo()).value
    trash, memo = FreedesktopTrash(tmp_path / "Trash"), TrashMemo()
    trash_photos(ops, [ids["blue0"]], trash, memo)
    place = folder / "blue0.jpg"
    make_photo(place, seed=99)
    index_folders(ops.library, [folder], embedder=FakeEmbedder())
    other = PhotoStore(ops.conn).by_path(str(place))
    assert other is not None
    ops.tags.decide([other.id], theirs.id, CONFIRMED, Memo())
    theirs_rows = _state(ops, [other.id])
    place.rename(folder / "moved-away.jpg")  # moved, not deleted: the library still lists it here

    assert undo_trash(ops, memo).value.replaced == (str(place),)
    assert PhotoStore(ops.conn).by_id(other.id) is None
    redone = trash_photos(ops, memo.to_trash([ids["blue0"]]), trash, memo)
    assert redone.value.photo_ids == (ids["blue0"],) and other.id in redone.changes.photos
    assert _state(ops, [other.id]) == theirs_rows  # back, with its tag
    assert memo.set_aside == []
    assert undo_trash(ops, memo).value.replaced == (str(place),)  # and the cycle repeats
    assert len(memo.set_aside) == 1
