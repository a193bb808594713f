"""A labelled folder (labels.csv: path,label) such as Caltech-101 dev, split into fit/report halves.

Faces/image_N and Faces_easy/image_N are one photo (the second a tighter crop), so a pair always
lands in the same half: otherwise the report half would contain crops of fitted photos.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photomgr.core.library.vectors import STORE_DTYPE

CALTECH_SPLIT_SEED = 101
BACKGROUND = "BACKGROUND_Google"


@dataclass(frozen=True)
class LabelledPhoto:
    path: str  # relative to the folder
    label: str


def read_labelled(root: Path) -> list[LabelledPhoto]:
    with (root / "labels.csv").open(newline="", encoding="utf-8") as fh:
        return [LabelledPhoto(r["path"], r["label"]) for r in csv.DictReader(fh)]


def _group(p: LabelledPhoto) -> str:
    label = "Faces" if p.label == "Faces_easy" else p.label
    return f"{label}/{Path(p.path).name}"


def fit_report_halves(items: list[LabelledPhoto], seed: int = CALTECH_SPLIT_SEED
                      ) -> tuple[list[LabelledPhoto], list[LabelledPhoto]]:
    """Per class, a fixed shuffle of its photo groups: the first half fit, the rest report."""
    groups: dict[str, list[str]] = {}
    for p in items:
        cls = "Faces" if p.label == "Faces_easy" else p.label
        g = _group(p)
        if g not in groups.setdefault(cls, []):
            groups[cls].append(g)
    fit_groups: set[str] = set()
    rng = random.Random(seed)
    for cls in sorted(groups):
        order = sorted(groups[cls])
        rng.shuffle(order)
        fit_groups.update(order[: len(order) // 2])
    fit = [p for p in items if _group(p) in fit_groups]
    report = [p for p in items if _group(p) not in fit_groups]
    return fit, report


def embed_labelled(root: Path, items: list[LabelledPhoto], cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Stored-form (image, probs) of each item, decoded as the app decodes; cached."""
    h = hashlib.sha256(str(root.resolve()).encode())
    for p in items:
        h.update(p.path.encode() + b"\0")
    path = cache_dir / f"labelled-{h.hexdigest()[:16]}.npz"
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        return z["image"], z["probs"]
    import torch

    from photomgr.core.imaging.decode import decode_photo
    from photomgr.core.models.default_backend import DefaultEmbedder

    embedder = DefaultEmbedder(device="cpu", with_text=False)  # no heads needed to make features
    images, probs = [], []
    print(f"embedding {len(items)} labelled photos -> {path}", flush=True)
    for start in range(0, len(items), 32):
        batch = [embedder.preprocess(decode_photo(root / p.path, min_side=embedder.input_size).image)
                 for p in items[start:start + 32]]
        got = embedder.embed_images(torch.stack(batch))
        images.append(got.image.astype(STORE_DTYPE).astype(np.float32))
        probs.append(got.label.astype(STORE_DTYPE).astype(np.float32))
    image, prob = np.concatenate(images), np.concatenate(probs)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, image=image, probs=prob)
    os.replace(tmp, path)
    return image, prob
