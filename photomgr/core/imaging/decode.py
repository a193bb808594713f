"""Decode a photo once, small and upright, for both its thumbnail and the model's input.

Decoding is the slowest step of a scan, so the full-resolution pixels are never produced when
they are not needed: JPEG uses libjpeg's DCT scaling (draft mode; an 18 MP photo decodes at 1/8
size in a fraction of the time), HEIF uses an embedded thumbnail when one is big enough, and RAW
uses the camera's embedded preview. Everything is then shrunk to at most 2 x `min_side`.

A bad file is data, not a crash: every failure, whatever Pillow or a codec raises, comes out as
an `ImageError` with a one-line reason, so one broken file can never stop a scan. The error says
whether it is transient (I/O, permission, memory: worth trying again) or permanent.

The file is opened once, safely (`open_photo_file`: regular files only, non-blocking, size
capped), and a full-size decode first reserves its memory from `DECODE_BUDGET`.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError, features

from photomgr.core.imaging.budget import DECODE_BUDGET, estimate_decode_bytes
from photomgr.core.imaging.convert import to_small_rgb, upright
from photomgr.core.imaging.errors import ImageError, PhotoMissingError
from photomgr.core.imaging.files import open_photo_file
from photomgr.core.imaging.formats import HEAD_SIZE, IMAGE_FORMATS, sniff_format
from photomgr.core.imaging.libtiff_quiet import quiet_libtiff
from photomgr.core.imaging.metadata import PhotoMetadata, read_metadata
from photomgr.core.imaging.raw import open_raw_preview

quiet_libtiff()  # a bad TIFF is reported in the scan's errors, not also by libtiff on stderr

# Pillow plugin names per sniffed format: opening with only the expected plugin means a file
# is never handed to an unrelated (and possibly less hardened) decoder.
_PIL_FORMATS: dict[str, list[str]] = {
    "jpeg": ["JPEG"],
    "png": ["PNG"],
    "webp": ["WEBP"],
    "tiff": ["TIFF"],
    "gif": ["GIF"],
    "bmp": ["BMP"],
    "heif": ["HEIF"],
    "avif": ["AVIF"],
}
_LABELS = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "tiff": "TIFF", "gif": "GIF", "bmp": "BMP",
           "heif": "HEIF", "avif": "AVIF", "raw": "RAW"}
# Formats whose plugin can decode at reduced size (draft); their metadata is read before
# draft() changes the reported size.
_DRAFT_FORMATS = frozenset({"jpeg", "heif"})
_MAX_MESSAGE = 200
_BOMB_RE = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+)")


@dataclass
class DecodedPhoto:
    metadata: PhotoMetadata
    image: Image.Image  # upright, mode RGB, long side in [min_side, 2*min_side] where the original allows


def _register_plugins() -> None:
    """HEIF through pillow_heif; AVIF through Pillow's own plugin, else pillow_heif's if it has one."""
    try:
        import pillow_heif
    except ImportError:  # HEIF files then fail with a clear "unsupported" reason
        return
    pillow_heif.register_heif_opener()
    if not features.check("avif") and hasattr(pillow_heif, "register_avif_opener"):
        pillow_heif.register_avif_opener()


def _quiet_warnings() -> None:
    """A scan of thousands of files must not print a warning per odd file: what matters about a
    file is recorded on its row. Pillow's default bomb limit stays (only its warning is muted).

    Checked on every decode rather than set once, because a host (pytest, an embedding app)
    may replace the filter list after import; when already present this is a cheap scan.
    """
    if any(f[0] == "ignore" and f[2] is Image.DecompressionBombWarning for f in warnings.filters):
        return
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(PIL|pillow_heif)(\.|$)")
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


_register_plugins()


def decode_photo(path: Path, *, min_side: int = 256, fmt: str | None = None,
                 file: BinaryIO | None = None) -> DecodedPhoto:
    """Decode `path` into an upright RGB image with long side in [min_side, 2*min_side].

    `fmt` is the result of `sniff_format` when the caller already has it; `file` the file
    already opened with `open_photo_file` (then `path` only names it in messages). Raises
    `ImageError` (a `PhotoMissingError`, also a FileNotFoundError, when the file has vanished)
    and nothing else. The file is only ever opened for reading.
    """
    if min_side < 1:
        raise ValueError(f"min_side must be positive, not {min_side}")
    _quiet_warnings()
    path = Path(path)
    label = _LABELS.get(fmt or "", "image")
    opened: BinaryIO | None = None
    try:
        if file is None:
            file = opened = open_photo_file(path)
        if fmt is None:
            file.seek(0)
            head = file.read(HEAD_SIZE)
            fmt = sniff_format(path, head)
            label = _LABELS.get(fmt or "", "image")
            if fmt is None:
                empty = not head and os.fstat(file.fileno()).st_size == 0
                raise ImageError("not an image (empty file)" if empty
                                 else "not an image (unrecognised content)")
        if fmt not in IMAGE_FORMATS or not _plugin_available(fmt):
            raise ImageError(f"unsupported format: no {label} decoder is installed")
        file.seek(0)
        return _decode(path, file, fmt, min_side)
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise PhotoMissingError(path) from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(_bomb_message(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"corrupt {label}: the decoder cannot identify its content") from exc
    except MemoryError:
        raise ImageError(f"out of memory while decoding this {label} (image too large?)",
                         transient=True) from None
    except OSError as exc:
        if exc.errno is not None:  # the file system, not the content: worth another try later
            raise ImageError(f"cannot read file: {exc.strerror or exc}", transient=True) from exc
        raise ImageError(_corrupt_message(label, exc)) from exc
    except (SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError,
            ZeroDivisionError, OverflowError, RuntimeError, NotImplementedError) as exc:
        raise ImageError(_corrupt_message(label, exc)) from exc
    except Exception as exc:  # one bad file must never crash a scan
        raise ImageError(f"could not decode: {type(exc).__name__}: {_one_line(exc)}") from exc
    finally:
        if opened is not None:
            opened.close()


def _decode(path: Path, file: BinaryIO, fmt: str, min_side: int) -> DecodedPhoto:
    """The decode itself; raises whatever the codecs raise, decode_photo translates it."""
    long_side = 2 * min_side
    if fmt == "raw":
        try:
            preview, metadata, is_upright = open_raw_preview(file, min_side)
        except ImageError as raw_error:
            if not _has_tiff_magic(file):
                raise
            try:  # a plain TIFF named .dng/.nef (or a TIFF-based raw LibRaw lacks): try it as TIFF
                file.seek(0)
                return _decode(path, file, "tiff", min_side)
            except Exception:
                raise raw_error from raw_error.__cause__  # the RAW reason is the one that matters
        with preview:
            if preview.format == "JPEG":
                preview.draft("RGB", (min_side, min_side))
            preview.load()
            small = to_small_rgb(preview, long_side)
            out = small if is_upright else upright(small, metadata.orientation)
            return DecodedPhoto(metadata, out.copy() if out is preview else out)

    with Image.open(file, formats=_PIL_FORMATS[fmt]) as image:
        drafted: PhotoMetadata | None = None
        if fmt in _DRAFT_FORMATS:
            drafted = read_metadata(image, fmt)  # full size, before draft() shrinks it
            image.draft("RGB", (min_side, min_side))
        # The size is known from the header (after draft, the reduced one): reserve the memory
        # of the full decode before making it.
        with DECODE_BUDGET.reserve(estimate_decode_bytes(image)):
            image.load()  # forced here so a truncated file fails now, inside the try
            meta = drafted if drafted is not None else read_metadata(image, fmt)
            out = upright(to_small_rgb(image, long_side), meta.orientation)
            decoded = DecodedPhoto(meta, out.copy() if out is image else out)
            # Free the full-size pixels now, inside the reservation, not when `image` is
            # collected after the next decode has started. (Image.close, not ImageFile.close:
            # the file belongs to the caller.)
            Image.Image.close(image)
        return decoded


def _plugin_available(fmt: str) -> bool:
    """False when Pillow has no opener for the format (e.g. pillow_heif is not installed)."""
    if fmt == "raw":
        return True  # rawpy is checked where it is imported, with its own message
    Image.init()  # cheap after the first call: loads Pillow's plugins once
    return all(name in Image.OPEN for name in _PIL_FORMATS[fmt])


def _has_tiff_magic(file: BinaryIO) -> bool:
    file.seek(0)
    return file.read(4) in (b"II*\x00", b"MM\x00*")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _corrupt_message(label: str, exc: BaseException) -> str:
    text = _one_line(exc)
    if "truncated" in text.lower():
        return f"truncated {label} ({text})"
    return f"corrupt {label}: {text}"


def _bomb_message(exc: BaseException) -> str:
    match = _BOMB_RE.search(str(exc))
    if match is None:
        return f"decompression bomb: {_one_line(exc)}"
    return f"decompression bomb: {match[1]} pixels exceeds limit of {match[2]}"
