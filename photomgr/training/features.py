"""Frozen features of a caption set, computed once and cached outside the repository.

Image features are made by the app's own DefaultEmbedder (preprocess + embed_images) and rounded
to float16 exactly as the library stores them (core/library/vectors.py), so the heads are trained
on the vectors they will later be applied to. A horizontally flipped copy of each photo is
embedded too (training augmentation only). Captions are MiniLM sentence embeddings made by the
same loader the app uses for labels and queries.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from photomgr.core.library.vectors import STORE_DTYPE

CACHE_VERSION = "1"


@dataclass(frozen=True)
class Features:
    names: list[str]  # image file names, row order of the arrays below
    image: np.ndarray  # (N, 1280) stored-form image vectors
    probs: np.ndarray  # (N, 1000) stored-form ImageNet probabilities
    image_flip: np.ndarray  # (N, 1280) of the mirrored photo
    probs_flip: np.ndarray
    caption_owner: np.ndarray  # (C,) row in `names` of each caption
    captions: list[str]
    text: np.ndarray  # (C, 384) unit MiniLM embeddings


def _stored(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).astype(STORE_DTYPE).astype(np.float32)


def _key(names: list[str], captions: list[str]) -> str:
    from photomgr.core.models.default_backend import VECTORS_VERSION

    h = hashlib.sha256(f"{CACHE_VERSION}|{VECTORS_VERSION}".encode())
    for n in names:
        h.update(n.encode() + b"\0")
    for c in captions:
        h.update(c.encode() + b"\0")
    return h.hexdigest()[:16]


def embed_photos(root: Path, names: list[str], batch: int = 64) -> tuple[np.ndarray, ...]:
    import torch

    from photomgr.core.models.default_backend import DefaultEmbedder

    embedder = DefaultEmbedder(device="cpu", with_text=False)
    outs: list[list[np.ndarray]] = [[], [], [], []]
    for start in range(0, len(names), batch):
        tensors = []
        for name in names[start:start + batch]:
            with Image.open(root / name) as im:
                tensors.append(embedder.preprocess(im.convert("RGB")))
        x = torch.stack(tensors)
        for k, xx in enumerate((x, torch.flip(x, dims=[3]))):
            got = embedder.embed_images(xx)
            outs[2 * k].append(_stored(got.image))
            outs[2 * k + 1].append(_stored(got.label))
        done = min(start + batch, len(names))
        if done % (batch * 10) == 0 or done == len(names):
            print(f"  photos {done}/{len(names)}", flush=True)
    return tuple(np.concatenate(o) for o in outs)


def embed_texts(texts: list[str]) -> np.ndarray:
    from photomgr.core.models.text_bridge import load_minilm

    model = load_minilm("cpu")
    vectors = model.encode(texts, batch_size=128, convert_to_numpy=True, normalize_embeddings=True,
                           show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def load_or_compute(root: Path, captions: dict[str, list[str]], cache_dir: Path) -> Features:
    names = sorted(captions)
    owner, texts = [], []
    for i, n in enumerate(names):
        for c in captions[n]:
            owner.append(i)
            texts.append(c)
    path = cache_dir / f"features-{_key(names, texts)}.npz"
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        return Features(names, z["image"], z["probs"], z["image_flip"], z["probs_flip"],
                        z["owner"], texts, z["text"])
    print(f"embedding {len(names)} photos (and mirrored copies) -> {path}", flush=True)
    image, probs, image_flip, probs_flip = embed_photos(root, names)
    print(f"embedding {len(texts)} captions", flush=True)
    text = embed_texts(texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, image=image, probs=probs, image_flip=image_flip, probs_flip=probs_flip,
                 owner=np.asarray(owner, np.int64), text=text)
    os.replace(tmp, path)
    return Features(names, image, probs, image_flip, probs_flip, np.asarray(owner, np.int64), texts, text)
