"""Re-reading keywords after photomgr's own writes, broken sidecars and renamed or old labels:
what the user did in the library stands (found in review of the incremental re-read)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from photomgr.core.library import descriptions
from photomgr.core.library.database import Library
from photomgr.core.library.labels import CONFIRMED
from photomgr.core.library.transaction import write_transaction
from photomgr.core.ops.describing import DescriptionOps
from photomgr.core.ops.interop import InteropOps
from photomgr.core.ops.tagging import Memo, TagOps
from photomgr.core.services.indexing import index_folders
from photomgr.core.xmp.parse import parse_packet
from tests.conftest import make_photo
from tests.core.ops.test_interop_ops import _saved_later
from tests.core.xmp.xmp_fixtures import DARKTABLE, LIGHTROOM

BIG_DOG = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>Big  Dog</rdf:li>
 </rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    make_photo(photos / "a.jpg", seed=1)
    (photos / "a.xmp").write_text(LIGHTROOM)  # Animals|Dog, beach, ...
    make_photo(photos / "b.jpg", seed=2)
    (photos / "b.jpg.xmp").write_text(DARKTABLE)
    make_photo(photos / "sub" / "d.jpg", seed=4)
    return photos


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library(tmp_path / "lib")
    yield lib
    lib.close()


def _names(library: Library) -> list[str]:
    return sorted(n for (n,) in library.conn.execute("SELECT name FROM labels"))


def test_a_label_stored_before_names_were_cleaned_gets_no_twin(library: Library, tree: Path) -> None:
    index_folders(library, [tree])
    with write_transaction(library.conn):  # what a version before 3c39eeb stored for "Big  Dog"
        library.conn.execute("INSERT INTO labels (name, prompts, threshold, created_at, updated_at)"
                             " VALUES ('Big  Dog', '[]', NULL, '', '')")
    _saved_later(tree / "sub" / "d.jpg.xmp", BIG_DOG)
    report = InteropOps(library.conn).import_keywords().value
    assert report.labels_added == [] and report.confirmed == 1
    assert [n for n in _names(library) if "dog" in n.lower() and n != "Dog"] == ["Big  Dog"]


def _decisions(library: Library) -> dict[tuple[str, str], str]:
    rows = library.conn.execute(
        "SELECT p.path, l.name, d.source FROM tag_decisions d JOIN photos p ON p.id = d.photo_id"
        " JOIN labels l ON l.id = d.label_id")
    return {(Path(p).name, n): s for p, n, s in rows}


def test_a_renamed_label_loses_its_confirmation_when_its_keyword_leaves(library: Library, tree: Path) -> None:
    index_folders(library, [tree])
    tags = TagOps(library.conn)
    tags.rename_label(tags.labels.by_name("Dog").id, "Puppy")
    _saved_later(tree / "a.xmp")  # read again, 'Dog' still there: the renamed label keeps it
    assert InteropOps(library.conn).import_keywords().value.withdrawn == 0
    assert _decisions(library)[("a.jpg", "Puppy")] == "keyword"
    _saved_later(tree / "a.xmp", LIGHTROOM.replace("<rdf:li>Dog</rdf:li>", "")
                 .replace("<rdf:li>Animals|Dog</rdf:li>", ""))
    report = InteropOps(library.conn).import_keywords().value
    assert report.withdrawn == 1 and ("a.jpg", "Puppy") not in _decisions(library)  # was: kept
    assert _decisions(library)[("a.jpg", "beach")] == "keyword"


ANNA = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt>
 <rdf:li xml:lang="x-default">Anna at the lake</rdf:li></rdf:Alt></dc:description>
 <dc:subject><rdf:Bag><rdf:li>Anna</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_a_sidecar_that_cannot_be_read_takes_nothing_back(library: Library, tree: Path) -> None:
    """Another tool half-way through saving a sidecar (or a damaged one) says nothing about
    what the photo lost: read again once it is whole, what the user did still stands."""
    (tree / "sub" / "d.jpg.xmp").write_text(ANNA)
    index_folders(library, [tree])
    pid = library.conn.execute("SELECT id FROM photos WHERE path LIKE '%d.jpg'").fetchone()[0]
    assert descriptions.user_text(library.conn, pid) == "Anna at the lake"
    tags = TagOps(library.conn)
    tags.remove_label(tags.labels.by_name("beach").id)  # beach: a keyword of a.xmp
    _saved_later(tree / "a.xmp", LIGHTROOM[: len(LIGHTROOM) // 2])
    _saved_later(tree / "sub" / "d.jpg.xmp", ANNA[:120])
    broken = InteropOps(library.conn).import_keywords().value
    assert broken.read == 2 and len(broken.problems) == 2 and broken.withdrawn == 0
    assert descriptions.user_text(library.conn, pid) == "Anna at the lake"  # was: deleted
    assert _decisions(library)[("a.jpg", "Dog")] == "keyword"  # was: withdrawn
    assert InteropOps(library.conn).import_keywords().value.read == 2  # tried again
    _saved_later(tree / "a.xmp", LIGHTROOM)  # the tool finished saving
    _saved_later(tree / "sub" / "d.jpg.xmp", ANNA)
    whole = InteropOps(library.conn).import_keywords().value
    assert whole.labels_added == [] and whole.confirmed == 0 and whole.descriptions == 0
    assert "beach" not in _names(library)  # was: created again
    assert InteropOps(library.conn).import_keywords().value.read == 0


def test_photomgrs_own_sidecar_does_not_bring_back_what_the_user_undid(library: Library, tree: Path) -> None:
    """`xmp write`, then the user removes a label, clears a tag and a description: the next
    read takes photomgr's own sidecar for what it is, not for another tool's new keywords."""
    index_folders(library, [tree])
    tags = TagOps(library.conn)
    ops = InteropOps(library.conn)
    pid = library.conn.execute("SELECT id FROM photos WHERE path LIKE '%d.jpg'").fetchone()[0]
    zebra = tags.add_label("zebra", None, None, Memo()).value
    tags.decide([pid], zebra.id, CONFIRMED, Memo())
    tags.decide([pid], tags.labels.by_name("beach").id, CONFIRMED, Memo())
    DescriptionOps(library.conn).set_user(pid, "Bob on a bike")
    assert ops.write_sidecars([tree / "sub"]).value.written == [str(tree / "sub" / "d.jpg.xmp")]
    assert ops.import_keywords().value.read == 0  # photomgr's own file is read already
    tags.remove_label(zebra.id)
    tags.decide([pid], tags.labels.by_name("beach").id, None)
    DescriptionOps(library.conn).clear_user(pid)
    index_folders(library, [tree])
    assert "zebra" not in _names(library)  # was: created again from the sidecar
    assert ("d.jpg", "beach") not in _decisions(library)  # was: confirmed again
    assert descriptions.user_text(library.conn, pid) is None  # was: "Bob on a bike" again
    written = ops.write_sidecars([tree / "sub"]).value
    assert written.written == [str(tree / "sub" / "d.jpg.xmp")]  # was: 1 unchanged, Bob kept
    data = parse_packet((tree / "sub" / "d.jpg.xmp").read_bytes())
    assert data.description is None and ("beach",) not in data.keywords
    # (a removed label's keyword is no longer photomgr's: it stays in the sidecar, as before)
    assert ops.import_keywords().value.read == 0
    # Another tool's edit made after photomgr's write is still read as an edit.
    _saved_later(tree / "sub" / "d.jpg.xmp", ANNA)
    report = ops.import_keywords().value
    assert report.labels_added == ["Anna"] and descriptions.user_text(library.conn, pid) == "Anna at the lake"


def test_an_unread_edit_is_still_applied_after_photomgr_writes(library: Library, tree: Path) -> None:
    """Another tool edits a sidecar, then photomgr writes it before reading it: the other
    tool's keywords are new at the next read (photomgr does not record its write as read)."""
    index_folders(library, [tree])
    _saved_later(tree / "b.jpg.xmp", DARKTABLE.replace("mountain</rdf:li>", "glacier</rdf:li>"))
    ops = InteropOps(library.conn)
    assert ops.write_sidecars([tree], naming="ext").value.written
    report = ops.import_keywords().value
    assert report.labels_added == ["glacier"] and ("b.jpg", "glacier") in _decisions(library)
