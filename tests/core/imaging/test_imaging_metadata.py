"""EXIF metadata: written with Pillow, read back through read_metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from photomgr.core.imaging.metadata import PhotoMetadata, metadata_from_exif, read_metadata


def _exif(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    for key, value in tags.items():
        ifd, tag = key.split("_")
        target = exif if ifd == "ifd0" else exif.get_ifd(0x8769 if ifd == "exif" else 0x8825)
        target[int(tag, 16)] = value
    return exif


def _roundtrip(tmp_path: Path, exif: Image.Exif, fmt: str = "JPEG", size: tuple[int, int] = (40, 30)
               ) -> PhotoMetadata:
    path = tmp_path / f"photo.{fmt.lower()}"
    Image.new("RGB", size, (90, 90, 90)).save(path, fmt, exif=exif)
    with Image.open(path) as image:
        return read_metadata(image, fmt.lower())


def test_full_exif_roundtrip(tmp_path: Path) -> None:
    exif = _exif(
        ifd0_010f="Canon\x00\x00\x00",
        ifd0_0110="  Canon EOS 5D Mark IV \x00",
        ifd0_0132="2019:01:01 00:00:00",
        exif_9003="2021:07:04 12:34:56",
        exif_9004="2021:07:04 12:35:00",
        gps_0001="S",
        gps_0002=(IFDRational(33, 1), IFDRational(51, 1), IFDRational(5400, 100)),
        gps_0003="W",
        gps_0004=(151.0, 12.0, 36.0),
    )
    meta = _roundtrip(tmp_path, exif)
    assert meta == PhotoMetadata(
        format="jpeg", width=40, height=30, orientation=1, date_taken="2021-07-04T12:34:56",
        camera_make="Canon", camera_model="Canon EOS 5D Mark IV",
        gps_lat=pytest.approx(-33.865), gps_lon=pytest.approx(-151.21),  # type: ignore[arg-type]
    )


def test_north_east_is_positive(tmp_path: Path) -> None:
    exif = _exif(gps_0001="N", gps_0002=(48.0, 51.0, 29.88), gps_0003="E", gps_0004=(2.0, 17.0, 40.2))
    meta = _roundtrip(tmp_path, exif)
    assert meta.gps_lat == pytest.approx(48.8583, abs=1e-4)
    assert meta.gps_lon == pytest.approx(2.2945, abs=1e-4)


def test_date_falls_back_to_digitized_then_datetime(tmp_path: Path) -> None:
    digitized = _exif(ifd0_0132="2001:02:03 04:05:06", exif_9004="2002:03:04 05:06:07")
    assert _roundtrip(tmp_path, digitized).date_taken == "2002-03-04T05:06:07"
    only_datetime = _exif(ifd0_0132="2001:02:03 04:05:06")
    assert _roundtrip(tmp_path, only_datetime).date_taken == "2001-02-03T04:05:06"
    invalid_original = _exif(exif_9003="0000:00:00 00:00:00", ifd0_0132="2001:02:03 04:05:06")
    assert _roundtrip(tmp_path, invalid_original).date_taken == "2001-02-03T04:05:06"


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2021:13:45 99:00:00",
                                   "yesterday", ""])
def test_invalid_dates_are_none(value: str) -> None:
    exif = _exif(exif_9003=value)
    assert metadata_from_exif(exif, (10, 10), "jpeg").date_taken is None


def test_no_exif_at_all(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (50, 20)).save(path)
    with Image.open(path) as image:
        meta = read_metadata(image, "png")
    assert meta == PhotoMetadata("png", 50, 20, 1, None, None, None, None, None)


@pytest.mark.parametrize(("orientation", "expected", "size"), [
    (1, 1, (40, 30)), (2, 2, (40, 30)), (3, 3, (40, 30)), (4, 4, (40, 30)),
    (5, 5, (30, 40)), (6, 6, (30, 40)), (7, 7, (30, 40)), (8, 8, (30, 40)),
    (0, 1, (40, 30)), (9, 1, (40, 30)), (65535, 1, (40, 30)),
])
def test_orientation_and_displayed_size(tmp_path: Path, orientation: int, expected: int,
                                        size: tuple[int, int]) -> None:
    meta = _roundtrip(tmp_path, _exif(ifd0_0112=orientation))
    assert (meta.orientation, (meta.width, meta.height)) == (expected, size)


def test_garbage_values_degrade_to_none() -> None:
    exif = _exif(
        ifd0_0112="six",
        ifd0_010f="\x00\x00\x00",
        ifd0_0110=b"  \x00",
        gps_0001="N",
        gps_0002=(IFDRational(1, 0), 0.0, 0.0),  # x/0 rational: NaN
        gps_0003="E",
        gps_0004=(500.0, 0.0, 0.0),  # out of range
    )
    meta = metadata_from_exif(exif, (10, 20), "jpeg")
    assert (meta.orientation, meta.camera_make, meta.camera_model) == (1, None, None)
    assert (meta.gps_lat, meta.gps_lon) == (None, None)


def test_exif_in_png_and_webp(tmp_path: Path) -> None:
    exif = _exif(ifd0_010f="Sony", exif_9003="2020:05:06 07:08:09", ifd0_0112=6)
    for fmt in ("PNG", "WEBP"):
        meta = _roundtrip(tmp_path, exif, fmt)
        assert (meta.camera_make, meta.date_taken, meta.orientation) == ("Sony", "2020-05-06T07:08:09", 6)
        assert (meta.width, meta.height) == (30, 40)
