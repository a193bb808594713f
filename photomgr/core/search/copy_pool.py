"""The near-copy check of many pairs over every core: a first Duplicates run of a big library.

Its pixel checks (the coarse screen and the full check, near_copy.check_pairs) are small numpy
and Pillow calls that hold the GIL most of the time, so threads gained nothing (benchmarks 4c'');
processes do. `CopyPool.check` splits the pairs into one interleaved share per core: this
process checks one share itself while worker processes check the others, each with the very
code the in-process path runs (the same numbers). A worker gets the pairs' coarse descriptors
and thumbnail keys and reads the thumbnails itself through `pixels` (a picklable callable:
imaging.thumbnails.GreyThumbnails); it never sees the library's database.

Workers are started with "spawn" (never "fork": the app's process has Qt and torch threads), on
the first batch big enough (MIN_PAIRS), and kept for the later batches of the run; they import
numpy, Pillow and photomgr.core.search only (the spawned interpreter re-imports the parent's
`__main__` script, the `photomgr` command's, which imports the light photomgr.cli.main; a
frozen build calls multiprocessing.freeze_support() first, packaging/entry.py). When workers
cannot start, or one dies, the work runs in this process; an exception in a worker is retried
here, where it is raised as itself if it is real.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from PIL import Image

from photomgr.core.search.near_copy import CopyProbe, check_pairs

# Pairs below this in one call run in this process: starting a worker costs ~0.3 s of
# interpreter and imports (numpy, Pillow), about what 1,000 pairs cost on one core (~1 ms a
# pair on a first run, half of them screened in batches). Find similar checks tens of pairs.
MIN_PAIRS = 1024
log = logging.getLogger(__name__)
PROBES = 256  # probes a worker keeps, as NearCopyCheck's max_probes: ~1 MB each with templates

Checked = list[tuple[float | None, bool]]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_share(pixels: Callable[[str], Image.Image | None],
                 descs: Sequence[tuple[np.ndarray, np.ndarray]],
                 keys: Sequence[tuple[str, str]]) -> tuple[Checked, float]:
    """check_pairs of one share, with probes made from the descriptors and the thumbnails read
    by key (the last PROBES kept); and the CPU seconds it took (a worker's time is not in the
    parent's process_time)."""
    started = time.process_time()
    probes: OrderedDict[str, CopyProbe] = OrderedDict()

    def probe(key: str, desc: np.ndarray) -> CopyProbe:
        if key in probes:
            probes.move_to_end(key)
            return probes[key]
        made = probes[key] = CopyProbe.stored(desc, lambda: pixels(key))
        while len(probes) > PROBES:
            probes.popitem(last=False)
        return made

    def pair(i: int) -> tuple[CopyProbe | None, CopyProbe | None]:
        return probe(keys[i][0], descs[i][0]), probe(keys[i][1], descs[i][1])

    return check_pairs(descs, pair), time.process_time() - started


class CopyPool:
    """Worker processes for near_copy.check_pairs, started on first use; `close` ends them.
    `workers`: processes besides this one (default: one less than the cores)."""

    def __init__(self, pixels: Callable[[str], Image.Image | None], workers: int | None = None,
                 min_pairs: int | None = None) -> None:
        self._pixels = pixels
        self.workers = max(0, cores() - 1 if workers is None else workers)
        self.min_pairs = MIN_PAIRS if min_pairs is None else min_pairs
        self._executor: ProcessPoolExecutor | None = None
        self.broken = False  # workers could not start, or died: everything runs here from then on
        self.used = 0  # calls that ran in workers
        self.worker_cpu_seconds = 0.0  # CPU time spent in workers (not in this process's own)

    def usable(self, pairs: int) -> bool:
        """Whether `check` of this many pairs would use workers (else the caller runs them)."""
        return not self.broken and self.workers > 0 and pairs >= self.min_pairs

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            spawn = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=spawn)
        return self._executor

    def check(self, descs: Sequence[tuple[np.ndarray, np.ndarray]],
              keys: Sequence[tuple[str, str]]) -> Checked | None:
        """check_pairs of these pairs (descriptors and thumbnail keys), one share per core;
        None when workers cannot be used (the caller then runs them in this process)."""
        if not self.usable(len(descs)):
            return None
        shares = self.workers + 1
        parts = [(list(descs[j::shares]), list(keys[j::shares])) for j in range(shares)]
        futures: list[Future[tuple[Checked, float]]] = []
        try:
            executor = self._start()
            futures = [executor.submit(_check_share, self._pixels, *part) for part in parts[1:]]
        except (OSError, RuntimeError, BrokenProcessPool) as e:  # cannot start processes here
            log.warning("near-copy check: no worker processes (%s); checking in this process", e)
            self._break(futures)
            return None
        self.used += 1
        results = [_check_share(self._pixels, *parts[0])[0]]  # this process's share, meanwhile
        for future, part in zip(futures, parts[1:], strict=True):
            try:
                got, cpu = future.result()
                self.worker_cpu_seconds += cpu
            except BrokenProcessPool as e:  # a worker died (killed, out of memory): here from now on
                log.warning("near-copy check: a worker process died (%s); checking in this process", e)
                self._break(futures)
                got = _check_share(self._pixels, *part)[0]
            except Exception:  # retried here, where a real error raises as itself
                got = _check_share(self._pixels, *part)[0]
            results.append(got)
        out: Checked = [(None, False)] * len(descs)
        for j, got in enumerate(results):
            out[j::shares] = got
        return out

    def _break(self, futures: list[Future[tuple[Checked, float]]]) -> None:
        self.broken = True
        for future in futures:
            future.cancel()
        self.close()

    def close(self) -> None:
        """Ends the workers: chunks not started are dropped, running ones finish (a few
        seconds at most); no process is left behind. Safe to call more than once."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
