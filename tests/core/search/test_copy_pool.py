"""The near-copy check over worker processes: the same numbers as in this process, used only
for big batches, and a worker's failure never hangs the run nor changes its answers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from photomgr.core.imaging.thumbnails import GreyThumbnails, ThumbnailCache
from photomgr.core.search.coarse_copy import descriptor
from photomgr.core.search.copy_pool import CopyPool
from photomgr.core.search.near_copy import COPY_THRESHOLD, NearCopyCheck
from tests.core.search.test_near_copy import resaved, scene


class FailingInWorkers(GreyThumbnails):
    """Reads thumbnails here; in a worker process raises, or kills the worker (`crash`)."""

    def __init__(self, root: Path, crash: bool = False) -> None:
        super().__init__(root)
        self.crash = crash
        self.parent = os.getpid()  # pickled with it: the test process

    def __call__(self, key: str) -> Image.Image | None:
        if os.getpid() != self.parent:
            if self.crash:
                os._exit(3)
            raise RuntimeError("worker failed")
        return super().__call__(key)


class AlwaysFailing(GreyThumbnails):
    def __call__(self, key: str) -> Image.Image | None:
        raise RuntimeError("thumbnail reader broken")


def library(tmp_path: Path) -> tuple[dict[int, str], list[tuple[int, int]], GreyThumbnails]:
    """Thumbnails on disk by hex key: copies (crops, re-saves), other photos, a flat one, one
    whose thumbnail is deleted after its descriptor was made; and pairs of all of them."""
    images = {1: scene(7), 2: resaved(scene(7).crop((50, 0, 400, 320))), 3: scene(8),
              4: resaved(scene(8), quality=40), 5: Image.new("RGB", (300, 200), (128, 128, 128)),
              6: scene(9), 7: resaved(scene(9).resize((240, 160))), 8: scene(10)}
    cache = ThumbnailCache(tmp_path)
    keys = {pid: f"{pid:04x}" * 8 for pid in images}
    for pid, image in images.items():
        path = cache.path_for(keys[pid])
        path.parent.mkdir(parents=True, exist_ok=True)
        image.convert("RGB").save(path, "JPEG", quality=90)
    pairs = [(a, b) for a in images for b in images if a < b]
    return keys, pairs, GreyThumbnails(tmp_path)


def check(keys: dict[int, str], pixels: GreyThumbnails, pool: CopyPool | None) -> NearCopyCheck:
    descs = {pid: descriptor(GreyThumbnails(pixels.root)(key)) for pid, key in keys.items()}
    return NearCopyCheck(lambda pid: pixels(keys[pid]), describe=descs.get, pool=pool, key=keys.get)


def test_workers_give_the_numbers_of_this_process(tmp_path: Path) -> None:
    keys, pairs, pixels = library(tmp_path)
    here = check(keys, pixels, None)
    expected = here.similarities(pairs)
    pool = CopyPool(pixels, workers=2, min_pairs=1)
    there = check(keys, pixels, pool)
    try:
        got = there.similarities(pairs)
        assert pool.used == 1 and not pool.broken and pool.worker_cpu_seconds > 0
        assert got == expected  # the very same code on the same inputs: bit for bit
        assert (there.screened_out, there.fully_checked) == (here.screened_out, here.fully_checked)
        assert sum(s is not None and s >= COPY_THRESHOLD for s in got) >= 3  # copies were found
        # what a worker imported: numpy, Pillow and the check, never torch, Qt, faiss or SQL
        executor = pool._start()
        loaded = executor.submit(eval, "sorted(__import__('sys').modules)").result()
        assert "photomgr.core.search.near_copy" in loaded
        heavy = {"torch", "PySide6", "PyQt6", "faiss", "sqlite3", "photomgr.core.library"}
        assert not heavy & set(loaded)
    finally:
        there.close()
    assert pool._executor is None


def test_a_photo_whose_thumbnail_went_away_is_unverified_in_workers_too(tmp_path: Path) -> None:
    keys, pairs, pixels = library(tmp_path)
    pool = CopyPool(pixels, workers=1, min_pairs=1)
    there, here = check(keys, pixels, pool), check(keys, pixels, None)
    ThumbnailCache(tmp_path).path_for(keys[2]).unlink()  # after its descriptor was made
    try:
        got = dict(zip(pairs, there.similarities(pairs), strict=True))
    finally:
        there.close()
    assert got[(1, 2)] is None and got[(3, 4)] is not None and got[(3, 4)] >= COPY_THRESHOLD
    assert got == dict(zip(pairs, here.similarities(pairs), strict=True))


def test_a_small_batch_starts_no_process(tmp_path: Path) -> None:
    keys, pairs, pixels = library(tmp_path)
    pool = CopyPool(pixels, workers=2)  # default MIN_PAIRS: 28 pairs are far below it
    there = check(keys, pixels, pool)
    assert there.similarities(pairs) == check(keys, pixels, None).similarities(pairs)
    assert pool.used == 0 and pool._executor is None
    assert not CopyPool(pixels, workers=0, min_pairs=1).usable(10_000)  # a single core: never


@pytest.mark.parametrize("crash", [False, True])
def test_a_failing_worker_is_retried_here(tmp_path: Path, crash: bool) -> None:
    keys, pairs, pixels = library(tmp_path)
    pairs = [pair for pair in pairs for _ in (0, 1)]  # each share gets copies to read pixels of
    expected = check(keys, pixels, None).similarities(pairs)
    pool = CopyPool(FailingInWorkers(tmp_path, crash), workers=1, min_pairs=1)
    there = check(keys, pixels, pool)
    try:
        assert there.similarities(pairs) == expected
        assert pool.broken == crash  # a dead worker: this process does the rest of the run
        assert there.similarities(pairs) == expected
    finally:
        there.close()
    assert pool._executor is None


def test_an_error_everywhere_is_raised_not_hung(tmp_path: Path) -> None:
    keys, pairs, pixels = library(tmp_path)
    pairs = [pair for pair in pairs for _ in (0, 1)]
    pool = CopyPool(AlwaysFailing(tmp_path), workers=1, min_pairs=1)
    there = check(keys, pixels, pool)
    try:
        with pytest.raises(RuntimeError, match="thumbnail reader broken"):
            there.similarities(pairs)
    finally:
        there.close()
    assert pool._executor is None
