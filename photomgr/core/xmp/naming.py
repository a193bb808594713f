"""The two sidecar names a photo can have; a module of its own so that the CLI's parser can
offer them without loading the XMP readers (every command builds every parser)."""

from __future__ import annotations

EXT_NAMING = "ext"  # IMG_1.jpg.xmp
BASE_NAMING = "base"  # IMG_1.xmp
NAMINGS = (EXT_NAMING, BASE_NAMING)
