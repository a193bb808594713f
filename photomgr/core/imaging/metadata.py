"""EXIF facts about a photo: displayed size, orientation, date taken, camera, GPS.

Metadata is a bonus, never a reason to reject a photo: cameras and editors write broken EXIF
all the time (zero dates, NUL-padded strings, rationals over zero, garbage orientation). Every
field therefore degrades to None (or orientation 1) instead of raising.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image

# EXIF tag numbers (see PIL.ExifTags); spelled out so the code reads without a lookup.
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_ORIENTATION = 0x0112
TAG_DATETIME = 0x0132
TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_DATETIME_ORIGINAL = 0x9003
TAG_DATETIME_DIGITIZED = 0x9004
TAG_UNIQUE_CAMERA_MODEL = 0xC614  # DNG: some cameras (Blackmagic) write it instead of Make/Model
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4

_DATE_RE = re.compile(
    r"\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?"
)


@dataclass(frozen=True)
class PhotoMetadata:
    format: str  # from sniff_format
    width: int  # as displayed, i.e. after applying orientation (swapped for 5-8)
    height: int
    orientation: int  # EXIF orientation 1..8; missing/invalid -> 1
    date_taken: str | None  # ISO 8601 "YYYY-MM-DDTHH:MM:SS"
    camera_make: str | None
    camera_model: str | None
    gps_lat: float | None  # decimal degrees, south negative
    gps_lon: float | None  # west negative


def read_metadata(image: Image.Image, fmt: str) -> PhotoMetadata:
    """Metadata of an opened image (it need not be loaded); `image.size` must be the full size,
    so call this before `draft()` shrinks a JPEG."""
    return metadata_from_exif(read_exif(image), image.size, fmt)


def read_exif(image: Image.Image) -> Image.Exif:
    """The image's EXIF, or an empty one when it has none or it cannot be parsed."""
    try:
        return image.getexif()
    except Exception:  # broken EXIF must not make a readable photo unusable
        return Image.Exif()


def metadata_from_exif(exif: Image.Exif, size: tuple[int, int], fmt: str, *,
                       orientation: int | None = None) -> PhotoMetadata:
    """Build metadata from EXIF plus the stored (not yet rotated) pixel size.

    `orientation` overrides the EXIF one, for RAW files whose orientation comes from LibRaw.
    """
    if orientation is None:
        orientation = orientation_of(exif)
    width, height = size
    if orientation >= 5:  # 5-8 turn the picture a quarter: the displayed size is swapped
        width, height = height, width
    exif_ifd = _sub_ifd(exif, TAG_EXIF_IFD)
    gps_ifd = _sub_ifd(exif, TAG_GPS_IFD)
    date = (
        _parse_date(exif_ifd.get(TAG_DATETIME_ORIGINAL))
        or _parse_date(exif.get(TAG_DATETIME_ORIGINAL))
        or _parse_date(exif_ifd.get(TAG_DATETIME_DIGITIZED))
        or _parse_date(exif.get(TAG_DATETIME))
    )
    return PhotoMetadata(
        format=fmt,
        width=int(width),
        height=int(height),
        orientation=orientation,
        date_taken=date,
        camera_make=_clean_text(exif.get(TAG_MAKE)),
        camera_model=_clean_text(exif.get(TAG_MODEL)) or _clean_text(exif.get(TAG_UNIQUE_CAMERA_MODEL)),
        gps_lat=_gps_coordinate(gps_ifd.get(GPS_LAT), gps_ifd.get(GPS_LAT_REF), b"S", 90.0),
        gps_lon=_gps_coordinate(gps_ifd.get(GPS_LON), gps_ifd.get(GPS_LON_REF), b"W", 180.0),
    )


def orientation_of(exif: Mapping[int, Any]) -> int:
    """EXIF orientation 1..8; anything missing or invalid (0, 9, text, a tuple) counts as 1."""
    value = exif.get(TAG_ORIENTATION)
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and 1 <= value <= 8:
        return value
    return 1


def _sub_ifd(exif: Image.Exif, tag: int) -> Mapping[int, Any]:
    try:
        return exif.get_ifd(tag)
    except Exception:  # a broken pointer to a sub-IFD only loses those fields
        return {}


def _as_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, tuple | list) and len(value) == 1:
        return _as_text(value[0])
    return value if isinstance(value, str) else None


def _clean_text(value: object) -> str | None:
    """Camera strings are often NUL-padded to a fixed width; an empty result means absent."""
    text = _as_text(value)
    if text is None:
        return None
    text = text.split("\x00", 1)[0].strip()
    return text or None


def _parse_date(value: object) -> str | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (and common variants) to ISO 8601; zero or invalid -> None."""
    text = _as_text(value)
    if not text:
        return None
    match = _DATE_RE.match(text.replace("\x00", " "))
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
    try:
        parsed = datetime(year, month, day, hour, minute, second)  # rejects 0000:00:00, month 13...
    except ValueError:
        return None
    if parsed.year < 1800:  # defaults of badly set clocks, not real dates
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _gps_coordinate(value: object, ref: object, negative_ref: bytes, limit: float) -> float | None:
    """Degrees/minutes/seconds rationals to signed decimal degrees; None when unusable."""
    if value is None:
        return None
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    try:
        numbers = [float(p) for p in parts]  # IFDRational: x/0 becomes nan, rejected below
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = sum(n / 60**i for i, n in enumerate(numbers))
    if not math.isfinite(degrees) or not 0.0 <= degrees <= limit:
        return None
    ref_text = _clean_text(ref)
    if ref_text and ref_text[:1].upper().encode() == negative_ref:
        degrees = -degrees
    return round(degrees, 7)  # ~1 cm: more digits are float noise
