"""Keywords stored inside an image file: its XMP packet and, for JPEG/TIFF, IPTC Keywords.

The XMP packet is found by looking for `<x:xmpmeta` in the file's bytes rather than by
walking each container format: the same few lines then serve JPEG (APP1), PNG (iTXt), TIFF
and DNG (tag 700), HEIC/AVIF (an `mime` item) and WebP, and a format we do not parse is no
reason to miss its keywords. The search is memchr-fast over an mmap; it stops after
SCAN_LIMIT bytes (a JPEG's XMP sits in its first 64 KiB segments; raw files put it in the
header IFDs, well inside the limit).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from photomgr.core.xmp.parse import MAX_PACKET, XmpData, XmpError, parse_packet, split_keyword, unique

SCAN_LIMIT = 64 * 1024 * 1024
JPEG_SCAN_LIMIT = 1024 * 1024  # XMP must come before the image data in a JPEG
_OPEN = (b"<x:xmpmeta", b"<x:xapmeta")
_CLOSE = (b"</x:xmpmeta>", b"</x:xapmeta>")
IPTC_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".tif", ".tiff"}


def find_packet(path: Path) -> bytes | None:
    """The bytes of the first XMP packet in the file (None: none found)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return None
            limit = JPEG_SCAN_LIMIT if path.suffix.lower() in (".jpg", ".jpeg", ".jpe") else SCAN_LIMIT
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                end_of_scan = min(size, limit)
                for opening, closing in zip(_OPEN, _CLOSE, strict=True):
                    start = data.find(opening, 0, end_of_scan)
                    if start < 0:
                        continue
                    end = data.find(closing, start, min(size, start + MAX_PACKET))
                    if end < 0:
                        return None  # truncated or oversized: not a packet we will parse
                    return bytes(data[start:end + len(closing)])
    except (OSError, ValueError):  # unreadable, or a file mmap refuses (special files)
        return None
    return None


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:  # IPTC before CodedCharacterSet=UTF-8 was usually Latin-1
        return value.decode("latin-1").strip()


def read_iptc(path: Path) -> XmpData:
    """IPTC-IIM Keywords (2:25) and Caption (2:120) of a JPEG or TIFF, via Pillow.

    Only the header is read (Image.open does not decode pixels), so this stays cheap.
    """
    if path.suffix.lower() not in IPTC_SUFFIXES:
        return XmpData()
    from PIL import Image, IptcImagePlugin

    try:
        with Image.open(path) as im:
            info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:  # a damaged header is the scanner's business to report, not ours
        return XmpData()
    raw = info.get((2, 25), [])
    values = raw if isinstance(raw, list) else [raw]
    keywords = unique(split_keyword(_text(v), None) for v in values if isinstance(v, bytes))
    caption = info.get((2, 120))
    description = _text(caption) or None if isinstance(caption, bytes) else None
    return XmpData(keywords, description, None)


def read_embedded(path: Path) -> tuple[XmpData, str | None]:
    """What the image file itself says (XMP united with IPTC), and a problem worth reporting."""
    problem = None
    xmp = XmpData()
    packet = find_packet(path)
    if packet is not None:
        try:
            xmp = parse_packet(packet)
        except XmpError as exc:
            problem = str(exc)
    iptc = read_iptc(path)
    keywords = unique(iptc.keywords + xmp.keywords)
    description = xmp.description if xmp.description is not None else iptc.description
    return XmpData(keywords, description, xmp.rating), problem
