"""Turn any decoded Pillow image into a small, upright, 8-bit RGB picture.

The order of the steps is about memory: a big image is shrunk *before* it is converted, so a
100-megapixel RGBA or 32-bit TIFF never gets a second full-size copy. Palette images are the
exception (averaging palette indices gives garbage colours), so they are converted first unless
they are huge, in which case a nearest-neighbour pre-shrink keeps the cost bounded.
"""

from __future__ import annotations

from PIL import Image

Resampling = Image.Resampling
Transpose = Image.Transpose

# EXIF orientation -> the transpose that makes the stored pixels upright (as ImageOps.exif_transpose).
_UPRIGHT: dict[int, Transpose] = {
    2: Transpose.FLIP_LEFT_RIGHT,
    3: Transpose.ROTATE_180,
    4: Transpose.FLIP_TOP_BOTTOM,
    5: Transpose.TRANSPOSE,
    6: Transpose.ROTATE_270,
    7: Transpose.TRANSVERSE,
    8: Transpose.ROTATE_90,
}

_INDEXED_MODES = ("1", "P", "PA")
_PALETTE_CONVERT_FIRST_MAX_PIXELS = 4096 * 4096  # below this, converting first costs <= 64 MB
_WHITE = (255, 255, 255)


def fit_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """`size` scaled so that its long side is `long_side`, keeping the aspect ratio."""
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def upright(image: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation (1..8) to the pixels; 1 or anything unknown leaves them as is."""
    method = _UPRIGHT.get(orientation)
    return image if method is None else image.transpose(method)


def shrink(image: Image.Image, long_side: int) -> Image.Image:
    """Downscale so the long side is at most `long_side` (never upscale), antialiased."""
    if max(image.size) <= long_side:
        return image
    size = fit_size(image.size, long_side)
    if image.mode.startswith("I;16"):
        # Pillow cannot reduce() 16-bit images, which resize's reducing_gap would call.
        return image.resize(size, Resampling.BOX)
    return image.resize(size, Resampling.LANCZOS, reducing_gap=3.0)


def to_small_rgb(image: Image.Image, long_side: int) -> Image.Image:
    """Any mode, any size -> RGB with long side <= `long_side`; alpha is composited on white."""
    if image.mode in _INDEXED_MODES:
        if image.width * image.height > _PALETTE_CONVERT_FIRST_MAX_PIXELS:
            image = image.resize(fit_size(image.size, 4 * long_side), Resampling.NEAREST)
        image = _expand_indexed(image)
    image = shrink(image, long_side)
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert to 8-bit RGB sensibly: high bit depths are scaled (not clipped), alpha goes on white."""
    if image.mode == "RGB":
        return image
    if image.mode in _INDEXED_MODES:
        image = _expand_indexed(image)
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image = _to_8bit_gray(image)
    if image.mode in ("RGBA", "LA", "RGBa", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _expand_indexed(image: Image.Image) -> Image.Image:
    """Palette/bilevel images to a mode that resamples correctly (colours, not indices)."""
    if image.mode == "1":
        return image.convert("L")
    has_alpha = image.mode == "PA" or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    """16/32-bit grayscale to "L". Pillow's own convert clips everything above 255 to white."""
    sixteen_bit = image.mode.startswith("I;16")
    if image.mode not in ("I", "F"):
        image = image.convert("I")  # point() maps I;16 variants through an 8-bit table otherwise
    extrema = image.getextrema()  # one band: (min, max)
    low, high = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
    if sixteen_bit or (low >= 0 and 255 < high <= 65535):
        scale, offset = 1 / 257, 0.0  # full 16-bit range -> full 8-bit range
    elif image.mode == "F" and low >= 0 and high <= 1.0:
        scale, offset = 255.0, 0.0  # normalised float data
    elif low >= 0 and high <= 255:
        return image.convert("L")
    else:  # float data or signed values: stretch what is there
        scale = 255.0 / ((high - low) or 1.0)
        offset = -low * scale
    return image.point(lambda v: v * scale + offset).convert("L")
