"""Camera RAW: show the JPEG preview the camera embedded, demosaic only when there is none.

Demosaicing a 24 MP raw takes seconds; the embedded preview (usually a full- or near-full-size
JPEG) decodes in milliseconds with draft mode and is what the photographer saw on the camera.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from PIL import Image

from photomgr.core.imaging.budget import DECODE_BUDGET
from photomgr.core.imaging.errors import ImageError
from photomgr.core.imaging.metadata import (
    TAG_ORIENTATION,
    PhotoMetadata,
    metadata_from_exif,
    orientation_of,
    read_exif,
)

# LibRaw's `flip` -> EXIF orientation. The embedded preview is stored as the sensor saw it,
# so it needs the raw's own orientation; postprocess() applies it by itself.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}
_CONTAINER_EXIF_BYTES = 1 << 19  # IFD0 and the EXIF IFD of TIFF-based raws sit near the start


def open_raw_preview(file: BinaryIO, min_side: int) -> tuple[Image.Image, PhotoMetadata, bool]:
    """(image, metadata, already_upright) for a RAW file, opened (see imaging/files.py).

    The image is an opened Pillow image (a JPEG preview, not yet loaded, so the caller can use
    draft mode) or an in-memory bitmap. `already_upright` is True when the pixels came from
    LibRaw's own processing, which rotates them.
    """
    try:
        import rawpy
    except ImportError as exc:
        raise ImageError("RAW support is not installed (the rawpy package is missing)") from exc

    try:
        file.seek(0)
        with rawpy.imread(file) as raw:
            flip_orientation = _FLIP_TO_ORIENTATION.get(int(raw.sizes.flip), 1)
            preview = _embedded_preview(raw, rawpy, min_side)
            if preview is None:
                _check_pixel_limit(raw.sizes.width, raw.sizes.height)
                # Half-size demosaic: 3 bytes a pixel in numpy, then 4 in Pillow's copy.
                with DECODE_BUDGET.reserve(raw.sizes.width * raw.sizes.height * 7 // 4):
                    pixels = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
                    preview = Image.fromarray(pixels)
                    del pixels
                upright = True
            else:
                upright = False
    except rawpy.LibRawError as exc:
        raise ImageError(f"unreadable RAW ({_libraw_message(exc)})") from exc

    preview_exif = read_exif(preview)
    exif = preview_exif if len(preview_exif) else _container_exif(file)  # previews rarely carry EXIF
    if upright:
        orientation = 1  # LibRaw already turned the pixels
    elif TAG_ORIENTATION in preview_exif:
        orientation = orientation_of(preview_exif)  # the preview states its own orientation
    else:
        orientation = flip_orientation
    return preview, metadata_from_exif(exif, preview.size, "raw", orientation=orientation), upright


def _embedded_preview(raw: Any, rawpy: Any, min_side: int) -> Image.Image | None:
    """The embedded preview if it is usable and big enough; None to fall back to demosaicing."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    image: Image.Image
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            image = Image.open(io.BytesIO(thumb.data), formats=["JPEG"])
        elif thumb.format == rawpy.ThumbFormat.BITMAP:
            image = Image.fromarray(thumb.data)
        else:
            return None
    except (OSError, SyntaxError, ValueError, TypeError):
        return None  # a broken preview is no reason to give up: the sensor data may be fine
    if max(image.size) < min(min_side, max(raw.sizes.width, raw.sizes.height)):
        return None  # a tiny 160x120 thumbnail: demosaic for a usable picture
    return image


def _check_pixel_limit(width: int, height: int) -> None:
    """Apply Pillow's decompression-bomb limit to LibRaw output as well."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > 2 * limit:
        raise ImageError(f"decompression bomb: {width * height} pixels exceeds limit of {2 * limit}")


def _container_exif(file: BinaryIO) -> Image.Exif:
    """EXIF read straight from a TIFF-based raw's header (DNG, NEF, CR2, ARW...)."""
    exif = Image.Exif()
    try:
        file.seek(0)
        head = file.read(_CONTAINER_EXIF_BYTES)
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            exif.load(head)
    except Exception:  # metadata is optional; the picture is what matters
        return Image.Exif()
    return exif


def _libraw_message(exc: BaseException) -> str:
    message = exc.args[0] if exc.args else ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
