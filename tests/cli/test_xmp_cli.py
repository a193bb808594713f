"""`photomgr xmp read|write` end to end, checked by exiftool (the field's reference reader).

exiftool comes from Debian's libimage-exiftool-perl; without it the read-back tests skip with
that reason. Originals must stay byte-identical through index, read and write.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from photomgr.cli.main import EXIT_USAGE, main
from tests.conftest import make_photo
from tests.fakes import fake_model  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("fake_model")

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool not installed (apt-get install libimage-exiftool-perl)")

DESCRIBED = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/">
 <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{description}</rdf:li></rdf:Alt></dc:description>
 <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Zürich &amp; Lake</rdf:li></rdf:Bag></lr:hierarchicalSubject>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exiftool_read(sidecar: Path) -> dict[str, list[str]]:
    """Subject, HierarchicalSubject, TagsList and Description as exiftool reads them."""
    assert EXIFTOOL is not None
    out = subprocess.run([EXIFTOOL, "-j", "-charset", "UTF8", "-XMP-dc:Subject",
                          "-XMP-lr:HierarchicalSubject", "-XMP-digiKam:TagsList", "-XMP-dc:Description",
                          str(sidecar)], check=True, capture_output=True, text=True).stdout
    found = json.loads(out)[0]
    as_lists: dict[str, list[str]] = {}
    for key in ("Subject", "HierarchicalSubject", "TagsList", "Description"):
        value = found.get(key, [])
        as_lists[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return as_lists


def _library_with_tags(tmp_path: Path, capsys: pytest.CaptureFixture[str], photos: Path,
                       confirm: dict[str, list[str]]) -> list[str]:
    lib = tmp_path / "lib"
    L = ["--library", str(lib)]
    run(capsys, *L, "index", str(photos), "--json")
    names = sorted({n for ns in confirm.values() for n in ns})
    existing = {x["name"] for x in run(capsys, *L, "labels", "list", "--json")}  # type: ignore[attr-defined]
    for name in names:
        if name not in existing:
            run(capsys, *L, "labels", "add", name, "--json")
    for photo, labels in confirm.items():
        for name in labels:
            run(capsys, *L, "tag", str(photos / photo), name, "--confirm", "--json")
    return L


@needs_exiftool
def test_exiftool_reads_every_keyword_and_description_jpeg(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    make_photo(photos / "red.jpg", (220, 20, 20), seed=1)
    packet = DESCRIBED.format(description="Dusk, 5 &lt; 6 &amp; “quotes”").encode()
    Image.new("RGB", (64, 48), (20, 20, 220)).save(photos / "blue.jpg", "JPEG", xmp=packet)
    originals = {p.name: sha(p) for p in photos.iterdir()}
    L = _library_with_tags(tmp_path, capsys, photos, {"red.jpg": ["red", "Straße"], "blue.jpg": ["blue"]})
    out = run(capsys, *L, "xmp", "write", "--json")
    assert isinstance(out, dict) and len(out["written"]) == 2 and out["failed"] == []
    red = exiftool_read(photos / "red.jpg.xmp")
    assert sorted(red["Subject"]) == ["Straße", "red"]
    assert sorted(red["HierarchicalSubject"]) == ["Straße", "red"]
    assert sorted(red["TagsList"]) == ["Straße", "red"]
    blue = exiftool_read(photos / "blue.jpg.xmp")
    assert sorted(blue["Subject"]) == ["Zürich & Lake", "blue"]
    assert sorted(blue["HierarchicalSubject"]) == ["Places|Zürich & Lake", "blue"]
    assert sorted(blue["TagsList"]) == ["Places/Zürich & Lake", "blue"]
    assert blue["Description"] == ["Dusk, 5 < 6 & “quotes”"]
    assert {p.name: sha(p) for p in photos.iterdir() if p.suffix != ".xmp"} == originals


@needs_exiftool
def test_auto_tags_and_other_naming(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    make_photo(photos / "red.jpg", (220, 20, 20), seed=1)
    L = _library_with_tags(tmp_path, capsys, photos, {})
    run(capsys, *L, "labels", "add", "red", "--json")
    config = run(capsys, *L, "xmp", "config", "--naming", "base", "--json")
    assert config == {"naming": "base", "keep_updated": False}
    run(capsys, *L, "xmp", "write", "--auto", "--json")
    got = exiftool_read(photos / "red.xmp")
    assert got["HierarchicalSubject"] == ["auto|red"] and got["TagsList"] == ["auto/red"]
    assert got["Subject"] == []  # a guess is not a keyword


def test_read_imports_keywords_added_later(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    make_photo(photos / "a.jpg", seed=1)
    lib = ["--library", str(tmp_path / "lib")]
    run(capsys, *lib, "index", str(photos), "--json")
    (photos / "a.xmp").write_text(DESCRIBED.format(description="x"))
    out = run(capsys, *lib, "xmp", "read", str(photos), "--json")
    assert isinstance(out, dict) and out["read"] == 1 and out["labels_added"] == ["Zürich & Lake"]
    tags = run(capsys, *lib, "tags", str(photos / "a.jpg"), "--json")["tags"]  # type: ignore[index]
    assert {"label": "Zürich & Lake", "source": "keyword", "state": "confirmed"}.items() <= next(
        t for t in tags if t["label"] == "Zürich & Lake").items()
    assert run(capsys, *lib, "xmp", "read", "--json")["read"] == 0  # type: ignore[index]


def test_paths_outside_the_library_are_an_error_not_a_quiet_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos, elsewhere = tmp_path / "photos", tmp_path / "not indexed"
    make_photo(photos / "a.jpg", seed=1)
    make_photo(elsewhere / "b.jpg", seed=2)
    lib = ["--library", str(tmp_path / "lib")]
    run(capsys, *lib, "index", str(photos), "--json")
    for argv in (["write", str(elsewhere)], ["write", "--auto", str(elsewhere / "b.jpg")],
                 ["read", str(elsewhere)]):
        assert main([*lib, "xmp", *argv]) == EXIT_USAGE, argv
        assert "no photos of the library there" in capsys.readouterr().err
    assert not list(elsewhere.glob("*.xmp"))
    assert run(capsys, *lib, "xmp", "write", str(photos), "--json")["photos"] == 1  # type: ignore[index]


@needs_exiftool
@pytest.mark.shared
def test_exiftool_reads_back_heic_and_dng_sidecars(shared_photos: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    heic = shared_photos / "formats" / "heif" / "images" / "heif" / "zPug_3.heic"
    dng = shared_photos / "formats" / "raw" / "Blackmagic.dng"
    for source in (heic, dng):
        if not source.is_file():
            pytest.skip(f"{source} not found")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(heic, photos / "pug.heic")
    shutil.copy(dng, photos / "camera.dng")
    (photos / "camera.xmp").write_text(DESCRIBED.format(description="Raw from a cinema camera"))
    originals = {p.name: sha(p) for p in photos.iterdir() if p.suffix != ".xmp"}
    L = _library_with_tags(tmp_path, capsys, photos,
                           {"pug.heic": ["pug", "Hund"], "camera.dng": ["test chart"]})
    out = run(capsys, *L, "xmp", "write", "--json")
    assert isinstance(out, dict) and out["failed"] == []
    pug = exiftool_read(photos / "pug.heic.xmp")
    assert sorted(pug["Subject"]) == ["Hund", "pug"] and sorted(pug["HierarchicalSubject"]) == ["Hund", "pug"]
    cam = exiftool_read(photos / "camera.dng.xmp")
    assert sorted(cam["Subject"]) == ["Zürich & Lake", "test chart"]
    assert sorted(cam["HierarchicalSubject"]) == ["Places|Zürich & Lake", "test chart"]
    assert sorted(cam["TagsList"]) == ["Places/Zürich & Lake", "test chart"]
    assert cam["Description"] == ["Raw from a cinema camera"]
    assert (photos / "camera.xmp").read_text() == DESCRIBED.format(description="Raw from a cinema camera")
    assert {p.name: sha(p) for p in photos.iterdir() if p.suffix != ".xmp"} == originals
