"""The captioner's frozen inputs: EfficientNet-Lite0's final 7x7 feature map of every photo.

Made by the app's own DefaultEmbedder.forward_maps (the pass that indexing runs), stored as
float16 (N, 1280, 7, 7) .npy files in the data folder's cache/, written through a memory map so
8,000 photos (1 GB) never sit in memory twice, and keyed by the photo names and the backbone's
version so a changed set or network makes a new file. An optional mirrored copy of each photo
is a training augmentation only.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

CACHE_VERSION = "1"
CHANNELS, SIDE = 1280, 7
THREADS_ENV = "PHOTOMGR_TRAIN_THREADS"


def cache_key(names: list[str], flipped: bool) -> str:
    from photomgr.core.models.default_ids import VECTORS_VERSION

    h = hashlib.sha256(f"maps|{CACHE_VERSION}|{VECTORS_VERSION}|{flipped}".encode())
    for n in names:
        h.update(n.encode() + b"\0")
    return h.hexdigest()[:16]


def compute_maps(root: Path, names: list[str], out: np.ndarray, *, flipped: bool = False, batch: int = 32,
                 start: int = 0, progress: Path | None = None) -> None:
    """Fill rows `start:` of `out` (len(names), 1280, 7, 7) with each photo's feature map;
    `progress` (a text file) records how many rows are done, so an interrupted run resumes."""
    import torch

    from photomgr.core.models.default_backend import DefaultEmbedder

    embedder = DefaultEmbedder(device="cpu", with_text=False)
    if os.environ.get(THREADS_ENV):  # on a shared machine one thread wastes less time waiting
        torch.set_num_threads(int(os.environ[THREADS_ENV]))
    for first in range(start, len(names), batch):
        tensors = []
        for name in names[first:first + batch]:
            with Image.open(root / name) as im:
                tensors.append(embedder.preprocess(im.convert("RGB")))
        x = torch.stack(tensors)
        if flipped:
            x = torch.flip(x, dims=[3])
        with torch.inference_mode():
            maps = embedder.forward_maps(x)[3]
        done = first + len(tensors)
        out[first:done] = maps.float().numpy().astype(np.float16)
        if progress is not None:
            progress.write_text(str(done))
        if done % (batch * 20) == 0 or done == len(names):
            print(f"  feature maps{' (mirrored)' if flipped else ''}: {done}/{len(names)}", flush=True)


def load_or_compute_maps(root: Path, names: list[str], cache_dir: Path, *,
                         flipped: bool = False) -> np.ndarray:
    """(N, 1280, 7, 7) float16, memory-mapped read-only from the cache (computed on first use)."""
    path = cache_dir / f"caption-maps-{cache_key(names, flipped)}.npy"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial, progress = path.with_suffix(".partial.npy"), path.with_suffix(".partial.count")
        shape = (len(names), CHANNELS, SIDE, SIDE)
        start = int(progress.read_text()) if partial.is_file() and progress.is_file() else 0
        out = np.lib.format.open_memmap(partial, mode="r+" if start else "w+", dtype=np.float16, shape=shape)
        print(f"feature maps of {len(names)} photos -> {path}" + (f" (resuming at {start})" if start else ""),
              flush=True)
        compute_maps(root, names, out, flipped=flipped, start=start, progress=progress)
        out.flush()
        del out
        os.replace(partial, path)
        progress.unlink()
    maps = np.load(path, mmap_mode="r")
    if maps.shape != (len(names), CHANNELS, SIDE, SIDE):
        raise ValueError(f"{path} holds {maps.shape}, expected {(len(names), CHANNELS, SIDE, SIDE)}")
    return maps
