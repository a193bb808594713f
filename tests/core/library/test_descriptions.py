"""Descriptions in the library: the user's is never overwritten by a model, and the full-text
index follows photos and descriptions (triggers) without any code writing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photomgr.core.library import descriptions
from photomgr.core.library.database import Library
from photomgr.core.library.photos import PhotoRecord, PhotoStore
from photomgr.core.library.transaction import write_transaction
from photomgr.core.library.vectors import VectorStore

CAPTIONER = "default-caption:test"


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "lib")
    store = PhotoStore(lib.conn)
    with store.transaction():
        for name in ("/photos/Holiday Italy/IMG_0001.jpg", "/photos/home/cat_on_sofa.jpg",
                     "/photos/home/IMG_0002.jpg"):
            store.insert(PhotoRecord(name, 10, 1, f"h-{name}", None, None))
    return lib


def _ids(matches: list[tuple[int, float]]) -> list[int]:
    return [pid for pid, _ in matches]


def test_a_model_never_overwrites_the_users_description(library: Library) -> None:
    conn = library.conn
    with write_transaction(conn):
        assert descriptions.set_user(conn, 1, "Anna at the Trevi fountain") is None
        descriptions.put_model(conn, CAPTIONER, [(1, "a woman standing in front of a fountain"),
                                                  (2, "a cat lying on a couch")])
    shown = descriptions.shown(conn, [1, 2, 3])
    assert (shown[1].text, shown[1].source, shown[1].model_id) == ("Anna at the Trevi fountain", "user", None)
    assert (shown[2].text, shown[2].source, shown[2].model_id) == (
        "a cat lying on a couch", "model", CAPTIONER)
    assert 3 not in shown
    with write_transaction(conn):  # a later model run (a re-index, another captioner)
        descriptions.put_model(conn, "other-captioner", [(1, "a statue"), (2, "a cat on a sofa")])
    shown = descriptions.shown(conn, [1, 2])
    assert shown[1].text == "Anna at the Trevi fountain" and shown[1].source == "user"
    assert (shown[2].text, shown[2].model_id) == ("a cat on a sofa", "other-captioner")


def test_clearing_the_users_description_shows_the_models_again(library: Library) -> None:
    conn = library.conn
    with write_transaction(conn):
        descriptions.put_model(conn, CAPTIONER, [(2, "a cat lying on a couch")])
        assert descriptions.set_user(conn, 2, "  Felix  ") is None
        assert descriptions.set_user(conn, 2, "Felix asleep") == "Felix"  # the old value, for undo
    assert descriptions.shown_one(conn, 2) == descriptions.Description(2, "Felix asleep", "user", None)
    with write_transaction(conn):
        assert descriptions.set_user(conn, 2, None) == "Felix asleep"
    assert descriptions.shown_one(conn, 2) == descriptions.Description(
        2, "a cat lying on a couch", "model", CAPTIONER)
    with write_transaction(conn):
        assert descriptions.set_user(conn, 2, "   ") is None  # blank: nothing to remove
    assert descriptions.count(conn) == (1, 0)


def test_full_text_finds_descriptions_file_names_and_folders(library: Library) -> None:
    conn = library.conn
    with write_transaction(conn):
        descriptions.put_model(conn, CAPTIONER, [(1, "a dog is running through the water"),
                                                  (3, "two dogs playing in the snow")])
    assert _ids(descriptions.text_matches(conn, "dog in water", 10)) == [1]
    assert set(_ids(descriptions.text_matches(conn, "dogs", 10))) == {1, 3}  # stemmed
    assert _ids(descriptions.text_matches(conn, "cat", 10)) == [2]  # file name cat_on_sofa.jpg
    assert _ids(descriptions.text_matches(conn, "italy", 10)) == [1]  # folder name
    assert _ids(descriptions.text_matches(conn, "IMG_0002", 10)) == [3]
    assert descriptions.text_matches(conn, "  ", 10) == []
    assert descriptions.text_matches(conn, 'dog" OR NEAR(', 10) != []  # words, never FTS syntax
    with write_transaction(conn):  # the user's words replace the model's in the index
        descriptions.set_user(conn, 1, "Rex at the lake")
    assert _ids(descriptions.text_matches(conn, "dog water", 10)) == []
    assert _ids(descriptions.text_matches(conn, "lake", 10)) == [1]


def test_the_index_follows_moves_content_changes_and_removals(library: Library) -> None:
    conn = library.conn
    store = PhotoStore(conn)
    with write_transaction(conn):
        descriptions.put_model(conn, CAPTIONER, [(2, "a cat lying on a couch")])
        descriptions.set_user(conn, 3, "grandma's kitchen")
    with store.transaction():  # moved (same content): the name and folder follow it
        store.update(2, PhotoRecord("/photos/pets/felix.jpg", 10, 1, "h-/photos/home/cat_on_sofa.jpg",
                                    None, None))
    assert _ids(descriptions.text_matches(conn, "felix pets", 10)) == [2]
    assert _ids(descriptions.text_matches(conn, "sofa", 10)) == []
    assert _ids(descriptions.text_matches(conn, "couch", 10)) == [2]
    with store.transaction():  # new content: the model's description of the old one goes
        store.update(2, PhotoRecord("/photos/pets/felix.jpg", 20, 2, "h-new", None, None))
        store.update(3, PhotoRecord("/photos/home/IMG_0002.jpg", 20, 2, "h-new3", None, None))
    assert descriptions.shown_one(conn, 2) is None
    assert descriptions.shown_one(conn, 3).text == "grandma's kitchen"  # type: ignore[union-attr]
    with write_transaction(conn):
        conn.execute("DELETE FROM photos WHERE id = 3")
    assert descriptions.text_matches(conn, "kitchen", 10) == []
    assert conn.execute("SELECT COUNT(*) FROM photo_text").fetchone()[0] == 2


def test_pending_is_photos_with_vectors_and_no_description(library: Library) -> None:
    conn = library.conn
    vec = np.ones(4, dtype=np.float32) / 2
    with write_transaction(conn):
        VectorStore(conn).put_many("m", [(1, vec, None), (2, vec, None), (3, vec, None)])
        descriptions.put_model(conn, CAPTIONER, [(1, "a fountain")])
        descriptions.set_user(conn, 2, "Felix")
    assert [p.id for p in descriptions.pending(conn, "m")] == [3]
    assert descriptions.pending(conn, "other") == []
