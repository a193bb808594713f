"""The captioner trainer end to end on a tiny synthetic caption set (seconds, no data needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from photomgr.core.models.caption_decoder import DecoderConfig
from photomgr.core.models.caption_runtime import DefaultCaptioner, read_metadata
from photomgr.core.models.caption_vocab import MAX_WORDS
from photomgr.core.models.captioning import DEFAULT_CAPTION_ID
from photomgr.training.data import read_captions
from photomgr.training.train_captioner import TrainConfig, train

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def _caption_set(root: Path, per_colour: int = 6) -> tuple[Path, Path]:
    images = root / "images"
    images.mkdir()
    rows = []
    rng = np.random.default_rng(0)
    for colour, rgb in COLOURS.items():
        for i in range(per_colour):
            pixels = np.clip(np.array(rgb) + rng.integers(-20, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
            name = f"{colour}{i}.jpg"
            Image.fromarray(pixels).save(images / name)
            rows += [(name, f"A {colour} square."), (name, f"a plain {colour} picture")]
    captions = root / "captions.csv"
    with captions.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "caption"])
        w.writerows(rows)
    return images, captions


def test_trains_saves_and_loads_a_captioner(tmp_path: Path) -> None:
    images, captions = _caption_set(tmp_path)
    out = tmp_path / "captioner.safetensors"
    summary = train(read_captions(images, captions), tmp_path / "cache", out, seed=0,
                    cfg=TrainConfig(epochs=3, photos_per_batch=4, warmup_steps=2, min_count=1, eval_every=1,
                                    eval_photos=3, beams=(1, 2), length_penalties=(0.0,), flip=True),
                    model_cfg=DecoderConfig(vocab_size=0, width=32, heads=2, decoder_layers=1), test_photos=3)
    assert summary["train_photos"] == 18 - 6 and summary["val_photos"] == 3
    meta = read_metadata(out)
    assert meta["caption_id"] == DEFAULT_CAPTION_ID and int(meta["beam"]) in (1, 2)
    assert {"red", "green", "blue", "square"} <= set(json.loads(meta["vocab"]))
    captioner = DefaultCaptioner.from_file(out)
    maps = np.load(next((tmp_path / "cache").glob("caption-maps-*.npy")))
    sentences = captioner.describe(torch.from_numpy(maps[:4].astype(np.float32)))
    assert len(sentences) == 4 and all(s.endswith(".") and len(s.split()) <= MAX_WORDS for s in sentences)
    # mirrored maps were cached for augmentation: a second file next to the plain one
    assert len(list((tmp_path / "cache").glob("caption-maps-*.npy"))) == 2

