"""Reading keywords: sidecars of digiKam, Lightroom and darktable, embedded packets, IPTC,
hierarchies, and hostile XML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from photomgr.core.xmp.embedded import find_packet, read_embedded
from photomgr.core.xmp.parse import MAX_PACKET, XmpError, parse_packet, split_keyword
from photomgr.core.xmp.sidecar import SidecarFinder, read_photo, sidecar_path, signature
from tests.conftest import make_photo
from tests.core.xmp.xmp_fixtures import EXPECTED, LIGHTROOM, STYLES

PACKET = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmp:Rating="2"><dc:subject><rdf:Bag><rdf:li>{kw}</rdf:li></rdf:Bag></dc:subject>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


@pytest.mark.parametrize("style", sorted(STYLES))
def test_sidecars_of_other_tools_are_read(style: str) -> None:
    data = parse_packet(STYLES[style].encode("utf-8"))
    keywords, description, rating = EXPECTED[style]
    assert set(data.keywords) == keywords
    assert data.description == description
    assert data.rating == rating


def test_darktable_bookkeeping_and_our_auto_guesses_are_not_keywords() -> None:
    data = parse_packet(STYLES["darktable"])
    assert not any(k[0] == "darktable" for k in data.keywords)
    ours = PACKET.replace("<rdf:li>{kw}</rdf:li>", "<rdf:li>{kw}</rdf:li><rdf:li>auto|sky</rdf:li>")
    assert parse_packet(ours.format(kw="beach")).keywords == (("beach",), ("auto|sky",))
    # the hierarchy form of our guess (lr:hierarchicalSubject) is skipped entirely:
    hier = ('<lr:hierarchicalSubject xmlns:lr="http://ns.adobe.com/lightroom/1.0/"><rdf:Bag>'
            '<rdf:li>auto|sky</rdf:li><rdf:li>Trips|Rome</rdf:li></rdf:Bag></lr:hierarchicalSubject>')
    data = parse_packet(PACKET.format(kw="beach").replace("</rdf:Description>", hier + "</rdf:Description>"))
    assert data.keywords == (("beach",), ("Trips", "Rome"))


def test_separators_depend_on_the_property() -> None:
    assert split_keyword("Animals|Dog", "|") == ("Animals", "Dog")
    assert split_keyword("Places/France/ Paris ", "/") == ("Places", "France", "Paris")
    assert split_keyword("AC/DC", None) == ("AC/DC",)  # dc:subject is flat
    assert parse_packet(PACKET.format(kw="AC/DC")).keywords == (("AC/DC",),)


def test_entities_and_dtds_are_refused() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            + PACKET.format(kw="&b;"))
    with pytest.raises(XmpError):
        parse_packet(bomb)
    external = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                + PACKET.format(kw="&e;"))
    with pytest.raises(XmpError):
        parse_packet(external)


def test_oversized_and_malformed_packets_are_refused() -> None:
    with pytest.raises(XmpError, match="limit"):
        parse_packet(b" " * (MAX_PACKET + 1))
    with pytest.raises(XmpError):
        parse_packet(b"<x:xmpmeta><unclosed>")


def test_embedded_packet_in_jpeg_and_png(tmp_path: Path) -> None:
    packet = PACKET.format(kw="lighthouse").encode()
    jpeg = tmp_path / "a.jpg"
    Image.new("RGB", (32, 32), (10, 20, 30)).save(jpeg, "JPEG", xmp=packet)
    assert find_packet(jpeg) is not None
    data, problem = read_embedded(jpeg)
    assert problem is None and data.keywords == (("lighthouse",),) and data.rating == 2
    png = tmp_path / "b.png"
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", PACKET.format(kw="harbour"))
    Image.new("RGB", (32, 32)).save(png, "PNG", pnginfo=info)
    assert read_embedded(png)[0].keywords == (("harbour",),)
    plain = make_photo(tmp_path / "c.jpg")
    assert find_packet(plain) is None and read_embedded(plain)[0].empty


def test_a_broken_embedded_packet_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    jpeg = tmp_path / "a.jpg"
    Image.new("RGB", (16, 16)).save(jpeg, "JPEG", xmp=b"<x:xmpmeta><rdf:RDF></x:xmpmeta>")
    data, problem = read_embedded(jpeg)
    assert data.empty and problem is not None and "not usable XMP" in problem


def test_both_sidecar_namings_are_found_and_sign_the_photo(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "IMG_1.jpg")
    finder = SidecarFinder()
    assert finder.sidecars(photo) == []
    (tmp_path / "IMG_1.XMP").write_text(LIGHTROOM)
    (tmp_path / "IMG_1.jpg.xmp").write_text(PACKET.format(kw="extra"))
    finder = SidecarFinder()
    found = finder.sidecars(photo)
    assert [p.name for p, _ in found] == ["IMG_1.XMP", "IMG_1.jpg.xmp"]
    result = read_photo(photo, found)
    assert ("extra",) in result.data.keywords and ("Animals", "Dog") in result.data.keywords
    assert result.data.rating == 2  # the last sidecar with a rating wins
    sig = signature(1, 2, found)
    assert "IMG_1.XMP:" in sig and sig != signature(1, 2, [])
    assert sidecar_path(photo).name == "IMG_1.jpg.xmp"
    assert sidecar_path(photo, "base").name == "IMG_1.xmp"


def test_an_unreadable_sidecar_is_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "a.jpg")
    (tmp_path / "a.xmp").write_text("<x:xmpmeta>not closed")
    (tmp_path / "a.jpg.xmp").write_text(PACKET.format(kw="kept"))
    result = read_photo(photo, SidecarFinder().sidecars(photo))
    assert result.data.keywords == (("kept",),)
    assert len(result.problems) == 1 and "a.xmp" in result.problems[0]


@pytest.mark.shared
def test_real_files_with_xmp_and_iptc(shared_photos: Path, tmp_path: Path) -> None:
    folder = shared_photos / "exif" / "exif-samples" / "jpg" / "xmp"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    blue = tmp_path / "BlueSquare.jpg"
    shutil.copy(folder / "BlueSquare.jpg", blue)
    data, problem = read_embedded(blue)
    assert problem is None
    assert {k[0] for k in data.keywords} == {"XMP", "Blue Square", "test file", "Photoshop", ".jpg"}
    assert data.description is not None and data.description.startswith("XMPFiles BlueSquare")
    none = tmp_path / "no_exif.jpg"
    shutil.copy(folder / "no_exif.jpg", none)
    assert read_embedded(none)[1] is None


@pytest.mark.skipif(shutil.which("exiftool") is None,
                    reason="exiftool not installed (apt-get install libimage-exiftool-perl)")
def test_iptc_keywords_and_caption(tmp_path: Path) -> None:
    import subprocess

    photo = make_photo(tmp_path / "iptc.jpg")
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-charset", "iptc=UTF8", "-IPTC:Keywords=Hafen",
                    "-IPTC:Keywords=Möwe", "-IPTC:Caption-Abstract=Am Kai", str(photo)], check=True)
    data, problem = read_embedded(photo)
    assert problem is None and find_packet(photo) is None  # IPTC only: no XMP packet
    assert data.keywords == (("Hafen",), ("Möwe",)) and data.description == "Am Kai"


def test_latin1_bytes_in_a_packet_are_read_as_latin1() -> None:
    packet = ('<?xml version="1.0" encoding="UTF-8"?>' + PACKET.format(kw="Caf\xe9")).encode("latin-1")
    assert parse_packet(packet).keywords == (("Café",),)
    assert parse_packet(PACKET.format(kw="Café").encode("utf-8")).keywords == (("Café",),)


@pytest.mark.shared
def test_real_heic_with_a_latin1_packet(shared_photos: Path) -> None:
    heic = shared_photos / "formats" / "heif" / "images" / "heif_other" / "L_xmp_latin1.heic"
    if not heic.is_file():
        pytest.skip(f"{heic} not found")
    data, problem = read_embedded(heic)
    assert problem is None and data.description is not None and "Aimé" in data.description
