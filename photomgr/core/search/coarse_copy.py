"""A coarse near-copy screen: the near-copy check's search at 32 px, in a few numpy calls.

The full check (near_copy.py) searches one photo at 36 scales inside the other at 64 px; its
cost (~7 CPU ms a pair) is Pillow resizing and blurring every template and FFTs of 64 x 64.
Most pairs that Duplicates proposes are not copies (about 4 in 5 on Caltech dev: the nearest
photo of the same kind), and a search at half the resolution tells them apart: a pair whose
coarse similarity is under REJECT_BELOW is not a copy, and the full check runs only on the
rest, at the scales near the coarse match (near_copy.copy_similarity).

The same search, done differently so that it costs ~0.3 ms: each photo is a small grey array
(`COARSE_SOURCE` px long side, a per-photo descriptor made once); every template of one photo
(scales from "fills the other" down to MIN_COVER, COARSE_STEP apart) comes out of two batched
matrix products, resampling (area weights) and sharpening (a separable unsharp mask) folded
into one matrix per axis and template size, cached; one batched FFT correlates them all; window
statistics come from summed-area tables gathered for every scale at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

COARSE_SOURCE = 64  # descriptor long side: templates are resampled from it
COARSE_WORK = 32  # the photo searched in, long side
COARSE_STEP = 0.94  # scales 6 % apart: at 32 px about one pixel at the largest template
COARSE_SIGMA = 1.5  # sharpening: the full check's 3 px at 64, at half the resolution
SHARPEN_GAIN = 1.0
MIN_COVER = 0.6  # as the full check: the copy spans at least this much of the fitting side
MIN_TEMPLATE_SIDE = 6  # the full check's 12 px at 64
MIN_STD = 2.0  # grey levels: a flatter template or window proves nothing
GROUP = 256  # ways searched in one set of batched calls (contained_many): bounds their memory
# Stored next to each descriptor in the library (copy_descriptors): a change to `descriptor`
# (its size, its resampling) must change it, so descriptors made the old way are not used.
DESCRIPTOR_KIND = "grey64-v1"


def descriptor(image: Image.Image) -> np.ndarray:
    """The per-photo descriptor: grey levels at long side COARSE_SOURCE (no upscaling), uint8."""
    grey = image if image.mode == "L" else image.convert("L")
    w, h = grey.size
    scale = COARSE_SOURCE / max(w, h)
    if scale < 1.0:
        grey = grey.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.uint8)


def pack(desc: np.ndarray) -> tuple[int, int, bytes]:
    """A descriptor as the library stores it: (height, width, row-major uint8 bytes)."""
    h, w = desc.shape
    return int(h), int(w), np.ascontiguousarray(desc, np.uint8).tobytes()


def unpack(height: int, width: int, pixels: bytes) -> np.ndarray | None:
    """The stored form back as a descriptor; None when it cannot be one (a damaged row, or a
    size no descriptor has): the caller makes it again from the thumbnail."""
    # type, not isinstance: SQLite keeps a text or real value in an INTEGER column as it is
    # (and bool is an int); such a row is damaged, not a size
    if type(height) is not int or type(width) is not int or \
            not (0 < height <= COARSE_SOURCE and 0 < width <= COARSE_SOURCE) or \
            not isinstance(pixels, bytes) or len(pixels) != height * width:
        return None
    return np.frombuffer(pixels, np.uint8).reshape(height, width)


@lru_cache(maxsize=4096)
def _axis(n_src: int, m: int) -> np.ndarray:
    """(m, n_src) float32: resample n_src samples to m by area weights, then sharpen at m
    (unsharp mask along this axis: itself plus SHARPEN_GAIN times its detail above a Gaussian
    of COARSE_SIGMA, edges clamped)."""
    edges = np.arange(m + 1) * (n_src / m)
    j = np.arange(n_src)
    overlap = np.minimum(edges[1:, None], j[None] + 1) - np.maximum(edges[:-1, None], j[None])
    resample = np.clip(overlap, 0.0, None)
    resample /= resample.sum(axis=1, keepdims=True)
    radius = int(3 * COARSE_SIGMA)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets ** 2) / (2 * COARSE_SIGMA ** 2))
    kernel /= kernel.sum()
    blur = np.zeros((m, m))
    rows = np.arange(m)
    for off, k in zip(offsets, kernel, strict=True):
        np.add.at(blur, (rows, np.clip(rows + off, 0, m - 1)), k)
    sharpen = (1 + SHARPEN_GAIN) * np.eye(m) - SHARPEN_GAIN * blur
    out = (sharpen @ resample).astype(np.float32)
    out.setflags(write=False)
    return out


def _work_shape(shape: tuple[int, int]) -> tuple[int, int]:
    h, w = shape
    scale = min(1.0, COARSE_WORK / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


@dataclass(frozen=True)
class _Plan:
    """The template sizes of a (h0, w0) descriptor inside a (H, W) work image, the stacked
    matrices that make them ((K, H, h0) and (K, W, w0), rows past each size zero), and every
    position where a template fits, flattened over scales (so one gather serves them all)."""

    sizes: np.ndarray  # (K, 2) heights and widths
    rows: np.ndarray
    cols: np.ndarray
    mask: np.ndarray  # (K, H, W) 1.0 inside each template
    covers: np.ndarray  # (K,) template height / the largest that fits
    scale_of: np.ndarray  # (P,) the scale of each position
    at: np.ndarray  # (P,) the position in the (K, H, W) correlations, flattened
    corners: np.ndarray  # (4, P) a window's corners in the (H + 1, W + 1) summed-area tables
    area: np.ndarray  # (P,) pixels of the window


# A plan is ~140 KB (~220 KB at 64 x 64): 512 of them bound the cache near 100 MB for the life
# of the process (4,096 could reach ~0.6 GB in a library of many crop shapes); a library of
# ordinary photos needs a few dozen shape pairs.
@lru_cache(maxsize=512)
def _plan(src: tuple[int, int], shape: tuple[int, int]) -> _Plan | None:
    h0, w0 = src
    big_h, big_w = shape
    aspect = w0 / h0
    height = min(float(big_h), big_w / aspect)
    largest, smallest = height, MIN_COVER * height
    sizes: list[tuple[int, int]] = []
    covers: list[float] = []
    while height >= smallest:
        th, tw = round(height), round(height * aspect)
        cover = height / largest  # as the full check counts it (near_copy._Templates)
        height *= COARSE_STEP
        if min(th, tw) < MIN_TEMPLATE_SIDE:
            break
        if th > big_h or tw > big_w or (th, tw) in sizes:
            continue
        sizes.append((th, tw))
        covers.append(cover)
    if not sizes:
        return None
    k = len(sizes)
    rows = np.zeros((k, big_h, h0), np.float32)
    cols = np.zeros((k, big_w, w0), np.float32)
    mask = np.zeros((k, big_h, big_w), np.float32)
    scale_of, at, corners, area = [], [], [], []
    for i, (th, tw) in enumerate(sizes):
        rows[i, :th] = _axis(h0, th)
        cols[i, :tw] = _axis(w0, tw)
        mask[i, :th, :tw] = 1.0
        y, x = np.mgrid[: big_h - th + 1, : big_w - tw + 1]
        y, x = y.reshape(-1), x.reshape(-1)
        scale_of.append(np.full(len(y), i))
        at.append((i * big_h + y) * big_w + x)
        stride = big_w + 1
        corners.append(np.stack([(y + th) * stride + x + tw, y * stride + x + tw,
                                 (y + th) * stride + x, y * stride + x]))
        area.append(np.full(len(y), float(th * tw)))
    arr = np.array(sizes)
    return _Plan(arr, rows, cols, mask, np.array(covers), np.concatenate(scale_of),
                 np.concatenate(at), np.concatenate(corners, axis=1), np.concatenate(area))


class CoarseProbe:
    """One photo at the coarse level: its descriptor, and (made on first use) its sharpened
    work image with the FFT and summed-area tables needed to search other photos inside it."""

    def __init__(self, desc: np.ndarray) -> None:
        self.source = np.asarray(desc, np.float32)
        self._lock = threading.Lock()
        self._work: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def work(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(work image, its rfft2, summed-area tables of values and squares)."""
        if self._work is None:
            h0, w0 = self.source.shape
            h, w = _work_shape((h0, w0))
            img = _axis(h0, h) @ self.source @ _axis(w0, w).T
            pad = np.pad(img.astype(np.float64), ((1, 0), (1, 0)))
            made = (img, np.fft.rfft2(img), pad.cumsum(0).cumsum(1), (pad * pad).cumsum(0).cumsum(1))
            with self._lock:
                self._work = made
        return self._work


def contained(copy: CoarseProbe, original: CoarseProbe) -> tuple[float, float]:
    """(best NCC of `copy` at any scale and position inside `original`, the cover of the
    template that gave it: its height over the largest that fits); (-1.0, 0.0) when nothing fits."""
    img, spectrum, sums, squares = original.work()
    big_h, big_w = img.shape
    plan = _plan(copy.source.shape, (big_h, big_w))
    if plan is None:
        return -1.0, 0.0
    templates = plan.rows @ (copy.source @ plan.cols.transpose(0, 2, 1))  # (K, H, W)
    n = plan.sizes[:, 0] * plan.sizes[:, 1]
    means = templates.sum(axis=(1, 2)) / n
    centred = (templates - means[:, None, None].astype(np.float32)) * plan.mask
    norms = np.sqrt(np.einsum("kij,kij->k", centred, centred, dtype=np.float64))
    featured = norms / np.sqrt(n) >= MIN_STD  # a featureless template (sky, a wall) proves nothing
    corr = np.fft.irfft2(spectrum[None] * np.conj(np.fft.rfft2(centred)), s=(big_h, big_w)).reshape(-1)
    a, b, c, d = plan.corners
    flat_sums, flat_squares = sums.reshape(-1), squares.reshape(-1)
    s = flat_sums[a] - flat_sums[b] - flat_sums[c] + flat_sums[d]
    variance = flat_squares[a] - flat_squares[b] - flat_squares[c] + flat_squares[d] - s * s / plan.area
    # a flat window says nothing, however well it "correlates" with noise
    usable = (variance > (MIN_STD ** 2) * plan.area) & featured[plan.scale_of]
    if not usable.any():
        return -1.0, 0.0
    where = np.flatnonzero(usable)
    k = plan.scale_of[where]
    ncc = corr[plan.at[where]] / (np.sqrt(variance[where]) * norms[k])
    best = int(np.argmax(ncc))
    return float(ncc[best]), float(plan.covers[k[best]])


def contained_many(ways: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[tuple[float, float]]:
    """`contained` for many (copy descriptor, original descriptor) ways at once, the same
    numbers: ways whose two descriptors have the same shapes share one plan, so up to GROUP of
    them go through one set of batched numpy calls (one way alone is ~40 small calls, and their
    overhead, not the arithmetic, was most of its ~0.3 ms). Nothing per photo is kept."""
    out = [(-1.0, 0.0)] * len(ways)
    by_shapes: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = {}
    for i, (copy, original) in enumerate(ways):
        by_shapes.setdefault((copy.shape, original.shape), []).append(i)
    for members in by_shapes.values():
        for start in range(0, len(members), GROUP):
            chunk = members[start:start + GROUP]
            copies = np.stack([ways[i][0] for i in chunk]).astype(np.float32)
            originals = np.stack([ways[i][1] for i in chunk]).astype(np.float32)
            for i, found in zip(chunk, _contained_group(copies, originals), strict=True):
                out[i] = found
    return out


def _contained_group(copies: np.ndarray, originals: np.ndarray) -> list[tuple[float, float]]:
    """`contained` of copies[i] inside originals[i], (B, h0, w0) and (B, h1, w1), as batches."""
    count, h1, w1 = originals.shape
    big_h, big_w = _work_shape((h1, w1))
    plan = _plan(copies.shape[1:], (big_h, big_w))
    if plan is None:
        return [(-1.0, 0.0)] * count
    img = _axis(h1, big_h) @ originals @ _axis(w1, big_w).T  # the originals' work images (B, H, W)
    pad = np.pad(img.astype(np.float64), ((0, 0), (1, 0), (1, 0)))
    sums = pad.cumsum(1).cumsum(2).reshape(count, -1)
    squares = (pad * pad).cumsum(1).cumsum(2).reshape(count, -1)
    templates = plan.rows @ (copies[:, None] @ plan.cols.transpose(0, 2, 1))  # (B, K, H, W)
    n = plan.sizes[:, 0] * plan.sizes[:, 1]
    means = templates.sum(axis=(2, 3)) / n
    centred = (templates - means[..., None, None].astype(np.float32)) * plan.mask
    norms = np.sqrt(np.einsum("bkij,bkij->bk", centred, centred, dtype=np.float64))
    featured = norms / np.sqrt(n) >= MIN_STD
    corr = np.fft.irfft2(np.fft.rfft2(img)[:, None] * np.conj(np.fft.rfft2(centred)),
                         s=(big_h, big_w)).reshape(count, -1)
    a, b, c, d = plan.corners
    s = sums[:, a] - sums[:, b] - sums[:, c] + sums[:, d]
    variance = squares[:, a] - squares[:, b] - squares[:, c] + squares[:, d] - s * s / plan.area
    usable = (variance > (MIN_STD ** 2) * plan.area) & featured[:, plan.scale_of]
    scale = np.where(usable, np.sqrt(np.where(usable, variance, 1.0)) * norms[:, plan.scale_of], 1.0)
    ncc = np.where(usable, corr[:, plan.at] / scale, -np.inf)
    best = np.argmax(ncc, axis=1)
    score = ncc[np.arange(count), best]
    cover = plan.covers[plan.scale_of[best]]
    return [(float(v), float(c)) if np.isfinite(v) else (-1.0, 0.0)
            for v, c in zip(score.tolist(), cover.tolist(), strict=True)]


def coarse_similarity(a: CoarseProbe, b: CoarseProbe) -> tuple[float, bool, float]:
    """(the best coarse NCC either way, whether `a` is the one inside `b`, its cover)."""
    ab, cover_ab = contained(a, b)
    ba, cover_ba = contained(b, a)
    return (ab, True, cover_ab) if ab >= ba else (ba, False, cover_ba)
