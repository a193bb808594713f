"""Evaluate an embedder on Caltech-101 dev: zero-shot tagging, near-duplicate twins, speed.

    python bench/eval_embeddings.py [--backend default] [--batch 32] [--workers 2] [--out NPZ]

Prints (1) zero-shot top-1 over the 101 class names used as labels (argmax over labels of the
app's label score, LabelScorer on the scoring space derived from the stored vectors),
(2) how often each Faces_easy/image_N's nearest neighbour
(cosine on image vectors, among all dev photos, itself excluded) is its Faces/image_N twin,
(3) images/s for the model alone and end to end (decode + preprocess in a thread pool, batched
model), and the load times. Saves every vector to an .npz (paths, labels, image, label, names,
label_vectors) for tuning few-shot tagging; writes <npz stem>.READY next to it once complete.
Skips with a message when the test photos (../shared/photos) are absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, shared_photos
from photomgr.core.imaging.decode import decode_photo
from photomgr.core.models.base import Embedder
from photomgr.core.models.registry import load_embedder
from photomgr.core.models.spaces import photo_label_space
from photomgr.core.pipeline.lookahead import lookahead_map
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

BACKGROUND = "BACKGROUND_Google"  # clutter, not a class


@dataclass
class Item:
    path: str  # relative to the dataset folder
    label: str
    tensor: torch.Tensor | None = None
    error: str | None = None


def read_labels(root: Path) -> list[Item]:
    with (root / "labels.csv").open(newline="") as fh:
        return [Item(row["path"], row["label"]) for row in csv.DictReader(fh)]


def class_text(name: str) -> str:
    """A Caltech folder name as a user would type the label: "car_side" -> "car side"."""
    return name.replace("_", " ")


def embed_all(embedder: Embedder, root: Path, items: list[Item], batch: int,
              workers: int) -> tuple[np.ndarray, np.ndarray, list[Item], float, float]:
    """Decode + preprocess in a look-ahead pool (as the indexer does), batched model."""

    def prepare(item: Item) -> Item:
        try:
            decoded = decode_photo(root / item.path, min_side=embedder.input_size)
            item.tensor = embedder.preprocess(decoded.image)
        except Exception as exc:
            item.error = f"{type(exc).__name__}: {exc}"
        return item

    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    done: list[Item] = []
    pending: list[Item] = []
    model_seconds = 0.0

    def run_batch() -> None:
        nonlocal model_seconds
        started = time.perf_counter()
        out = embedder.embed_images(torch.stack([p.tensor for p in pending if p.tensor is not None]))
        model_seconds += time.perf_counter() - started
        images.append(out.image)
        labels.append(out.label)
        done.extend(pending)
        pending.clear()

    started = time.perf_counter()
    for item in lookahead_map(prepare, items, workers=workers, ahead=batch * 2):
        if item.tensor is None:
            print(f"  failed: {item.path}: {item.error}")
            continue
        pending.append(item)
        if len(pending) >= batch:
            run_batch()
    if pending:
        run_batch()
    total_seconds = time.perf_counter() - started
    for item in done:
        item.tensor = None  # free memory
    return np.concatenate(images), np.concatenate(labels), done, model_seconds, total_seconds


def model_only_rate(embedder: Embedder, root: Path, items: list[Item], batch: int, count: int = 320) -> float:
    """Images/s of embed_images alone, on photos decoded beforehand (no decode competing)."""
    tensors = [embedder.preprocess(decode_photo(root / i.path, min_side=embedder.input_size).image)
               for i in items[:count]]
    stacked = [torch.stack(tensors[k:k + batch]) for k in range(0, len(tensors), batch)]
    best = 0.0
    for _ in range(3):  # best of three: other processes on a shared machine only slow a pass down
        started = time.perf_counter()
        for x in stacked:
            embedder.embed_images(x)
        best = max(best, len(tensors) / (time.perf_counter() - started))
    return best


def faces_twins(paths: list[str], image: np.ndarray) -> tuple[int, int]:
    """(hits, pairs): Faces_easy/image_N whose nearest neighbour is Faces/image_N."""
    index = {p: i for i, p in enumerate(paths)}
    hits = pairs = 0
    for p, i in index.items():
        if not p.startswith("Faces_easy/"):
            continue
        twin = index.get("Faces/" + p.split("/", 1)[1])
        if twin is None:
            continue
        sims = image @ image[i]
        sims[i] = -np.inf
        pairs += 1
        hits += int(np.argmax(sims) == twin)
    return hits, pairs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="default")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="decode threads")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "photomgr-eval-cache",
                    help="model cache (the text bridge's class matrix)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (quick runs)")
    ap.add_argument("--out", type=Path, default=None, help="default /tmp/caltech_emb_<backend>.npz")
    args = ap.parse_args()
    args.out = args.out or Path(f"/tmp/caltech_emb_{args.backend}.npz")

    root = shared_photos() / "caltech101-dev"
    if not (root / "labels.csv").is_file():
        print(f"SKIP: Caltech-101 dev photos not found at {root} (set PHOTOMGR_SHARED_PHOTOS)")
        return 0
    print(f"machine: {machine()}")
    started = time.perf_counter()
    embedder = load_embedder(args.backend, cache_dir=args.cache_dir)
    load_seconds = time.perf_counter() - started
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"model: {embedder.info.model_id} on {embedder.device}, {torch.get_num_threads()} torch threads, "
          f"loaded in {load_seconds:.1f} s")

    items = read_labels(root)
    if args.limit:
        items = items[: args.limit]
    # warm-up so the first batch's one-off costs do not count as throughput
    embedder.embed_images(torch.zeros(2, 3, embedder.input_size, embedder.input_size))
    image, label, done, model_s, total_s = embed_all(embedder, root, items, args.batch, args.workers)
    n = len(done)
    print(f"embedded {n} photos end to end at {n / total_s:.1f} img/s (batch {args.batch}, "
          f"{args.workers} decode threads; {model_s:.0f} of {total_s:.0f} s inside the model)")
    model_rate = model_only_rate(embedder, root, items, args.batch)

    names = sorted({i.label for i in done} - {BACKGROUND})
    started = time.perf_counter()
    label_vectors = np.stack([embedder.embed_label([class_text(c)]) for c in names]).astype(np.float32)
    print(f"{len(names)} label vectors in {time.perf_counter() - started:.1f} s "
          "(first call includes loading the text model)")

    paths = [i.path for i in done]
    truth = np.array([i.label for i in done])
    keep = truth != BACKGROUND
    # ranked as the app ranks: the scoring space derived from the stored columns, fused scores
    space = photo_label_space(embedder.info.model_id, image[keep], label[keep])
    photos = PhotoMatrix(np.flatnonzero(keep), image[keep], space)
    logits = LabelScorer(embedder.info.backend).logits(photos, [LabelVectors(v) for v in label_vectors])
    predicted = np.array(names)[np.argmax(logits, axis=1)]
    top1 = float(np.mean(predicted == truth[keep]))
    print(f"(1) zero-shot top-1 over {len(names)} classes: {100 * top1:.1f}% ({keep.sum()} photos)")
    hits, pairs = faces_twins(paths, image)
    print(f"(2) Faces_easy -> Faces twin is the nearest neighbour: {100 * hits / max(pairs, 1):.1f}% "
          f"({hits}/{pairs})")
    print(f"(3) model only {model_rate:.1f} img/s, end to end {n / total_s:.1f} img/s "
          f"(batch {args.batch}, {torch.get_num_threads()} threads); load {load_seconds:.1f} s")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.npz")
    np.savez(tmp, paths=np.array(paths), labels=truth, image=image.astype(np.float32),
             label=label.astype(np.float32), names=np.array(names), label_vectors=label_vectors,
             model_id=np.array(embedder.info.model_id))
    os.replace(tmp, args.out)
    args.out.with_suffix(".READY").write_text(f"{embedder.info.model_id}\n")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
