"""Everything done to one new or changed file, in a worker thread: hash, sniff, decode once,
thumbnail, and (when indexing with a model) the model's input tensor from the same decode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from photomgr.core.imaging.decode import decode_photo
from photomgr.core.imaging.errors import PERMANENT, TRANSIENT, ErrorKind, ImageError, os_error_kind
from photomgr.core.imaging.files import FileTooLargeError, NotRegularFileError, open_photo_file
from photomgr.core.imaging.formats import HEAD_SIZE, sniff_format
from photomgr.core.imaging.metadata import PhotoMetadata
from photomgr.core.imaging.thumbnails import ThumbnailCache, make_thumbnail
from photomgr.core.scanning.hashing import hash_stream
from photomgr.core.scanning.walker import FileEntry
from photomgr.core.search.coarse_copy import DESCRIPTOR_KIND, descriptor, pack
from photomgr.core.search.fingerprint import KIND, phash, to_signed

# Extensions that promise an image. A file with one of these that is not an image is
# reported as a bad photo; any other non-image file (README.txt, .mp4) is simply not a photo.
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .apng .webp .tif .tiff .gif .bmp .dib .heic .heif .hif .avif "
    ".dng .nef .nrw .cr2 .cr3 .crw .arw .srf .sr2 .orf .rw2 .raf .pef .srw .raw .rwl .3fr .erf "
    ".kdc .mrw .x3f .iiq"
    .split()
)


# Raster formats photomgr does not read. Such a file is reported as an unsupported photo
# (the user sees it and why) rather than silently passed over like a text file.
UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    ".psd .psb .tga .jp2 .j2k .jpf .jpx .jpc .ico .cur .icns .dds .pcx .dcx .ppm .pgm .pbm .pnm "
    ".pfm .sgi .rgb .rgba .bw .qoi .xbm .xpm .fli .flc .blp .fits .fit .eps .ras .im .msp "
    ".spider .ftc .ftu .wal .pcd .fpx .mic .pxr .xcf .exr .hdr .jxl .svg .emf .wmf"
    .split()
)


def promises_image(path: Path) -> bool:
    """Does the name say "photo"? What a scan counts as one before reading the file."""
    return path.suffix.lower() in IMAGE_EXTENSIONS or path.suffix.lower() in UNSUPPORTED_IMAGE_EXTENSIONS


@dataclass
class Analyzed:
    """The outcome for one file. `kind` says which fields are meaningful."""

    entry: FileEntry
    kind: str  # "photo" | "bad" | "not_image" | "vanished"
    content_hash: str | None = None
    metadata: PhotoMetadata | None = None
    error: str | None = None
    prepared: object | None = None  # model input, when a `prepare` function was given
    error_kind: ErrorKind | None = None  # for "bad": is it worth trying again next scan?
    fingerprint: tuple[str, int] | None = None  # (kind, signed value) of a new thumbnail's pHash
    # (kind, height, width, pixels): a new thumbnail's near-copy descriptor (coarse_copy.py)
    copy_descriptor: tuple[str, int, int, bytes] | None = None


def analyze_file(
    entry: FileEntry,
    thumbnails: ThumbnailCache,
    prepare: Callable[[object], object] | None = None,
) -> Analyzed:
    """Never raises: every failure becomes an `Analyzed` that says why.

    The file is opened once (regular files only, non-blocking, size-capped: see
    imaging/files.py) and its header, hash and decode all read that one descriptor.
    """
    path = entry.path
    try:
        with open_photo_file(path) as fh:
            return _analyze_open(entry, fh, thumbnails, prepare)
    except FileNotFoundError:  # PhotoMissingError too
        return Analyzed(entry, "vanished", error="vanished during the scan", error_kind=TRANSIENT)
    except (NotRegularFileError, FileTooLargeError) as exc:
        if not promises_image(path):  # a pipe called "fifo" or a 40 GB video is simply not a photo
            return Analyzed(entry, "not_image", error=str(exc))
        return Analyzed(entry, "bad", error=str(exc), error_kind=PERMANENT)
    except MemoryError:
        return Analyzed(entry, "bad", error="out of memory while reading this file",
                        error_kind=TRANSIENT)
    except OSError as exc:  # permission, I/O error, a disk that went away: try again next time
        return Analyzed(entry, "bad", error=f"cannot read file: {exc.strerror or exc}",
                        error_kind=os_error_kind(exc))
    except Exception as exc:  # a bad file is data: whatever it raises, the scan goes on
        return Analyzed(entry, "bad", error=f"could not read: {type(exc).__name__}: {exc}",
                        error_kind=PERMANENT)


def _analyze_open(entry: FileEntry, fh: BinaryIO, thumbnails: ThumbnailCache,
                  prepare: Callable[[object], object] | None) -> Analyzed:
    path = entry.path
    fmt = sniff_format(path, fh.read(HEAD_SIZE))
    suffix = path.suffix.lower()
    # Only image content is hashed: hashing every video in a Pictures folder costs minutes,
    # and a 40 GB disk image named .jpg must not be read to learn it is not a photo.
    if fmt is None and suffix not in IMAGE_EXTENSIONS:
        if suffix in UNSUPPORTED_IMAGE_EXTENSIONS:
            return Analyzed(entry, "bad", content_hash=hash_stream(fh), error_kind=PERMANENT,
                            error=f"unsupported image format ({suffix}): photomgr reads JPEG, "
                                  "PNG, WebP, TIFF, GIF, BMP, HEIC/HEIF, AVIF and camera RAW")
        return Analyzed(entry, "not_image", error="not an image")
    if fmt is None:
        reason = "not an image: empty file" if entry.size == 0 else (
            "not an image: the content is not a recognised image format "
            f"despite the {path.suffix} extension")
        return Analyzed(entry, "bad", error=reason, error_kind=PERMANENT)
    content_hash = hash_stream(fh)

    try:
        decoded = decode_photo(path, fmt=fmt, file=fh)
    except FileNotFoundError:
        return Analyzed(entry, "vanished", error="vanished during the scan", error_kind=TRANSIENT)
    except ImageError as exc:
        return Analyzed(entry, "bad", content_hash=content_hash, error=str(exc),
                        error_kind=exc.kind)

    fingerprint: tuple[str, int] | None = None
    desc: tuple[str, int, int, bytes] | None = None
    try:
        if not thumbnails.exists(content_hash):
            thumb = make_thumbnail(decoded.image, thumbnails.size)
            thumbnails.save(content_hash, thumb)  # already small: saved as it is
            # its pHash and near-copy descriptor while it is in memory (~0.2 ms): Duplicates
            # then decodes no thumbnail to propose pairs, nor for the pairs its screen settles
            fingerprint = (KIND, to_signed(phash(thumb)))
            desc = (DESCRIPTOR_KIND, *pack(descriptor(thumb)))
        prepared = prepare(decoded.image) if prepare is not None else None
    except Exception as exc:  # a bad file is data: the scan must go on
        # A full disk or a lost thumbnail folder is the machine's state, not the photo's.
        return Analyzed(entry, "bad", content_hash=content_hash, error_kind=os_error_kind(exc),
                        error=f"could not make a thumbnail: {type(exc).__name__}: {exc}")
    return Analyzed(entry, "photo", content_hash=content_hash, metadata=decoded.metadata,
                    prepared=prepared, fingerprint=fingerprint, copy_descriptor=desc)
