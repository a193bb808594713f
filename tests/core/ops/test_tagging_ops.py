"""The label and tag operations the CLI and the GUI's worker share (no Qt involved)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photomgr.core.library.database import Library
from photomgr.core.library.labels import LabelExists
from photomgr.core.library.settings import Settings
from photomgr.core.library.transaction import revision
from photomgr.core.ops.results import CONFIRMED, REJECTED, LabelScores
from photomgr.core.ops.searching import SearchOps
from photomgr.core.ops.tagging import Memo, NewLabel, TagOps
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.model_choice import active_model_id
from photomgr.gui.worker.results import describe_model
from tests.fakes import FakeEmbedder
from tests.gui.conftest import colour_folder


@pytest.fixture
def ops(tmp_path: Path) -> Iterator[tuple[TagOps, Library, dict[str, int]]]:
    fake = FakeEmbedder()
    library = Library(tmp_path / "lib")
    folder = colour_folder(tmp_path / "photos")
    index_folders(library, [folder], embedder=fake)
    tags = TagOps(library.conn)
    tags.use_model(active_model_id(Settings(library.conn)), lambda: fake)
    ids = {Path(p).stem: i for i, p in library.conn.execute("SELECT id, path FROM photos")}
    yield tags, library, ids
    library.close()


def test_counts_match_the_engine_and_the_live_count(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    tags, _library, ids = ops
    red = tags.add_label("red", None, None, Memo()).value
    assert [(s.name, s.photos) for s in tags.summaries()] == [("red", 3)]
    tags.decide([ids["blue0"]], red.id, CONFIRMED, Memo())
    tags.decide([ids["red2"]], red.id, REJECTED, Memo())
    engine = tags.engine
    assert engine is not None
    expected = sorted(engine.photos_with(red).tolist())
    photos = tags.photos_for_label(red.id)
    assert sorted(photos.ids.tolist()) == expected and tags.summaries()[0].photos == len(expected)
    assert ids["blue0"] in expected and ids["red2"] not in expected
    scores = tags.label_scores(red.id)
    assert scores.confirmed == 1 and len(scores.undecided) == 8  # 10 photos, 2 decided
    assert scores.count_at(scores.threshold) == len(expected)
    assert scores.count_at(0.0) == 9 and scores.count_at(1.01) == 1  # all but the rejected / the confirmed
    tagged = {t.label: t for t in tags.tags_for_photo(ids["blue0"])}
    assert tagged["red"].state == CONFIRMED and tagged["red"].source == "manual"  # below the threshold


def test_undo_memos(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    tags, library, ids = ops
    add = Memo()
    red = tags.add_label("red", None, None, add).value
    memo = Memo()
    tags.decide([ids["red0"], ids["green0"]], red.id, REJECTED, memo)
    tags.decide([ids["red0"]], red.id, CONFIRMED, Memo())
    again = Memo()
    tags.decide([ids["red0"], ids["green0"]], red.id, None, again)  # forget both
    assert tags.labels.decisions_for_label(red.id) == []
    tags.undo_decide(red.id, again)
    states = {d.photo_id: d.state for d in tags.labels.decisions_for_label(red.id)}
    assert states == {ids["red0"]: CONFIRMED, ids["green0"]: REJECTED}

    removed = Memo()
    tags.remove_label(red.id, removed)
    assert tags.labels.all() == []
    tags.undo_remove_label(removed)
    assert tags.labels.by_id(red.id) is not None and len(tags.labels.decisions_for_label(red.id)) == 2
    tags.undo_add_label(add)
    assert tags.labels.all() == []
    tags.add_label("red", None, None, add)  # redo: the same id comes back
    assert tags.labels.by_id(red.id) is not None
    assert library.conn.execute("SELECT COUNT(*) FROM tag_decisions").fetchone()[0] == 0


def test_search_ops_and_helpers(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    tags, library, ids = ops
    search = SearchOps(library.conn, library.paths.index_dir)
    hits = search.similar(tags.engine, ids["red0"], 2)
    assert sorted(Path(h.path).stem for h in hits) == ["red1", "red2"] and hits[0].content_hash
    found = search.text(tags.engine, FakeEmbedder(), "blue", k=3)
    assert [n for n in found.ids.tolist()] and all(
        Path(p).stem.startswith("blue") for p in [next(h.path for h in search.hits([(int(i), 0.0)]))
                                                  for i in found.ids])
    groups = search.duplicates(tags.engine)
    assert groups.captions[ids["green0"]] == groups.captions[ids["green0-copy"]]
    assert LabelScores(1, np.array([0.1, 0.5, 0.9], np.float32), 2, 0.5, 0.5).count_at(0.5) == 4
    assert describe_model("default:efficientnet:v1") == "offline default"
    assert describe_model("clip:ViT-B-32:openai") == "CLIP ViT-B-32 (openai)"


def test_counts_follow_every_decision_change(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    """Two decision sets that the old improvised cache key could not tell apart (same count,
    same id sums, same number confirmed) must give their own counts."""
    tags, _library, ids = ops
    red = tags.add_label("red", None, None, Memo()).value
    p1, p2, p3, p4 = sorted(ids.values())[:4]  # the example: {1, 4} vs {2, 3} confirmed
    tags.decide([p1, p4], red.id, CONFIRMED)
    tags.decide([p2, p3], red.id, REJECTED)
    first = tags.summaries()[0].photos
    first_ids = set(tags.photos_for_label(red.id).ids.tolist())
    tags.decide([p2, p3], red.id, CONFIRMED)
    tags.decide([p1, p4], red.id, REJECTED)
    second = tags.summaries()[0].photos
    second_ids = set(tags.photos_for_label(red.id).ids.tolist())
    assert {p1, p4} <= first_ids and not {p2, p3} & first_ids
    assert {p2, p3} <= second_ids and not {p1, p4} & second_ids
    assert first == len(first_ids) and second == len(second_ids)
    assert tags.labels.by_id(red.id).revision == revision(tags.conn)  # type: ignore[union-attr]


def test_operations_report_their_changes(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    tags, library, ids = ops
    added = tags.add_labels([NewLabel("red"), NewLabel("green")])
    red, green = added.value
    assert added.changes.label_list and added.changes.labels == {red.id, green.id}
    decided = tags.decide([ids["blue0"]], red.id, CONFIRMED)
    assert decided.changes.labels == {red.id} and decided.changes.photos == {ids["blue0"]}
    assert decided.changes.revision == revision(library.conn) > added.changes.revision
    assert not decided.changes.label_list


def test_a_failed_operation_changes_nothing(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    tags, library, _ids = ops
    tags.add_labels([NewLabel("red")])
    before = revision(library.conn)
    with pytest.raises(LabelExists):
        tags.add_labels([NewLabel("green"), NewLabel("red")])  # the second exists: neither is added
    assert [lab.name for lab in tags.labels.all()] == ["red"] and revision(library.conn) == before

    class Broken(FakeEmbedder):
        def embed_label(self, prompts):  # type: ignore[no-untyped-def]
            raise RuntimeError("the text model failed")

    model_id = tags.engine.model_id if tags.engine else None
    tags.engine = None
    tags.use_model(model_id, lambda: Broken())
    with pytest.raises(RuntimeError, match="text model failed"):
        tags.add_labels([NewLabel("blue")])
    assert [lab.name for lab in tags.labels.all()] == ["red"]  # no half-made label


def test_label_names_are_one_line(ops: tuple[TagOps, Library, dict[str, int]]) -> None:
    """A line break, a tab or a control character in a name (a pasted text, `$'a\\nb'` in a
    shell, a keyword from another tool) would break lists, menus and sidecars: it becomes one
    space, or goes; an emoji's joiner stays."""
    tags, library, _ids = ops
    added = tags.add_labels([NewLabel("two\nlines"), NewLabel("\ttab  and\x07bell ")]).value
    assert [label.name for label in added] == ["two lines", "tab andbell"]
    assert tags.labels.by_name("two \n lines").id == added[0].id  # looked up the same way
    with pytest.raises(LabelExists):
        tags.add_labels([NewLabel("Two\r\nLines")])
    with pytest.raises(ValueError, match="needs a name"):
        tags.add_labels([NewLabel("\x00\n")])
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    renamed = tags.rename_label(added[0].id, f"my\nfamily {family}").value
    assert renamed.name == f"my family {family}"
    with library.conn:  # a name stored before names were cleaned is still found as typed
        library.conn.execute("INSERT INTO labels (name, created_at, updated_at) VALUES ('my  dog', '', '')")
    assert tags.labels.by_name("my  dog").name == "my  dog"
