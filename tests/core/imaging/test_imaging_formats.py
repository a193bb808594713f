"""sniff_format: images are recognised by content, never by extension."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from photomgr.core.imaging.formats import IMAGE_FORMATS, sniff_format

PIL_SAVE = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF", "gif": "GIF", "bmp": "BMP"}


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    size = 16 + 4 * len(compatible)
    return size.to_bytes(4, "big") + b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)


def test_image_formats_is_the_documented_set() -> None:
    assert {"jpeg", "png", "webp", "tiff", "gif", "bmp", "heif", "avif", "raw"} == IMAGE_FORMATS


@pytest.mark.parametrize("fmt", sorted(PIL_SAVE))
def test_formats_saved_by_pillow_are_recognised(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "photo.bin"  # a meaningless extension: only the content counts
    Image.new("RGB", (20, 10), (1, 2, 3)).save(path, PIL_SAVE[fmt])
    assert sniff_format(path) == fmt
    assert sniff_format(path, path.read_bytes()[:64]) == fmt


def test_wrong_extension_is_judged_by_content(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    Image.new("RGB", (8, 8)).save(path, "PNG")
    assert sniff_format(path) == "png"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello world, this is a README\n",
        b"path,label\nimg.jpg,cat\n",
        b"BM is also how a text can start, with no bitmap header behind it",
        _ftyp(b"isom", b"isom", b"avc1", b"mp41"),  # an mp4 video
        _ftyp(b"qt  ", b"qt  "),  # a QuickTime movie
        b"RIFF\x10\x00\x00\x00WAVEfmt ",  # audio, not WebP
        b"\x00\x00\x00\x00",
    ],
)
def test_non_images_are_none(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "file.jpg"
    path.write_bytes(content)
    assert sniff_format(path) is None


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), "heif"),
        (_ftyp(b"heix", b"mif1"), "heif"),
        (_ftyp(b"mif1", b"mif1", b"heic", b"miaf"), "heif"),
        (_ftyp(b"msf1", b"hevc"), "heif"),
        (_ftyp(b"mif1", b"mif1"), "heif"),
        (_ftyp(b"avif", b"avif", b"mif1", b"miaf"), "avif"),
        (_ftyp(b"avis", b"msf1"), "avif"),
        (_ftyp(b"mif1", b"mif1", b"avif"), "avif"),
        (_ftyp(b"crx ", b"crx ", b"isom"), "raw"),
        (b"FUJIFILMCCD-RAW 0201FF383501", "raw"),
        (b"IIU\x00\x08\x00\x00\x00" + b"\x00" * 8, "raw"),
        (b"IIRO\x08\x00\x00\x00" + b"\x00" * 8, "raw"),
        (b"II\x1a\x00\x00\x00HEAPCCDR" + b"\x00" * 4, "raw"),
    ],
)
def test_signatures(tmp_path: Path, head: bytes, expected: str) -> None:
    path = tmp_path / "no_extension"
    assert sniff_format(path, head) == expected


@pytest.mark.parametrize("name", ["photo.dng", "photo.NEF", "photo.cr2", "photo.arw", "photo.orf"])
def test_tiff_based_raw_needs_the_extension(tmp_path: Path, name: str) -> None:
    tiff_head = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 8
    assert sniff_format(tmp_path / name, tiff_head) == "raw"
    assert sniff_format(tmp_path / "photo.tif", tiff_head) == "tiff"
    assert sniff_format(tmp_path / "photo.tif", b"MM\x00*\x00\x00\x00\x08") == "tiff"


def test_heif_and_avif_files_written_by_codecs(tmp_path: Path) -> None:
    import photomgr.core.imaging.decode  # noqa: F401 - registers the HEIF opener

    image = Image.new("RGB", (32, 32), (10, 200, 30))
    saved = 0
    for fmt, pil_name in (("heif", "HEIF"), ("avif", "AVIF")):
        path = tmp_path / f"x.{fmt}"
        try:
            image.save(path, pil_name)
        except (KeyError, OSError, ValueError):
            continue  # this build has no encoder for it; the synthetic heads above still test it
        saved += 1
        assert sniff_format(path) == fmt
    if saved == 0:
        pytest.skip("no HEIF or AVIF encoder in this Pillow/pillow_heif build")


def test_missing_file_raises_when_head_not_given(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sniff_format(tmp_path / "gone.jpg")
