"""A process-wide bound on the memory that full-size decodes hold at once.

Draft decoding keeps a JPEG small, but a PNG or TIFF is always decoded at full size: a
13000 x 13000 RGBA PNG, under Pillow's bomb limit, needs 1.3 GB while it is shrunk. With one
decode per core, a folder of them took 8 GB. Every decode reserves its estimated bytes here
first and waits while the reservations of the others would go over the budget, so the total
stays near the budget whatever the core count. An image bigger than the whole budget runs
alone. Reservations are served in arrival order, so a big image is never starved by small ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

_ENV = "PHOTOMGR_DECODE_MEMORY_MB"
DEFAULT_BUDGET_BYTES = 1 << 30

# Bytes per pixel Pillow keeps for a decoded image of each mode (RGB is stored as 4 bytes).
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
# Modes whose shrink makes a second full-size copy: Pillow resizes alpha images premultiplied
# (RGBA -> RGBa), and palette images are expanded to RGB(A) before they are resized.
_COPYING_MODES = frozenset({"RGBA", "LA", "PA", "P", "RGBa", "La"})


def estimate_decode_bytes(image: Image.Image) -> int:
    """Peak bytes to load `image` at its current (possibly draft-reduced) size and shrink it."""
    width, height = image.size
    mode = image.mode
    per_pixel = 1 if mode in _ONE_BYTE_MODES else 2 if mode.startswith("I;16") else 4
    if mode in _COPYING_MODES or "transparency" in image.info:
        per_pixel += 4
    return width * height * per_pixel


class MemoryBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.in_use = 0
        self.peak = 0  # the most ever reserved at once (for tests and benchmarks)
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` (at most the whole budget) while the block runs."""
        need = min(max(0, nbytes), self.capacity)
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                self._cond.wait_for(
                    lambda: self._queue[0] is ticket and self.in_use + need <= self.capacity)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
            self.in_use += need
            self.peak = max(self.peak, self.in_use)
        try:
            yield
        finally:
            if need >= _TRIM_ABOVE:
                _give_back_to_the_os()
            with self._cond:
                self.in_use -= need
                self._cond.notify_all()


# glibc keeps freed memory in per-thread arenas: without a trim, each decode thread would hold
# on to the peak of the biggest image it ever decoded (6 threads: 2.3 GB instead of 1.3 GB).
_TRIM_ABOVE = 64 << 20


def _load_malloc_trim() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    return None


_MALLOC_TRIM = _load_malloc_trim()


def _give_back_to_the_os() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)  # type: ignore[operator]


def _capacity_from_env() -> int:
    value = os.environ.get(_ENV, "")
    try:
        return int(float(value) * (1 << 20)) if value else DEFAULT_BUDGET_BYTES
    except ValueError:
        return DEFAULT_BUDGET_BYTES


DECODE_BUDGET = MemoryBudget(_capacity_from_env())
