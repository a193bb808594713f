"""Perceptual-hash fingerprints: cheap proposals of photo pairs that may be copies of each other.

A fingerprint is a 64-bit DCT hash ("pHash") of a photo's thumbnail: the photo in grey at
32 x 32, its 2-D DCT, and one bit per low-frequency coefficient (the 8 x 8 corner), set when
the coefficient is above their median. Re-saving, resizing and mild crops move a few of the 64
bits; unrelated photos differ in ~32. Fingerprints only PROPOSE pairs; the near-copy check
(near_copy.py) verifies them on pixels, so a proposal that is not a copy costs a comparison,
never a wrong group.

Finding close pairs among N fingerprints without N x N comparisons: multi-index hashing. The 64
bits are cut into BANDS bands of 16; two hashes within Hamming distance r agree on at least one
band up to floor(r / BANDS) bits (pigeonhole). Every band value is looked up with up to
`band_flips` of its bits flipped, through one counting sort of each band, so a radius up to
BANDS * (band_flips + 1) - 1 is found exactly, in time roughly linear in N.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

HASH_SIDE = 32  # the grey image the DCT is taken of
LOW = 8  # the 8 x 8 low-frequency corner: 64 bits
BANDS = 4
BAND_BITS = 16
KIND = "phash64-v1"  # stored next to each fingerprint: a new algorithm gets a new kind


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II matrix, (HASH_SIDE, HASH_SIDE)."""
    n = HASH_SIDE
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def phash(image: Image.Image) -> int:
    """The 64-bit DCT hash of an image, as an unsigned int (see the module docstring)."""
    grey = image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.float64)
    m = _dct_matrix()
    low = (m @ pixels @ m.T)[:LOW, :LOW].reshape(-1)
    # The DC term (the mean brightness) is left out of the median: it dwarfs the others.
    bits = low > np.median(low[1:])
    return int(np.packbits(bits.astype(np.uint8)).view(">u8")[0])


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as SQLite's signed INTEGER."""
    return value - (1 << 64) if value >= (1 << 63) else value


def from_signed(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise distance of uint64 arrays, element by element."""
    x = np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64)).reshape(-1)
    if hasattr(np, "bitwise_count"):  # numpy >= 2: a popcount instruction, ~50x faster
        return np.bitwise_count(x).astype(np.int64)
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1).astype(np.int64)


def _flip_masks(flips: int) -> np.ndarray:
    """Every 16-bit mask with at most `flips` bits set (0, then 1 bit, then 2 bits...)."""
    masks = [0]
    if flips >= 1:
        masks += [1 << i for i in range(BAND_BITS)]
    if flips >= 2:
        masks += [(1 << i) | (1 << j) for i in range(BAND_BITS) for j in range(i + 1, BAND_BITS)]
    if flips >= 3:
        raise ValueError("band_flips above 2 is not supported (the lookups grow as 16^flips)")
    return np.array(masks, np.int64)


def close_pairs(hashes: np.ndarray, radius: int, band_flips: int = 1) -> np.ndarray:
    """(k, 2) row pairs i < j whose fingerprints are within `radius` bits, radius at most
    BANDS * (band_flips + 1) - 1 (exact: every such pair is found, no other is returned)."""
    h = np.asarray(hashes, np.uint64).reshape(-1)
    if radius > BANDS * (band_flips + 1) - 1:
        raise ValueError(f"radius {radius} needs more than {band_flips} flips per band")
    n = len(h)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    masks = _flip_masks(band_flips)
    found = []
    for band in range(BANDS):
        keys = ((h >> np.uint64(band * BAND_BITS)) & np.uint64(0xFFFF)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        # where each of the 2^16 band values starts in `order`: a probe is two table reads
        # (a binary search of 100,000 keys per probe was 3/4 of the time)
        bounds = np.zeros((1 << BAND_BITS) + 1, np.int64)
        np.cumsum(np.bincount(keys, minlength=1 << BAND_BITS), out=bounds[1:])
        for mask in masks:
            probe = keys ^ mask
            lo = bounds[probe]
            counts = bounds[probe + 1] - lo
            if not counts.any():
                continue
            rows = np.repeat(np.arange(n), counts)
            # positions lo..hi-1 for every row, flattened without a Python loop
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            cols = order[starts + np.arange(len(rows))]
            # distance first: at 100,000 photos a 16-bit band value is shared by chance, and
            # these candidates run to millions, a few hundred of them within the radius
            keep = rows < cols
            rows, cols = rows[keep], cols[keep]
            keep = hamming(h[rows], h[cols]) <= radius
            found.append(rows[keep] * n + cols[keep])
    if not found:
        return np.zeros((0, 2), np.int64)
    keys = np.unique(np.concatenate(found))  # a pair is found once per band it agrees on
    return np.stack([keys // n, keys % n], axis=1)
