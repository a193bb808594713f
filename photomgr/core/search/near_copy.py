"""Near-copy verification: is one photo a crop, resize or re-save of the other?

Embeddings say what a photo shows, so other shots of the same person in the same room look as
close as a crop of the photo itself. Pixels settle it: a crop is, after resampling, the very
same grey levels as a window of its original. `copy_similarity` searches that window (every
position, scales from "fills the other photo" down to MIN_COVER of it, either photo inside the
other) and returns the best normalised cross-correlation (NCC), 1.0 for a perfect match.

The grey levels are sharpened first (unsharp mask: the image plus its detail above a Gaussian
blur). Without that, NCC is dominated by the coarse layout (a light sky over dark ground, a
triangle on a plain background), which unrelated photos share: measured on Caltech dev, an
umbrella on a lawn scored 0.93 against a helicopter on a field before, 0.61 after.

COPY_THRESHOLD is fitted (`python -m bench.bench_near_copy --fit`) on the FIT half of 180
(copy, original) pairs of Caltech dev (the Faces_easy crops of Faces photos, and synthetic crops
of 60-95% of a side, JPEG re-saves at quality 30-70 and 40-80% downscales of other photos)
against every other candidate Find similar verifies for those and 100 ordinary queries: the
threshold with the fewest FIT errors. FIT copies scored 0.81-1.0 (crops + downscales lowest),
the closest photos that are not copies 0.87-0.90 (the same motorbike model in another colour,
in the same catalogue pose) and at most 0.83 for other shots of the same person in the same
room. NCC ignores brightness and contrast changes (it is centred and scaled) and works in
grey, so a recoloured copy still matches (and so does another photo of the same object in the
same pose and framing); the coarse working resolution absorbs JPEG re-encoding; mirrored or
rotated copies, and crops smaller than MIN_COVER of the original's side, are not matched.

Cost: the exhaustive search (`copy_similarity`: 36 templates, each resized and blurred by
Pillow, FFTs at 64 px) takes ~6.5 CPU ms a pair. What the app runs is `screened_similarity`: a
coarse screen at 32 px in a few numpy calls (coarse_copy.py) rejects most pairs that are not
copies, and the full check runs only on the rest, in one direction and at the scales near the
coarse match (a few templates instead of 36). Inputs are the library's thumbnails, never the
originals; the screen's per-photo input (a 64-px grey descriptor, ~3 KB) is stored by the
library at indexing, so the pairs the screen settles need no thumbnail decoded, and
`NearCopyCheck.similarities` screens many pairs in batched numpy calls (coarse_copy.contained_many).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFilter

from photomgr.core.search.coarse_copy import COARSE_STEP, CoarseProbe, contained, contained_many, descriptor

if TYPE_CHECKING:  # copy_pool imports this module
    from photomgr.core.search.copy_pool import CopyPool

WORK_SIDE = 64  # the original is compared at this long side: coarse enough to forgive re-encoding
TEMPLATE_SOURCE_SIDE = 128  # templates are resampled from this, so each scale is an honest box filter
SCALE_STEP = 0.97  # 3% apart: at 64 px under 1 px of misalignment between steps
MIN_COVER = 0.6  # the copy must span at least this much of the original's fitting side
MIN_TEMPLATE_SIDE = 12
MIN_STD = 2.0  # grey levels: below this a template is featureless (sky, a wall) and proves nothing
# Detail finer than this is boosted, in px of the image being compared: the original at WORK_SIDE
# and each template at its own size inside it, so both are sharpened at the same scale of the
# scene whatever the sizes of the two photos (sharpening each photo at its own resolution
# before rescaling made a 40% downscale or a 60% crop score 0.80-0.87 against its original).
SHARPEN_SIGMA = 3.0
SHARPEN_GAIN = 1.0
COPY_THRESHOLD = 0.873  # fitted on FIT pairs, see the module docstring
# The coarse screen (`screened_similarity`), fitted on the 91 FIT copies verified at
# COPY_THRESHOLD (`python -m bench.bench_near_copy --fit`): their lowest coarse similarity was
# 0.737 with descriptors made at indexing from the thumbnail in memory (0.741 when they were
# made from the JPEG thumbnail), and a pair under that minus a margin of 0.05 either way is
# rejected (4,654 of the 4,742 FIT candidates that are not copies); the full check then
# searches each way that passed within 2 coarse steps of its coarse scale, the narrowest window
# that left every FIT copy's similarity within 0.02 of the exhaustive search's (1 step lowered
# one by 0.055).
REJECT_BELOW = 0.687
WINDOW_STEPS = 2
# Names the comparison for stored results (Duplicates keeps each pair's similarity): a change to
# anything above that moves similarities must change it, so old results are not reused
# (coarse32-v2: the screen reads descriptors stored at indexing, REJECT_BELOW re-fitted; luma:
# the library's check decodes thumbnails to the JPEG's own luma, ThumbnailCache.load(grey=True),
# which moved the 636 Caltech dev pairs of a first run by at most 0.004).
METHOD = "ncc-v2-luma+coarse32-v2"


def _sharpened(grey: Image.Image) -> np.ndarray:
    """Unsharp mask of an "L" image, as float64: itself plus SHARPEN_GAIN times its detail above
    a Gaussian blur (Pillow's, in C: a numpy blur cost more than the whole comparison)."""
    pixels = np.asarray(grey, dtype=np.float32)
    blurred = np.asarray(grey.filter(ImageFilter.GaussianBlur(SHARPEN_SIGMA)), dtype=np.float32)
    return (pixels + np.float32(SHARPEN_GAIN) * (pixels - blurred)).astype(np.float64)


def _grey(image: Image.Image, long_side: int) -> Image.Image:
    grey = image if image.mode == "L" else image.convert("L")
    w, h = grey.size
    scale = long_side / max(w, h)
    if scale < 1.0:
        grey = grey.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return grey


class NoPixels(Exception):
    """A probe made from a stored descriptor needs its thumbnail for the full check, and the
    thumbnail can no longer be read (NearCopyCheck then leaves the pair unverified)."""


class CopyProbe:
    """One photo prepared for comparisons: its grey levels at TEMPLATE_SOURCE_SIDE, and, each
    made on first use and then reused against every other photo, the coarse screen's probe,
    the sharpened work image with its FFT and running sums, and templates per shape.

    `CopyProbe.stored(desc, load)`: a probe from the coarse descriptor the library stored at
    indexing; the thumbnail is read (`load`) only if a pair gets past the coarse screen."""

    def __init__(self, source: Image.Image | None = None, *, desc: np.ndarray | None = None,
                 load: Callable[[], Image.Image | None] | None = None) -> None:
        if source is None and (desc is None or load is None):
            raise ValueError("a probe needs its pixels, or a descriptor and a way to load them")
        self._source = source  # grey ("L"), long side TEMPLATE_SOURCE_SIDE or less (no upscaling)
        self._desc = desc
        self._load = load
        self._work: np.ndarray | None = None
        self._coarse: CoarseProbe | None = None
        self._spectrum: np.ndarray | None = None
        self._sums: tuple[np.ndarray, np.ndarray] | None = None
        self._templates: dict[tuple[tuple[int, int], tuple[float, float]], _Templates | None] = {}

    @classmethod
    def of(cls, image: Image.Image) -> CopyProbe:
        return cls(_grey(image, TEMPLATE_SOURCE_SIDE))

    @classmethod
    def stored(cls, desc: np.ndarray, load: Callable[[], Image.Image | None]) -> CopyProbe:
        return cls(desc=desc, load=load)

    @property
    def source(self) -> Image.Image:
        """The grey levels the full check reads; raises NoPixels when they cannot be loaded."""
        if self._source is None:
            assert self._load is not None
            image = self._load()
            if image is None:
                raise NoPixels
            self._source = _grey(image, TEMPLATE_SOURCE_SIDE)
        return self._source

    @property
    def work(self) -> np.ndarray:
        """(H, W) float64: `source` at long side WORK_SIDE, sharpened."""
        if self._work is None:
            self._work = _sharpened(_grey(self.source, WORK_SIDE))
        return self._work

    def descriptor(self) -> np.ndarray:
        """The coarse screen's descriptor (coarse_copy.descriptor): the stored one, or made
        from `source`."""
        if self._desc is None:
            self._desc = descriptor(self.source)
        return self._desc

    def coarse(self) -> CoarseProbe:
        if self._coarse is None:
            self._coarse = CoarseProbe(self.descriptor())
        return self._coarse

    @property
    def aspect(self) -> float:
        return self.source.width / self.source.height

    def spectrum(self) -> np.ndarray:
        if self._spectrum is None:
            self._spectrum = np.fft.rfft2(self.work)
        return self._spectrum

    def templates(self, shape: tuple[int, int],
                  covers: tuple[float, float] = (0.0, 1.0)) -> _Templates | None:
        """This photo at every scale searched inside a (H, W) work image whose cover (template
        height over the largest that fits) is within `covers`, FFT'd; cached per shape and
        window, since one query is compared with many photos of the same shape."""
        key = (shape, covers)
        if key not in self._templates:
            self._templates[key] = _Templates.of(self, shape, covers)
        return self._templates[key]

    def window_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Summed-area tables of the values and their squares, with a zero first row/column."""
        if self._sums is None:
            pad = np.pad(self.work, ((1, 0), (1, 0)))
            self._sums = (pad.cumsum(0).cumsum(1), (pad * pad).cumsum(0).cumsum(1))
        return self._sums


def _box(table: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of every h x w window, from a summed-area table."""
    return table[h:, w:] - table[:-h, w:] - table[h:, :-w] + table[:-h, :-w]


@dataclass(frozen=True)
class _Templates:
    """One photo rescaled to every searched size that fits a (H, W) work image: the sizes, the
    norms of the centred templates and their zero-padded FFTs, (n, H, W // 2 + 1)."""

    sizes: list[tuple[int, int]]
    norms: np.ndarray
    spectra: np.ndarray

    @classmethod
    def of(cls, copy: CopyProbe, shape: tuple[int, int],
           covers: tuple[float, float] = (0.0, 1.0)) -> _Templates | None:
        big_h, big_w = shape
        aspect = copy.aspect
        # The largest template of the copy's shape that fits, then smaller ones down to MIN_COVER.
        height = min(float(big_h), big_w / aspect)
        largest = height
        smallest = MIN_COVER * height
        sizes: list[tuple[int, int]] = []
        norms: list[float] = []
        padded: list[np.ndarray] = []
        while height >= smallest:
            th, tw = round(height), round(height * aspect)
            cover = height / largest
            height *= SCALE_STEP
            if min(th, tw) < MIN_TEMPLATE_SIDE:
                break
            if th > big_h or tw > big_w or (th, tw) in sizes or not covers[0] <= cover <= covers[1]:
                continue
            template = _sharpened(copy.source.resize((tw, th), Image.Resampling.BOX))
            centred = template - template.mean()
            norm = float(np.sqrt((centred * centred).sum()))
            if norm / np.sqrt(centred.size) < MIN_STD:
                continue  # featureless (sky, a wall): proves nothing
            canvas = np.zeros(shape)
            canvas[:th, :tw] = centred
            sizes.append((th, tw))
            norms.append(norm)
            padded.append(canvas)
        if not sizes:
            return None
        # one batched FFT: per-call overhead, not arithmetic, dominates at these sizes
        return cls(sizes, np.array(norms), np.fft.rfft2(np.stack(padded)))


def contained_similarity(copy: CopyProbe, original: CopyProbe,
                         covers: tuple[float, float] = (0.0, 1.0)) -> float:
    """Best NCC of `copy`, rescaled, anywhere inside `original` (-1.0 when nothing fits), over
    the scales whose cover is within `covers` (all by default)."""
    big_h, big_w = original.work.shape
    templates = copy.templates((big_h, big_w), covers)
    if templates is None:
        return -1.0
    # Circular cross-correlation; positions where a template fits never wrap around.
    corr = np.fft.irfft2(original.spectrum()[None] * np.conj(templates.spectra), s=(big_h, big_w))
    sums, squares = original.window_sums()
    best = -1.0
    for i, (th, tw) in enumerate(templates.sizes):
        n = th * tw
        s = _box(sums, th, tw)
        variance = _box(squares, th, tw) - s * s / n
        # a flat window says nothing, however well it "correlates" with noise
        usable = variance > (MIN_STD ** 2) * n
        if usable.any():
            window = corr[i, : big_h - th + 1, : big_w - tw + 1][usable]
            ncc = window / (np.sqrt(variance[usable]) * templates.norms[i])
            best = max(best, float(ncc.max()))
    return best


def copy_similarity(a: CopyProbe, b: CopyProbe) -> float:
    """How well one photo matches a window of the other, in [-1, 1], searched exhaustively
    (every scale, either way): the reference that COPY_THRESHOLD is fitted on."""
    return max(contained_similarity(a, b), contained_similarity(b, a))


def screened_similarity(a: CopyProbe, b: CopyProbe) -> float:
    """copy_similarity at a fraction of the cost: the coarse screen first (coarse_copy.py); a
    pair under REJECT_BELOW there either way is not a copy and its coarse similarity is
    returned; else the full check, each way that passed, at the scales within WINDOW_STEPS
    coarse steps of its coarse match. >= COPY_THRESHOLD means one is a crop, resize or
    re-save of the other."""
    return screened_check(a, b)[0]


def screened_check(a: CopyProbe, b: CopyProbe, reject_below: float | None = None,
                   window_steps: int | None = None) -> tuple[float, bool]:
    """(screened_similarity, whether the full check ran); the constants can be overridden
    (bench_near_copy --fit tries others)."""
    ca, cb = a.coarse(), b.coarse()
    return _settle(a, b, contained(ca, cb), contained(cb, ca), reject_below, window_steps)


def _settle(a: CopyProbe, b: CopyProbe, a_in_b: tuple[float, float], b_in_a: tuple[float, float],
            reject_below: float | None = None, window_steps: int | None = None) -> tuple[float, bool]:
    """screened_check once the coarse screen's (similarity, cover) of each way is known."""
    reject = REJECT_BELOW if reject_below is None else reject_below
    widen = COARSE_STEP ** (WINDOW_STEPS if window_steps is None else window_steps)
    ways = [(a, b, *a_in_b), (b, a, *b_in_a)]
    passed = [w for w in ways if w[2] >= reject]
    if not passed:
        return max(w[2] for w in ways), False
    # each way that passed, at the scales near its own coarse match: with only the best way, a
    # FIT crop whose two ways scored alike at 32 px lost 0.11 of its similarity
    return max(contained_similarity(copy, original, (cover * widen, cover / widen))
               for copy, original, _, cover in passed), True


def check_pairs(descs: Sequence[tuple[np.ndarray, np.ndarray]],
                probes: Callable[[int], tuple[CopyProbe | None, CopyProbe | None]]
                ) -> list[tuple[float | None, bool]]:
    """(screened_similarity, whether the full check ran) of each pair from its two coarse
    descriptors: the screen of them all in batches (coarse_copy.contained_many), then the full
    check of those it passes, with the probes `probes(i)` gives for pair i. (None, False) for
    a pair whose pixels cannot be read past the screen. NearCopyCheck.similarities runs it in
    this process and copy_pool.CopyPool in worker processes: one code, the same numbers."""
    ways = [w for a, b in descs for w in ((a, b), (b, a))]
    coarse = iter(contained_many(ways))
    out: list[tuple[float | None, bool]] = []
    for i in range(len(descs)):
        a_in_b, b_in_a = next(coarse), next(coarse)
        if max(a_in_b[0], b_in_a[0]) < REJECT_BELOW:  # settled by the screen (as _settle)
            out.append((max(a_in_b[0], b_in_a[0]), False))
            continue
        pa, pb = probes(i)
        try:
            if pa is None or pb is None:  # its thumbnail went away meanwhile
                raise NoPixels
            out.append((_settle(pa, pb, a_in_b, b_in_a)[0], True))
        except NoPixels:
            out.append((None, False))
    return out


class NearCopyCheck:
    """Verifies Find similar's candidates against the query photo's pixels.

    `load` gives a photo's image by id (the library's thumbnail) or None when it has none; a
    photo without one is simply not verified. `describe`, when given, gives a photo's coarse
    descriptor (coarse_copy.descriptor, stored by the library at indexing) or None: probes are
    then made from it, and `load` runs only for pairs that get past the coarse screen (most
    do not), so a first Duplicates run decodes few thumbnails. The last `max_probes` probes are
    kept (one probe with its templates for a few shapes is ~1 MB; Duplicates checks thousands
    of photos). Thread-safe (two threads may both make the same probe or template set; one of
    them is kept, nothing is wrong).

    `pool` (with `key`: a photo's thumbnail key, as the pool's workers read it): `similarities`
    of enough pairs runs in worker processes over every core (copy_pool.py); `close` ends them.
    """

    def __init__(self, load: Callable[[int], Image.Image | None],
                 threshold: float = COPY_THRESHOLD, max_probes: int = 256,
                 describe: Callable[[int], np.ndarray | None] | None = None,
                 pool: CopyPool | None = None, key: Callable[[int], str | None] | None = None) -> None:
        self._load = load
        self._describe = describe
        self.pool = pool
        self._key = key
        self.threshold = threshold
        self.max_probes = max_probes
        self._probes: OrderedDict[int, CopyProbe | None] = OrderedDict()
        self._lock = threading.Lock()
        self.screened_out = 0  # pairs the coarse screen settled (benchmarks report the split)
        self.fully_checked = 0  # pairs that went on to the full check

    def probe(self, photo_id: int) -> CopyProbe | None:
        with self._lock:
            if photo_id in self._probes:
                self._probes.move_to_end(photo_id)
                return self._probes[photo_id]
        made = self._make(photo_id)  # outside the lock: loading is most of the work
        with self._lock:
            self._probes[photo_id] = made
            while len(self._probes) > self.max_probes:
                self._probes.popitem(last=False)
        return made

    def _make(self, photo_id: int) -> CopyProbe | None:
        if self._describe is not None:
            desc = self._describe(photo_id)
            return None if desc is None else CopyProbe.stored(desc, lambda: self._load(photo_id))
        image = self._load(photo_id)
        return None if image is None else CopyProbe.of(image)

    def similarity(self, a: int, b: int) -> float | None:
        """screened_similarity of two photos by id; None when either has no image (or, past
        the screen, its thumbnail could not be read)."""
        pa, pb = self.probe(a), self.probe(b)
        if pa is None or pb is None:
            return None
        try:
            score, full = screened_check(pa, pb)
        except NoPixels:
            return None
        with self._lock:
            if full:
                self.fully_checked += 1
            else:
                self.screened_out += 1
        return score

    def similarities(self, pairs: Sequence[tuple[int, int]]) -> list[float | None]:
        """`similarity` of many pairs, the same numbers for a fraction of the cost: the coarse
        screen of them all in batches (coarse_copy.contained_many), then the full check of
        those it passes, one by one (a first Duplicates run asks for thousands at a time);
        over the pool's worker processes when there is one and the batch is big enough."""
        descs: dict[int, np.ndarray] = {}
        for photo_id in {p for pair in pairs for p in pair}:
            made = self.probe(photo_id)  # stored descriptors: no thumbnail is read here
            if made is not None:
                descs[photo_id] = made.descriptor()
        known = [(a, b) for a, b in pairs if a in descs and b in descs]
        pair_descs = [(descs[a], descs[b]) for a, b in known]
        checked = None
        if self.pool is not None and self._key is not None and self.pool.usable(len(known)):
            keys = [(self._key(a), self._key(b)) for a, b in known]
            if all(ka and kb for ka, kb in keys):
                checked = self.pool.check(pair_descs, keys)  # type: ignore[arg-type]

        def probes(i: int) -> tuple[CopyProbe | None, CopyProbe | None]:
            # probes again by id: the cache holds the last max_probes, so memory stays bounded
            return self.probe(known[i][0]), self.probe(known[i][1])

        if checked is None:
            checked = check_pairs(pair_descs, probes)
        found = {pair: score for pair, (score, _) in zip(known, checked, strict=True)}
        fully = sum(1 for score, full in checked if full and score is not None)
        screened = sum(1 for score, full in checked if not full and score is not None)
        with self._lock:
            self.screened_out += screened
            self.fully_checked += fully
        return [found.get(pair) for pair in pairs]

    def close(self) -> None:
        """Ends the pool's worker processes, if any were started (waits for running chunks)."""
        if self.pool is not None:
            self.pool.close()

    def copies_of(self, photo_id: int, candidates: list[int]) -> dict[int, float]:
        """The candidates that are near-copies of `photo_id`, with their copy similarity."""
        if self.probe(photo_id) is None:
            return {}
        scores = self.similarities([(photo_id, cand) for cand in candidates])
        return {cand: score for cand, score in zip(candidates, scores, strict=True)
                if score is not None and score >= self.threshold}
