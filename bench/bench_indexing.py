"""Indexing throughput end to end (scan, decode, thumbnail, embed, store) against the model's
forward rate on the same photos in the same batches, in the same run.

    python -m bench.bench_indexing [--backend default|clip|both] [--limit N]

CLIP runs with randomly initialised ViT-B-32 weights (its speed does not depend on the weight
values; the real weights cannot be downloaded here), loaded through the real ClipEmbedder.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.common import large_jpegs, machine, shared_photos
from photomgr.core.imaging.decode import decode_photo
from photomgr.core.library.database import Library
from photomgr.core.models.base import Embedder
from photomgr.core.pipeline.embedding import DEFAULT_BATCH
from photomgr.core.services.indexing import index_folders


def random_clip(tmp: Path) -> Embedder:
    import open_clip
    from safetensors.torch import save_file

    from photomgr.core.models.clip_backend import ClipEmbedder

    model = open_clip.create_model("ViT-B-32", pretrained=None)
    path = tmp / "vit-b-32-random.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k", path, device="cpu")


def default_model() -> Embedder:
    from photomgr.core.models.registry import load_embedder

    return load_embedder("default")


def model_only_rate(embedder: Embedder, files: list[Path]) -> float:
    """Photos/s of the forward pass alone, on the same photos in the same batch size."""
    tensors = [embedder.preprocess(decode_photo(p, min_side=embedder.input_size).image) for p in files]
    batches = [torch.stack(tensors[i:i + DEFAULT_BATCH]) for i in range(0, len(tensors), DEFAULT_BATCH)]
    embedder.embed_images(batches[0])  # warm-up: first calls allocate and pick kernels
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        for batch in batches:
            embedder.embed_images(batch)
        rates.append(len(files) / (time.perf_counter() - started))
    return statistics.median(rates)


def end_to_end_rate(embedder: Embedder, folder: Path, tmp: Path) -> tuple[float, int]:
    lib_root = tmp / f"lib-{time.monotonic_ns()}"
    with Library(lib_root) as library:
        started = time.perf_counter()
        result = index_folders(library, [folder], embedder=embedder)
        seconds = time.perf_counter() - started
    shutil.rmtree(lib_root, ignore_errors=True)
    return result.embed.embedded / seconds, result.embed.embedded


def stage(files: list[Path], folder: Path, copies: int = 1) -> list[Path]:
    """Lay the photos out in one folder (copies get distinct names: each is decoded and embedded)."""
    folder.mkdir(parents=True)
    out = []
    for c in range(copies):
        for i, p in enumerate(files):
            target = folder / f"{c:02d}-{i:05d}{p.suffix.lower()}"
            target.symlink_to(p.resolve())
            out.append(target)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("default", "clip", "both"), default="both")
    ap.add_argument("--limit", type=int, default=640, help="Caltech photos per run (default 640)")
    args = ap.parse_args()
    caltech = shared_photos() / "caltech101-dev"
    sets: list[tuple[str, list[Path], int]] = []
    if caltech.is_dir():
        photos = sorted(caltech.rglob("*.jpg"))
        random.Random(0).shuffle(photos)
        sets.append(("Caltech dev (~300x225 JPEG)", photos[:args.limit], 1))
    else:
        print(f"SKIP Caltech: {caltech} not found")
    big = large_jpegs()
    if big:
        sets.append((f"large camera JPEGs (4-18 MP, {len(big)} files x 4 copies)", big, 4))
    backends = ("default", "clip") if args.backend == "both" else (args.backend,)
    print(f"# Indexing throughput ({machine()}, torch threads {torch.get_num_threads()})\n")
    print("Model only: median of 3 passes over the same decoded batches (batch 32); end to end:"
          " one `index_folders` run on a fresh library (scan, hash, decode, thumbnail, embed, store,"
          " FAISS index).\n")
    print("| backend | photos | n | model only (photos/s) | end to end (photos/s) | end to end / model |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for backend in backends:
            embedder = default_model() if backend == "default" else random_clip(tmp)
            for name, files, copies in sets:
                folder = tmp / f"{backend}-{time.monotonic_ns()}"
                staged = stage(files, folder, copies)
                model = model_only_rate(embedder, staged)
                e2e, n = end_to_end_rate(embedder, folder, tmp)
                print(f"| {backend} | {name} | {n} | {model:.1f} | {e2e:.1f} | {e2e / model:.0%} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
