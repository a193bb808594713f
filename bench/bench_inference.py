"""CPU inference options for the image towers, on real photos: speed and agreement with float32.

    python -m bench.bench_inference [--photos 128]

For CLIP ViT-B-32 (seed-0 random weights: speed does not depend on their values; agreement is
measured on real photos all the same) and the default model (EfficientNet-Lite0, real weights):
float32 (what photomgr ran before), bfloat16 weights, bfloat16 autocast, and int8 dynamic
quantisation of the Linear layers. Each option: photos/s of the forward pass (batch 32, median
of 3 passes) and the cosine of its image vectors to float32's (minimum and median). Kept: what
is faster with minimum cosine >= 0.99.
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench.common import machine, shared_photos
from photomgr.core.imaging.decode import decode_photo

BATCH = 32


def rate_and_vectors(fn: Callable[[torch.Tensor], torch.Tensor],
                     batches: list[torch.Tensor]) -> tuple[float, np.ndarray]:
    with torch.inference_mode():
        fn(batches[0])  # warm-up
        rates = []
        for _ in range(3):
            started = time.perf_counter()
            out = [fn(b) for b in batches]
            rates.append(sum(len(b) for b in batches) / (time.perf_counter() - started))
    vectors = torch.cat(out).float().numpy()
    return statistics.median(rates), vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def report(backend: str, name: str, rate: float, base_rate: float, vectors: np.ndarray,
           base: np.ndarray) -> None:
    cos = (vectors * base).sum(axis=1)
    print(f"| {backend} | {name} | {rate:.1f} | {rate / base_rate:.2f}x | {cos.min():.4f} | "
          f"{float(np.median(cos)):.4f} |", flush=True)


def clip_options(files: list[Path]) -> None:
    import open_clip

    torch.manual_seed(0)
    model, _, transform = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    visual = model.visual.eval()
    tensors = [transform(decode_photo(p, min_side=224).image) for p in files]  # type: ignore[operator]
    batches = [torch.stack(tensors[i:i + BATCH]) for i in range(0, len(tensors), BATCH)]
    base_rate, base = rate_and_vectors(visual, batches)
    report("CLIP ViT-B-32", "float32", base_rate, base_rate, base, base)
    bf16 = copy.deepcopy(visual).to(torch.bfloat16)
    rate, vec = rate_and_vectors(lambda b: bf16(b.to(torch.bfloat16)), batches)
    report("CLIP ViT-B-32", "bfloat16 weights (kept)", rate, base_rate, vec, base)

    def autocast(b: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return visual(b)

    rate, vec = rate_and_vectors(autocast, batches)
    report("CLIP ViT-B-32", "bfloat16 autocast", rate, base_rate, vec, base)
    int8 = torch.ao.quantization.quantize_dynamic(copy.deepcopy(visual), {torch.nn.Linear},
                                                  dtype=torch.qint8)
    rate, vec = rate_and_vectors(int8, batches)
    report("CLIP ViT-B-32", "int8 dynamic (Linear)", rate, base_rate, vec, base)


def default_options(files: list[Path]) -> None:
    import os

    from photomgr.core.models.cpu_inference import ENV_PRECISION
    from photomgr.core.models.default_backend import DefaultEmbedder

    saved = os.environ.get(ENV_PRECISION)
    os.environ[ENV_PRECISION] = "fp32"  # the baseline; photomgr itself runs bfloat16 on AMX CPUs
    try:
        embedder = DefaultEmbedder(device="cpu")
    finally:
        if saved is None:
            del os.environ[ENV_PRECISION]
        else:
            os.environ[ENV_PRECISION] = saved
    tensors = [embedder.preprocess(decode_photo(p, min_side=embedder.input_size).image) for p in files]
    batches = [torch.stack(tensors[i:i + BATCH]) for i in range(0, len(tensors), BATCH)]

    def pooled(b: torch.Tensor) -> torch.Tensor:
        return embedder.forward(b)[0]

    base_rate, base = rate_and_vectors(pooled, batches)
    report("default (EfficientNet-Lite0)", "float32, channels-last (as shipped)", base_rate,
           base_rate, base, base)
    original = embedder.model
    embedder.model = copy.deepcopy(original).to(torch.bfloat16)
    embedder.image_dtype = torch.bfloat16  # forward_all casts each batch to it
    rate, vec = rate_and_vectors(pooled, batches)
    report("default (EfficientNet-Lite0)", "bfloat16 weights (kept)", rate, base_rate, vec, base)
    embedder.model, embedder.image_dtype = original, torch.float32

    def autocast(b: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return pooled(b)

    rate, vec = rate_and_vectors(autocast, batches)
    report("default (EfficientNet-Lite0)", "bfloat16 autocast", rate, base_rate, vec, base)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=128)
    ap.add_argument("--backend", choices=("clip", "default", "both"), default="both")
    args = ap.parse_args()
    root = shared_photos() / "caltech101-dev"
    if not root.is_dir():
        print(f"SKIP: {root} not found")
        return 0
    files = sorted(root.rglob("*.jpg"))
    random.Random(1).shuffle(files)
    files = files[:args.photos]
    print(f"# CPU inference options ({machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {len(files)} Caltech photos)\n")
    print("| model | option | photos/s | vs float32 | min cosine | median cosine |")
    print("|---|---|---:|---:|---:|---:|")
    if args.backend in ("clip", "both"):
        clip_options(files)
    if args.backend in ("default", "both"):
        default_options(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
