"""Near-copy verification: is one photo a crop, resize or re-save of the other?

Embeddings say what a photo shows, so other shots of the same person in the same room look as
close as a crop of the photo itself. Pixels settle it: a crop is, after resampling, the very
same grey levels as a window of its original. `copy_similarity` searches that window (every
position, a range of scales, either photo inside the other) and returns the best normalised
cross-correlation (NCC), 1.0 for a perfect match.

Measured on Caltech dev (Faces_easy crops against their Faces originals and against the 10
nearest other photos): crop-original pairs 0.949-0.997, other shots of the same person in the
same room at most 0.904. NCC ignores brightness and contrast changes (it is centred and scaled)
and the coarse working resolution absorbs JPEG re-encoding; mirrored or rotated copies are not
matched.

Cost: about 2 ms per pair on 256-px thumbnails (the FFT of each photo is computed once per
check and every scale is one small FFT), so Find similar can verify a few dozen candidates in
a fraction of a second. Inputs are the library's thumbnails, never the originals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

WORK_SIDE = 64  # the original is compared at this long side: coarse enough to forgive re-encoding
TEMPLATE_SOURCE_SIDE = 128  # templates are resampled from this, so each scale is an honest box filter
SCALE_STEP = 0.97  # 5% apart: at 64 px that is at most ~1.5 px misalignment between steps
MIN_COVER = 0.45  # the copy must span at least this much of the original's fitting side
MIN_TEMPLATE_SIDE = 12
MIN_STD = 2.0  # grey levels: below this a template is featureless (sky, a wall) and proves nothing
COPY_THRESHOLD = 0.93  # see the module docstring: between 0.904 (other shots) and 0.949 (crops)


def _grey(image: Image.Image, long_side: int) -> Image.Image:
    grey = image.convert("L")
    w, h = grey.size
    scale = long_side / max(w, h)
    if scale < 1.0:
        grey = grey.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return grey


@dataclass
class CopyProbe:
    """One photo prepared for comparisons: its grey levels at two sizes, the FFT and running
    sums of the small one (made once, reused against every other photo)."""

    source: Image.Image  # grey, long side TEMPLATE_SOURCE_SIDE (or smaller, never upscaled)
    work: np.ndarray  # (H, W) float64 grey, long side WORK_SIDE
    _spectrum: np.ndarray | None = field(default=None, repr=False)
    _sums: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, image: Image.Image) -> CopyProbe:
        source = _grey(image, TEMPLATE_SOURCE_SIDE)
        return cls(source, np.asarray(_grey(source, WORK_SIDE), dtype=np.float64))

    @property
    def aspect(self) -> float:
        return self.source.width / self.source.height

    def spectrum(self) -> np.ndarray:
        if self._spectrum is None:
            self._spectrum = np.fft.rfft2(self.work)
        return self._spectrum

    def window_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Summed-area tables of the values and their squares, with a zero first row/column."""
        if self._sums is None:
            pad = np.pad(self.work, ((1, 0), (1, 0)))
            self._sums = (pad.cumsum(0).cumsum(1), (pad * pad).cumsum(0).cumsum(1))
        return self._sums


def _box(table: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of every h x w window, from a summed-area table."""
    return table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]


def _best_ncc(templates: list[np.ndarray], inside: CopyProbe) -> float:
    """The highest NCC of any template at any position fully inside `inside.work`.

    All templates are correlated in one batched FFT: per-call overhead, not arithmetic,
    dominates at these sizes."""
    big = inside.work
    big_h, big_w = big.shape
    kept: list[tuple[np.ndarray, float]] = []
    padded = np.zeros((len(templates), big_h, big_w))
    for template in templates:
        centred = template - template.mean()
        norm = float(np.sqrt((centred * centred).sum()))
        if norm / np.sqrt(centred.size) < MIN_STD:
            continue  # featureless (sky, a wall): proves nothing
        padded[len(kept), : centred.shape[0], : centred.shape[1]] = centred
        kept.append((centred, norm))
    if not kept:
        return -1.0
    # Circular cross-correlation; positions where a template fits never wrap around.
    spectra = np.fft.rfft2(padded[: len(kept)])
    corr = np.fft.irfft2(inside.spectrum()[None] * np.conj(spectra), s=big.shape)
    sums, squares = inside.window_sums()
    best = -1.0
    for i, (centred, norm) in enumerate(kept):
        th, tw = centred.shape
        n = th * tw
        s = _box(sums, th, tw)
        variance = _box(squares, th, tw) - s * s / n
        # a flat window says nothing, however well it "correlates" with noise
        usable = variance > (MIN_STD ** 2) * n
        if usable.any():
            ncc = corr[i, : big_h - th + 1, : big_w - tw + 1][usable] / (np.sqrt(variance[usable]) * norm)
            best = max(best, float(ncc.max()))
    return best


def contained_similarity(copy: CopyProbe, original: CopyProbe) -> float:
    """Best NCC of `copy`, rescaled, anywhere inside `original` (-1.0 when nothing fits)."""
    big_h, big_w = original.work.shape
    aspect = copy.aspect
    # The largest template of the copy's shape that fits in the original, then smaller ones.
    height = min(float(big_h), big_w / aspect)
    smallest = MIN_COVER * height
    templates = []
    while height >= smallest:
        th, tw = round(height), round(height * aspect)
        if min(th, tw) < MIN_TEMPLATE_SIDE:
            break
        if th <= big_h and tw <= big_w:
            templates.append(np.asarray(copy.source.resize((tw, th), Image.Resampling.BOX), dtype=np.float64))
        height *= SCALE_STEP
    return _best_ncc(templates, original) if templates else -1.0


def copy_similarity(a: CopyProbe, b: CopyProbe) -> float:
    """How well one photo matches a window of the other, in [-1, 1]; >= COPY_THRESHOLD means
    one is a crop, resize or re-save of the other."""
    return max(contained_similarity(a, b), contained_similarity(b, a))


class NearCopyCheck:
    """Verifies Find similar's candidates against the query photo's pixels.

    `load` gives a photo's image by id (the library's thumbnail) or None when it has none; a
    photo without one is simply not verified. Probes are cached for the life of the object,
    which callers keep per query or per batch.
    """

    def __init__(self, load: Callable[[int], Image.Image | None],
                 threshold: float = COPY_THRESHOLD) -> None:
        self._load = load
        self.threshold = threshold
        self._probes: dict[int, CopyProbe | None] = {}

    def probe(self, photo_id: int) -> CopyProbe | None:
        if photo_id not in self._probes:
            image = self._load(photo_id)
            self._probes[photo_id] = None if image is None else CopyProbe.of(image)
        return self._probes[photo_id]

    def similarity(self, a: int, b: int) -> float | None:
        """copy_similarity of two photos by id; None when either has no image."""
        pa, pb = self.probe(a), self.probe(b)
        return None if pa is None or pb is None else copy_similarity(pa, pb)

    def copies_of(self, photo_id: int, candidates: list[int]) -> dict[int, float]:
        """The candidates that are near-copies of `photo_id`, with their copy similarity."""
        if self.probe(photo_id) is None:
            return {}
        found: dict[int, float] = {}
        for cand in candidates:
            score = self.similarity(photo_id, cand)
            if score is not None and score >= self.threshold:
                found[cand] = score
        return found
