"""Recognise an image file by its content (magic bytes), never by its extension.

Extensions lie: a `.jpg` that is really a PNG is common (messaging apps, renamed downloads), and a
`README` is never a photo whatever it is called. The only place the extension matters is camera
RAW: most RAW formats are TIFF containers, and the first bytes cannot tell a DNG from a TIFF.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_FORMATS: frozenset[str] = frozenset(
    {"jpeg", "png", "webp", "tiff", "gif", "bmp", "heif", "avif", "raw"}
)

HEAD_SIZE = 64  # enough for every signature below, including an ISO-BMFF 'ftyp' box's brands

# TIFF-container RAW formats: TIFF magic plus one of these extensions means RAW.
RAW_EXTENSIONS: frozenset[str] = frozenset({
    ".dng", ".nef", ".nrw", ".cr2", ".arw", ".srf", ".sr2", ".orf", ".pef", ".srw", ".raw", ".rwl",
    ".3fr", ".erf", ".kdc", ".dcr", ".k25", ".mef", ".mos", ".iiq", ".rw2", ".raf", ".cr3", ".crw",
    ".x3f", ".mrw",
})

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
# RAW formats with a signature of their own (no extension needed).
_RAW_MAGIC = (
    b"FUJIFILMCCD-RAW",  # Fujifilm RAF
    b"IIU\x00",  # Panasonic RW2 (TIFF-like, own magic)
    b"IIRO",  # Olympus ORF
    b"IIRS",  # Olympus ORF
    b"MMOR",  # Olympus ORF (big-endian)
    b"FOVb",  # Sigma X3F
    b"\x00MRM",  # Minolta MRW
)
_CRW_MAGIC = b"HEAPCCDR"  # Canon CRW, at offset 6

# ISO-BMFF ('ftyp') brands. The HEVC-specific brands name HEIF outright; the generic image
# brands (mif1/msf1/...) are shared by HEIF and AVIF, so they decide only when nothing else does.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
                          b"jpeg", b"jpgs"})
_GENERIC_IMAGE_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_AVIF_BRANDS = frozenset({b"avif", b"avis", b"avio"})
_RAW_BRANDS = frozenset({b"crx "})  # Canon CR3

# Sizes of the BMP info headers that exist (core, OS/2 v2, v1..v5): "BM" alone is too weak a
# signature, as any text file can start with those two letters.
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def sniff_format(path: Path, head: bytes | None = None) -> str | None:
    """The image format of `path` judged by its first bytes, or None when it is not an image.

    `head` is the file's first bytes if the caller already read them (at least 16, ideally 64);
    otherwise they are read here, and an OSError (missing file, no permission) propagates.
    """
    if head is None:
        with Path(path).open("rb") as fh:
            head = fh.read(HEAD_SIZE)
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(_RAW_MAGIC) or head[6:14] == _CRW_MAGIC:
        return "raw"
    if head.startswith(_TIFF_MAGIC):
        return "raw" if Path(path).suffix.lower() in RAW_EXTENSIONS else "tiff"
    if head[4:8] == b"ftyp":
        return _sniff_iso_bmff(head)
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    return None


def _sniff_iso_bmff(head: bytes) -> str | None:
    """HEIF, AVIF or CR3 from an 'ftyp' box; None for video (mp4/mov) and other ISO-BMFF files."""
    box_size = int.from_bytes(head[0:4], "big")
    end = min(len(head), box_size) if box_size >= 16 else len(head)
    major = head[8:12]
    compatible = {head[i:i + 4] for i in range(16, end - 3, 4)}
    brands = compatible | {major}
    if brands & _RAW_BRANDS:
        return "raw"
    if major in _AVIF_BRANDS:
        return "avif"
    if major in _HEIF_BRANDS:
        return "heif"
    if compatible & _AVIF_BRANDS:
        return "avif"
    if brands & (_HEIF_BRANDS | _GENERIC_IMAGE_BRANDS):
        return "heif"
    return None
