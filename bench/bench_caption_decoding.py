"""Captioner decoding alone: CPU ms per photo of each greedy decoding, on the same feature maps.

    python -m bench.bench_caption_decoding [--limit 600] [--batch 32] [--rounds 5]

The default backbone computes the 7x7 maps of `--limit` Caltech dev photos once (seed-0 order,
as bench_descriptions_cost); then each decoding describes them in batches of `--batch` (the
pipeline's batch), rounds alternating between decodings, median reported:

- reference: `caption_search.greedy_search`, the training module in float32 (shipped before
  caption_infer.FastGreedy);
- fast float32 / fast bfloat16: `caption_infer.FastGreedy`, what `DefaultCaptioner` runs.

Also: how many photos get exactly the reference's words from each, and the mean length.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

# isort: off
import photomgr.core.models  # noqa: F401  (sets OpenMP's wait policy before torch, as the app)
import torch
# isort: on

from bench.common import machine, shared_photos
from photomgr.core.imaging.decode import decode_photo
from photomgr.core.models.caption_infer import FastGreedy
from photomgr.core.models.caption_runtime import DefaultCaptioner
from photomgr.core.models.caption_search import greedy_search
from photomgr.core.models.captioning import captioner_file
from photomgr.core.models.default_backend import DefaultEmbedder


def feature_maps(limit: int, batch: int) -> list[torch.Tensor]:
    photos = sorted((shared_photos() / "caltech101-dev").rglob("*.jpg"))
    random.Random(0).shuffle(photos)
    photos = photos[:limit]
    embedder = DefaultEmbedder(device="cpu", with_text=False)
    maps = []
    with torch.inference_mode():
        for start in range(0, len(photos), batch):
            size = embedder.input_size
            images = [decode_photo(p, min_side=size).image for p in photos[start:start + batch]]
            maps.append(embedder.forward_maps(torch.stack([embedder.preprocess(im) for im in images]))[3])
    return maps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=600)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not (shared_photos() / "caltech101-dev").is_dir():
        print("SKIP: no Caltech dev photos here")
        return 0
    maps = feature_maps(args.limit, args.batch)
    n = sum(len(m) for m in maps)
    model = DefaultCaptioner.from_file(captioner_file(), beam=1).model
    decoders: dict[str, Callable[[torch.Tensor], list[list[int]]]] = {
        "reference (greedy_search, float32)": lambda m: greedy_search(model, m),
        "fast float32": FastGreedy(model, torch.float32),
        "fast bfloat16": FastGreedy(model, torch.bfloat16),
    }
    words: dict[str, list[list[int]]] = {}
    cpu: dict[str, list[float]] = {name: [] for name in decoders}
    wall: dict[str, list[float]] = {name: [] for name in decoders}
    with torch.inference_mode():
        for name, decode in decoders.items():  # warm-up, and the words
            words[name] = [seq for m in maps for seq in decode(m)]
        for r in range(args.rounds):
            for name in (list(decoders) if r % 2 == 0 else list(reversed(decoders))):
                started, cpu_started = time.perf_counter(), time.process_time()
                for m in maps:
                    decoders[name](m)
                wall[name].append((time.perf_counter() - started) * 1000 / n)
                cpu[name].append((time.process_time() - cpu_started) * 1000 / n)
    reference = words["reference (greedy_search, float32)"]
    print(f"# Caption decoding alone ({machine()}, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f})\n")
    print(f"{n} Caltech dev photos' maps, batches of {args.batch}, median of {args.rounds} rounds.\n")
    print("| decoding | wall ms/photo | CPU ms/photo | same words as reference | mean words |")
    print("|---|---:|---:|---:|---:|")
    for name in decoders:
        same = sum(a == b for a, b in zip(words[name], reference, strict=True))
        mean_len = statistics.mean(len(seq) for seq in words[name])
        print(f"| {name} | {statistics.median(wall[name]):.2f} | {statistics.median(cpu[name]):.2f} | "
              f"{same} / {n} | {mean_len:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
