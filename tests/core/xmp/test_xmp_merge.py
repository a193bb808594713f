"""Writing sidecars: other tools' fields survive byte-for-byte, ours are replaced, a sidecar we
cannot read is never overwritten, writes are atomic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photomgr.core.xmp.merge import (
    SidecarContent,
    SidecarError,
    merged_list,
    render_sidecar,
    write_atomically,
    write_sidecar,
)
from photomgr.core.xmp.parse import parse_packet
from tests.core.xmp.xmp_fixtures import DARKTABLE, DIGIKAM, LIGHTROOM, STYLES

MANAGED = frozenset({"dog", "beach", "cat", "sky", "snow", "mountain", "alice", "paris", "animals"})


def _without_owned(text: str) -> str:
    """The text with the elements photomgr owns cut out: what must not change."""
    import re

    for q in ("dc:subject", "lr:hierarchicalSubject", "digiKam:TagsList", "dc:description"):
        text = re.sub(rf"[ \t]*<{q}>.*?</{q}>\n", "", text, flags=re.DOTALL)
    return re.sub(r'\n\s*xmlns:(lr|digiKam)="[^"]*"', "", text)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_merge_keeps_every_other_byte(style: str) -> None:
    before = STYLES[style]
    content = SidecarContent([("Animals", "Dog"), ("sky",)], auto=["cat"],
                             description="A new description", managed=MANAGED)
    after = render_sidecar(before, content)
    assert after != before
    assert _without_owned(after) == _without_owned(before)
    data = parse_packet(after)
    assert ("Animals", "Dog") in data.keywords and ("sky",) in data.keywords
    assert data.description == "A new description"
    assert ("cat",) not in data.keywords  # an auto guess is not a keyword on reading back
    assert "auto|cat" in after and "auto/cat" in after
    # the rating and every foreign namespace are still there
    assert data.rating == parse_packet(before).rating


def test_unmanaged_keywords_stay_and_dropped_labels_leave() -> None:
    content = SidecarContent([("Dog",)], managed=frozenset({"dog", "snow", "mountain"}))
    after = render_sidecar(DARKTABLE, content)
    data = parse_packet(after)
    # snow and mountain are labels the photo no longer carries; darktable's own tags stay
    assert set(data.keywords) == {("Dog",)}
    assert "darktable|format|jpg" in after
    assert "<rdf:Seq>" in after.split("<dc:subject>")[1].split("</dc:subject>")[0]  # list type kept
    # a keyword photomgr has no label for survives in place
    foreign = SidecarContent([("Dog",)], managed=frozenset({"dog"}))
    data = parse_packet(render_sidecar(LIGHTROOM, foreign))
    assert {("Animals",), ("beach",), ("Dog",)} <= set(data.keywords)


def test_hierarchies_list_full_paths_only() -> None:
    content = SidecarContent([("Animals",), ("Animals", "Dog")], managed=frozenset({"animals", "dog"}))
    assert merged_list([], "|", content) == ["Animals|Dog"]
    assert merged_list([], None, content) == ["Animals", "Dog"]


def test_a_name_holding_a_separator_reads_back_as_itself() -> None:
    """Labels "AC/DC" and "cats|dogs": neither hierarchy may split them into a parent and a
    leaf ("DC", "dogs"), which a re-read (another library, another tool) took as labels."""
    content = SidecarContent([("AC/DC",), ("cats|dogs",), ("Bands", "AC/DC")], auto=["in/out", "a|b"],
                             managed=frozenset({"ac/dc", "cats|dogs"}))
    after = render_sidecar(None, content)
    assert set(parse_packet(after).keywords) == {("AC/DC",), ("cats|dogs",), ("Bands", "AC/DC")}
    assert merged_list([], "/", content) == ["cats|dogs", "auto/a|b"]
    assert merged_list([], "|", content) == ["AC/DC", "Bands|AC/DC", "auto|in/out"]
    assert merged_list([], None, content) == ["AC/DC", "cats|dogs"]


def test_nothing_changed_means_the_same_text() -> None:
    content = SidecarContent([("Places", "France", "Paris"), ("People", "Alice")],
                             description="Alice under the Eiffel tower",
                             managed=frozenset({"paris", "alice"}))
    # digiKam's dc:subject has the leaves and its hierarchies the paths: already what we say
    assert render_sidecar(DIGIKAM, content) == DIGIKAM


def test_no_description_leaves_theirs_alone() -> None:
    after = render_sidecar(DIGIKAM, SidecarContent([("Alice",)], managed=frozenset({"alice"})))
    assert parse_packet(after).description == "Alice under the Eiffel tower"


def test_new_sidecar_and_self_closing_description(tmp_path: Path) -> None:
    fresh = render_sidecar(None, SidecarContent([("x & y",)], description="<b>"))
    data = parse_packet(fresh)
    assert data.keywords == (("x & y",),) and data.description == "<b>"
    short = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
             '22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
             ' xmp:Rating="5"/></rdf:RDF></x:xmpmeta>')
    data = parse_packet(render_sidecar(short, SidecarContent([("dog",)])))
    assert data.keywords == (("dog",),) and data.rating == 5


def test_a_description_photomgr_knows_goes_when_it_has_none() -> None:
    """The user cleared the description photomgr wrote: it leaves the sidecar; one photomgr
    does not know (another tool's, unread) stays, as with no `replaceable` at all."""
    with_bob = render_sidecar(None, SidecarContent([("dog",)], description="Bob on a bike"))
    cleared = render_sidecar(with_bob, SidecarContent([("dog",)], replaceable=frozenset({"Bob on a bike"})))
    assert parse_packet(cleared).description is None and parse_packet(cleared).keywords == (("dog",),)
    for content in (SidecarContent([("dog",)], replaceable=frozenset({"Anna"})), SidecarContent([("dog",)])):
        assert render_sidecar(with_bob, content) == with_bob


def test_a_sidecar_we_cannot_read_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg.xmp"
    path.write_bytes(b"<x:xmpmeta>broken")
    with pytest.raises(SidecarError):
        write_sidecar(path, SidecarContent([("dog",)]))
    assert path.read_bytes() == b"<x:xmpmeta>broken"
    latin = tmp_path / "b.jpg.xmp"
    latin.write_bytes("<x:xmpmeta>caf\xe9</x:xmpmeta>".encode("latin-1"))
    with pytest.raises(SidecarError, match="UTF-8"):
        write_sidecar(latin, SidecarContent([("dog",)]))


def test_write_is_atomic_and_keeps_the_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.jpg.xmp"
    path.write_text(LIGHTROOM)
    os.chmod(path, 0o640)
    assert write_sidecar(path, SidecarContent([("Dog",)], managed=frozenset({"dog"})))
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert not write_sidecar(path, SidecarContent([("Dog",)], managed=frozenset({"dog"})))  # unchanged
    before = path.read_bytes()

    def fail(src: str, dst: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_atomically(path, "new text")
    assert path.read_bytes() == before  # the old sidecar is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg.xmp"]  # no temporary left
