"""Keywords in (as confirmed labels, incrementally), sidecars out, folders removed: the
operations behind `photomgr xmp` and indexing, on generated photos."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from photomgr.core.fspaths import path_from_db
from photomgr.core.library.database import Library
from photomgr.core.library.keywords import KeywordStore
from photomgr.core.library.labels import CONFIRMED, REJECTED
from photomgr.core.library.settings import Settings
from photomgr.core.ops.interop import InteropOps
from photomgr.core.ops.tagging import TagOps
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.model_choice import active_model_id
from photomgr.core.xmp.parse import parse_packet
from tests.conftest import make_photo
from tests.core.xmp.xmp_fixtures import DARKTABLE, LIGHTROOM
from tests.fakes import FakeEmbedder

EMBEDDED = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>lighthouse</rdf:li>
 </rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"""


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file() and p.suffix.lower() != ".xmp"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    make_photo(photos / "a.jpg", seed=1)
    (photos / "a.xmp").write_text(LIGHTROOM)  # Lightroom's name: IMG.xmp
    make_photo(photos / "b.jpg", seed=2)
    (photos / "b.jpg.xmp").write_text(DARKTABLE)  # darktable's name: IMG.jpg.xmp
    Image.new("RGB", (40, 30), (1, 2, 3)).save(photos / "c.jpg", "JPEG", xmp=EMBEDDED.encode())
    make_photo(photos / "sub" / "d.jpg", seed=4)
    return photos


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library(tmp_path / "lib")
    yield lib
    lib.close()


def _decisions(library: Library) -> dict[tuple[str, str], tuple[str, str]]:
    rows = library.conn.execute(
        "SELECT p.path, l.name, d.state, d.source FROM tag_decisions d JOIN photos p ON p.id = d.photo_id"
        " JOIN labels l ON l.id = d.label_id")
    return {(Path(path_from_db(path)).name, name): (state, source) for path, name, state, source in rows}


def test_indexing_turns_keywords_into_confirmed_labels(library: Library, tree: Path) -> None:
    result = index_folders(library, [tree])
    assert result.keywords is not None
    assert result.keywords.read == 4 and result.keywords.with_keywords == 3
    names = {n for (n,) in library.conn.execute("SELECT name FROM labels")}
    assert names == {"Animals", "Dog", "beach", "mountain", "snow", "lighthouse"}
    decisions = _decisions(library)
    assert decisions[("a.jpg", "Dog")] == (CONFIRMED, "keyword")
    assert decisions[("b.jpg", "mountain")] == (CONFIRMED, "keyword")
    assert decisions[("c.jpg", "lighthouse")] == (CONFIRMED, "keyword")
    assert not any(photo == "d.jpg" for photo, _ in decisions)
    pid = library.conn.execute("SELECT id FROM photos WHERE path LIKE '%/a.jpg'").fetchone()[0]
    stored = KeywordStore(library.conn).stored(pid)
    assert stored is not None and stored.rating == 4 and ("Animals", "Dog") in stored.keywords
    assert result.as_json()["keywords"]["confirmed"] == 6  # type: ignore[index]


def test_rereading_is_incremental_and_follows_the_sidecar(library: Library, tree: Path) -> None:
    index_folders(library, [tree])
    again = index_folders(library, [tree])
    assert again.keywords is not None and again.keywords.read == 0
    sidecar = tree / "b.jpg.xmp"
    sidecar.write_text(DARKTABLE.replace("<rdf:li>snow</rdf:li>", "<rdf:li>glacier</rdf:li>"))
    st = sidecar.stat()
    os.utime(sidecar, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # an editor saved it
    third = index_folders(library, [tree])
    assert third.keywords is not None and third.keywords.read == 1
    assert third.keywords.withdrawn == 1 and third.keywords.labels_added == ["glacier"]
    decisions = _decisions(library)
    assert ("b.jpg", "snow") not in decisions and decisions[("b.jpg", "glacier")][0] == CONFIRMED


def _saved_later(path: Path, text: str | None = None) -> None:
    """An editor saved the file (new text, or the same): a new mtime, so it is read again."""
    if text is not None:
        path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_a_reread_keeps_what_the_user_did_to_labels_from_keywords(library: Library, tree: Path) -> None:
    """Labels that came from keywords, then removed, renamed or cleared by the user, stay so
    when the photo or its sidecar is read again for another reason (the sidecar edited
    elsewhere, the photo re-saved): only the keywords that changed are applied."""
    index_folders(library, [tree])
    tags = TagOps(library.conn)
    ids = {Path(p).name: i for i, p in library.conn.execute("SELECT id, path FROM photos")}
    tags.remove_label(tags.labels.by_name("snow").id)
    tags.rename_label(tags.labels.by_name("Dog").id, "Puppy")
    tags.decide([ids["a.jpg"]], tags.labels.by_name("beach").id, None)  # cleared by the user
    _saved_later(tree / "b.jpg.xmp", DARKTABLE.replace("mountain</rdf:li>", "glacier</rdf:li>"))
    _saved_later(tree / "a.xmp")  # same keywords, newer file
    report = InteropOps(library.conn).import_keywords().value
    assert report.read == 2 and report.labels_added == ["glacier"]
    names = {n for (n,) in library.conn.execute("SELECT name FROM labels")}
    assert "snow" not in names and "Dog" not in names  # was: both came back
    decisions = _decisions(library)
    assert decisions[("a.jpg", "Puppy")] == (CONFIRMED, "keyword")  # the renamed label keeps it
    assert ("a.jpg", "beach") not in decisions  # was: confirmed again
    assert ("b.jpg", "mountain") not in decisions  # the keyword left the sidecar: withdrawn
    assert decisions[("b.jpg", "glacier")] == (CONFIRMED, "keyword")
    forced = InteropOps(library.conn).import_keywords(force=True).value  # every keyword again
    assert sorted(forced.labels_added) == ["Dog", "snow"]


def test_the_users_own_decision_stands(library: Library, tree: Path) -> None:
    index_folders(library, [tree])
    tags = TagOps(library.conn)
    ids = {Path(p).name: i for i, p in library.conn.execute("SELECT id, path FROM photos")}
    dog = tags.labels.by_name("Dog")
    tags.decide([ids["a.jpg"]], dog.id, REJECTED)
    beach = tags.labels.by_name("beach")
    tags.decide([ids["d.jpg"]], beach.id, CONFIRMED)
    report = InteropOps(library.conn).import_keywords(force=True).value
    assert report.read == 4 and report.confirmed == 0
    decisions = _decisions(library)
    assert decisions[("a.jpg", "Dog")] == (REJECTED, "auto")  # the user judged it: kept
    assert decisions[("d.jpg", "beach")][0] == CONFIRMED  # not a keyword decision: never withdrawn


def test_write_sidecars_round_trip_and_originals_untouched(library: Library, tree: Path) -> None:
    before = _hashes(tree)
    index_folders(library, [tree])
    ops = InteropOps(library.conn)
    tags = TagOps(library.conn)
    ids = {Path(p).name: i for i, p in library.conn.execute("SELECT id, path FROM photos")}
    tags.decide([ids["d.jpg"]], tags.labels.by_name("beach").id, CONFIRMED)
    tags.decide([ids["a.jpg"]], tags.labels.by_name("beach").id, REJECTED)
    lightroom_before = (tree / "a.xmp").read_text()
    report = ops.write_sidecars().value
    written = sorted(Path(p).name for p in report.written)
    assert written == ["a.jpg.xmp", "b.jpg.xmp", "c.jpg.xmp", "d.jpg.xmp"]
    assert (tree / "a.xmp").read_text() == lightroom_before  # the other naming is not ours to write
    a = parse_packet((tree / "a.jpg.xmp").read_bytes())
    assert ("Animals", "Dog") in a.keywords and ("beach",) not in a.keywords  # rejected: left out
    d = parse_packet((tree / "sub" / "d.jpg.xmp").read_bytes())
    assert d.keywords == (("beach",),)
    b_text = (tree / "b.jpg.xmp").read_text()
    assert "darktable:history" in b_text and "darktable|format|jpg" in b_text
    assert ops.write_sidecars().value.written == []  # nothing changed: nothing rewritten
    assert _hashes(tree) == before  # originals byte-identical
    # reading our own sidecars back changes no decision
    again = ops.import_keywords().value
    assert again.confirmed == 0 and again.withdrawn == 0


def test_base_naming_and_auto_tags(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(3):
        make_photo(photos / f"red{i}.jpg", (220, 20, 20), seed=i)
        make_photo(photos / f"blue{i}.jpg", (20, 20, 220), seed=10 + i)
    fake = FakeEmbedder()
    with Library(tmp_path / "lib") as library:
        index_folders(library, [photos], embedder=fake)
        tags = TagOps(library.conn)
        tags.use_model(active_model_id(Settings(library.conn)), lambda: fake)
        from photomgr.core.ops.tagging import NewLabel

        tags.add_labels([NewLabel("red")])
        ops = InteropOps(library.conn)
        ops.configure(naming="base")
        report = ops.write_sidecars(engine=tags.engine, include_auto=True).value
        assert sorted(Path(p).name for p in report.written) == ["red0.xmp", "red1.xmp", "red2.xmp"]
        text = (photos / "red0.xmp").read_text()
        assert "auto|red" in text and parse_packet(text).keywords == ()


def test_keywords_teach_the_label_the_other_photos(tmp_path: Path) -> None:
    """A keyword the text model knows nothing about ("crimson" is no colour word to the fake
    model) still finds the label's other photos: the tagged photos are few-shot examples."""
    photos = tmp_path / "photos"
    photos.mkdir()
    packet = EMBEDDED.replace("lighthouse", "crimson").encode()
    for i in range(4):
        img = Image.new("RGB", (64, 48), (220, 20, 20))
        img.paste((200 - i * 9, 40, 30), (0, 0, 16 + i * 8, 12))
        img.save(photos / f"red{i}.jpg", "JPEG", **({"xmp": packet} if i < 2 else {}))
        make_photo(photos / f"blue{i}.jpg", (20, 20, 220), seed=20 + i)
    fake = FakeEmbedder()
    with Library(tmp_path / "lib") as library:
        index_folders(library, [photos], embedder=fake)
        tags = TagOps(library.conn)
        tags.use_model(active_model_id(Settings(library.conn)), lambda: fake)
        ids, _ = tags.carrying(tags.labels.by_name("crimson"))
        paths = library.conn.execute(
            f"SELECT path FROM photos WHERE id IN ({','.join(map(str, ids.tolist()))})").fetchall()
        assert {Path(p).name for (p,) in paths} == {"red0.jpg", "red1.jpg", "red2.jpg", "red3.jpg"}


def test_remove_folder_forgets_photos_and_keeps_files(library: Library, tree: Path) -> None:
    index_folders(library, [tree])
    before = _hashes(tree)
    ops = InteropOps(library.conn)
    removal = ops.remove_folder(tree / "sub").value
    assert removal.photos == 1 and removal.roots == ()
    assert library.conn.execute("SELECT COUNT(*) FROM photos WHERE path LIKE '%/sub/%'").fetchone()[0] == 0
    assert _hashes(tree) == before and (tree / "sub" / "d.jpg").exists()
    index_folders(library, [tree])  # a rescan of the parent does not bring it back
    assert library.conn.execute("SELECT COUNT(*) FROM photos WHERE path LIKE '%/sub/%'").fetchone()[0] == 0
    index_folders(library, [tree / "sub"])  # adding the folder itself does
    index_folders(library, [tree])
    assert library.conn.execute("SELECT COUNT(*) FROM photos WHERE path LIKE '%/sub/%'").fetchone()[0] == 1
    whole = ops.remove_folder(tree).value
    assert whole.photos == 4 and set(whole.roots) == {str(tree), str(tree / "sub")}
    assert library.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0
    assert library.conn.execute("SELECT COUNT(*) FROM tag_decisions").fetchone()[0] == 0


def test_names_that_are_not_utf8(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "bytes"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9")
    make_photo(folder / f"{name}.jpg", seed=5)
    (folder / f"{name}.jpg.xmp").write_text(DARKTABLE)
    index_folders(library, [folder])
    assert _decisions(library)[(f"{name}.jpg", "snow")] == (CONFIRMED, "keyword")
    tags = TagOps(library.conn)
    pid = next(i for i, p in library.conn.execute("SELECT id, path FROM photos"))
    tags.decide([pid], tags.labels.by_name("mountain").id, REJECTED)
    report = InteropOps(library.conn).write_sidecars([folder]).value
    assert report.failed == [] and len(report.written) == 1
    assert ("mountain",) not in parse_packet((folder / f"{name}.jpg.xmp").read_bytes()).keywords
    assert "\\xe9" in str(report.as_json()["written"])


def test_a_keyword_with_a_line_break_becomes_a_one_line_label(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "multi"
    make_photo(photos / "a.jpg", seed=1)
    (photos / "a.jpg.xmp").write_text(EMBEDDED.replace("<rdf:li>lighthouse</rdf:li>",
                                                       "<rdf:li>summer\n  2006</rdf:li>"))
    index_folders(library, [photos])
    assert [n for (n,) in library.conn.execute("SELECT name FROM labels")] == ["summer 2006"]
    again = InteropOps(library.conn).import_keywords(force=True).value  # the same name: no second label
    assert again.labels_added == []
    assert _decisions(library) == {("a.jpg", "summer 2006"): (CONFIRMED, "keyword")}
