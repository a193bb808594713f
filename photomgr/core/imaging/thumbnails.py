"""Thumbnails: made from the one decode of a photo, cached on disk by content hash.

Keyed by content hash, a thumbnail survives renames and moves, and identical copies share one.
Files are fanned out over 256 sub-folders (root/ab/abcdef....jpg) so no folder holds 100k files.
Writes are atomic (temporary file + os.replace): a crash or a concurrent reader never sees a
half-written JPEG, and two writers of the same key simply both produce a whole file.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from PIL import Image

from photomgr.core.imaging.convert import to_rgb
from photomgr.core.tempfiles import make_temp

THUMBNAIL_SIZE = 256
JPEG_QUALITY = 85
_KEY_RE = re.compile(r"[0-9a-f]{4,128}")


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """A new RGB image whose long side is `size` (smaller images keep their size: never upscale)."""
    thumb = image.copy()
    # Shrink before converting: cheaper, and the input is usually RGB already (decode_photo).
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return to_rgb(thumb)


class ThumbnailCache:
    """JPEG thumbnails under `root`, one per content hash."""

    def __init__(self, root: Path, size: int = THUMBNAIL_SIZE) -> None:
        self.root = Path(root)
        self.size = size

    def path_for(self, key: str) -> Path:
        """root/ab/abcdef....jpg for key "abcdef..."; the key must be a lowercase hex hash,
        which also keeps a malformed key from ever naming a path outside the cache."""
        if not _KEY_RE.fullmatch(key):
            raise ValueError(f"thumbnail key must be a lowercase hex content hash, not {key!r}")
        return self.root / key[:2] / f"{key}.jpg"

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def save(self, key: str, image: Image.Image) -> Path:
        """Make the thumbnail of a decoded image and write it atomically; returns its path."""
        path = self.path_for(key)
        thumb = make_thumbnail(image, self.size)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temporary file lives in the same folder so os.replace is an atomic rename.
        fd, tmp_name = make_temp(path.parent, f".{key[:16]}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                thumb.save(fh, "JPEG", quality=JPEG_QUALITY)
            # No fsync: a thumbnail is derived data, rebuilt if a power cut ever loses it.
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return path

    def load(self, key: str, grey: bool = False) -> Image.Image | None:
        """The cached thumbnail, fully loaded (no open file left behind), or None if there is
        none or it is unreadable (the caller then makes it again). `grey`: only its luma ("L"),
        as the JPEG stores it: the decoder skips the colour planes (0.36 instead of 0.56 ms for
        a 256-px thumbnail; the near-copy check reads only grey levels)."""
        path = self.path_for(key)
        try:
            with Image.open(path, formats=["JPEG"]) as image:
                if grey:
                    image.draft("L", image.size)  # same size: no DCT scaling, only the mode
                image.load()
                return image.copy()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return None


class GreyThumbnails:
    """A thumbnail's luma by content hash (ThumbnailCache.load(grey=True)), None when there is
    none, it is unreadable or the key is not a hash. Picklable (a root path): the near-copy
    check's worker processes read thumbnails with it (search/copy_pool.py)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __call__(self, key: str) -> Image.Image | None:
        try:
            return ThumbnailCache(self.root).load(key, grey=True)
        except ValueError:  # not a hex hash: nothing of ours
            return None
