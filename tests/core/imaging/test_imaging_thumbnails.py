"""Thumbnails and the on-disk thumbnail cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photomgr.core.imaging.thumbnails import THUMBNAIL_SIZE, ThumbnailCache, make_thumbnail

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(("size", "expected"), [
    ((512, 384), (256, 192)),
    ((300, 600), (128, 256)),
    ((100, 40), (100, 40)),  # never upscaled
])
def test_make_thumbnail_sizes(size: tuple[int, int], expected: tuple[int, int]) -> None:
    source = Image.new("RGB", size, (10, 20, 30))
    thumb = make_thumbnail(source)
    assert thumb.size == expected
    assert thumb.mode == "RGB"
    assert source.size == size  # the input is left alone


def test_make_thumbnail_converts_to_rgb() -> None:
    thumb = make_thumbnail(Image.new("RGBA", (600, 300), (0, 0, 0, 0)), size=64)
    assert (thumb.mode, thumb.size) == ("RGB", (64, 32))
    assert thumb.getpixel((10, 10)) == (255, 255, 255)


def test_path_fans_out_by_prefix(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path)
    assert cache.path_for(KEY) == tmp_path / "01" / f"{KEY}.jpg"
    assert cache.size == THUMBNAIL_SIZE


@pytest.mark.parametrize("key", ["", "../../etc/passwd", "ABCDEF12", "ab/cd", "xyz123"])
def test_bad_keys_are_rejected(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="hex"):
        ThumbnailCache(tmp_path).path_for(key)


def test_save_load_roundtrip(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert not cache.exists(KEY)
    assert cache.load(KEY) is None

    path = cache.save(KEY, Image.new("RGB", (512, 256), (200, 30, 30)))
    assert path == cache.path_for(KEY)
    assert cache.exists(KEY)
    with Image.open(path) as written:
        assert (written.format, written.size) == ("JPEG", (256, 128))

    loaded = cache.load(KEY)
    assert loaded is not None
    assert (loaded.mode, loaded.size) == ("RGB", (256, 128))
    red, green, blue = loaded.getpixel((128, 64))  # type: ignore[misc]
    assert red > 180 and green < 60 and blue < 60
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_save_replaces_existing_atomically(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path, size=32)
    cache.save(KEY, Image.new("RGB", (64, 64), (0, 0, 255)))
    cache.save(KEY, Image.new("RGB", (64, 64), (0, 255, 0)))
    loaded = cache.load(KEY)
    assert loaded is not None and loaded.size == (32, 32)
    assert loaded.getpixel((16, 16))[1] > 200  # type: ignore[index]
    assert len(list(cache.path_for(KEY).parent.iterdir())) == 1


def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ThumbnailCache(tmp_path)
    cache.save(KEY, Image.new("RGB", (64, 64), (0, 0, 255)))
    before = cache.path_for(KEY).read_bytes()

    def broken_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"\xff\xd8 half a jpeg")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        cache.save(KEY, Image.new("RGB", (64, 64), (0, 255, 0)))
    # The old thumbnail is intact and no temporary file is left over.
    assert cache.path_for(KEY).read_bytes() == before
    assert len(list(cache.path_for(KEY).parent.iterdir())) == 1

    other = "ff" + KEY[2:]
    with pytest.raises(OSError, match="disk full"):
        cache.save(other, Image.new("RGB", (64, 64)))
    assert not cache.exists(other)
    assert list(cache.path_for(other).parent.iterdir()) == []


def test_unreadable_thumbnail_loads_as_none(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path)
    path = cache.path_for(KEY)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage, not a jpeg")
    assert cache.load(KEY) is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_thumbnails_get_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = ThumbnailCache(tmp_path / "thumbs").save("ab" * 32, Image.new("RGB", (300, 200)))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600: a shared library's users read it


def test_a_thumbnail_loads_in_grey_at_its_own_size(tmp_path: Path) -> None:
    """The near-copy check reads only luma: the decoder skips the colour planes, and the grey
    levels are those of the colour thumbnail converted (within JPEG rounding)."""
    cache = ThumbnailCache(tmp_path)
    rng = np.random.default_rng(0)
    photo = Image.fromarray((rng.random((300, 400, 3)) * 255).astype(np.uint8)).resize((800, 600))
    cache.save("ab" * 32, photo)
    colour, grey = cache.load("ab" * 32), cache.load("ab" * 32, grey=True)
    assert colour is not None and grey is not None
    assert grey.mode == "L" and grey.size == colour.size
    diff = np.abs(np.asarray(grey, np.int16) - np.asarray(colour.convert("L"), np.int16))
    assert diff.mean() < 1.0
    assert cache.load("cd" * 32, grey=True) is None  # none cached
