"""Train the default captioner (a small Transformer over EfficientNet-Lite0's 7x7 map). One command:

    python -m photomgr.training.train_captioner [--images DIR --captions CSV | --data DIR] \
        [--out resources/default_captioner.safetensors] [--epochs 20] [--seed 0]

The backbone is frozen: its feature maps are computed once by the app's own DefaultEmbedder and
cached under <data>/cache (caption_features.py). The split is the one the heads use
(training/data.py, fixed seed): the 1,000 test photos are never read here; the validation photos
choose the epoch to keep and the decoding settings (beam width, length penalty); only the
training photos' captions make the vocabulary and the gradient. Everything is seeded.
See docs/training.md for the data, its terms and the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from photomgr.core.models.caption_decoder import CaptionDecoder, DecoderConfig
from photomgr.core.models.caption_runtime import DefaultCaptioner, save_captioner, stored
from photomgr.core.models.caption_vocab import MAX_WORDS, PAD_ID, Vocab
from photomgr.core.models.captioning import CAPTIONER_FILE, DEFAULT_CAPTION_ID
from photomgr.core.models.resources import resources_dir
from photomgr.training.caption_features import THREADS_ENV, load_or_compute_maps
from photomgr.training.caption_metrics import ScorerMissing, caption_scores
from photomgr.training.data import CaptionSet, DataMissing, data_dir, read_captions, split


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 3  # sized for 2 shared CPU cores (~9 min an epoch there)
    photos_per_batch: int = 32  # each with all its captions (Flickr8k: 5)
    lr: float = 6e-4
    weight_decay: float = 0.01
    warmup_steps: int = 150
    label_smoothing: float = 0.1
    min_count: int = 5
    flip: bool = False  # mirrored feature maps as augmentation (doubles the feature extraction)
    bf16: bool = True  # autocast the forward pass to bfloat16
    eval_every: int = 2  # epochs between validation scorings (and the last epoch)
    eval_photos: int = 400  # validation photos scored during training (all are used at the end)
    beams: tuple[int, ...] = (1, 3)
    length_penalties: tuple[float, ...] = (0.0, 1.0)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode_captions(vocab: Vocab, captions: dict[str, list[str]], names: list[str]
                    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """(owner (C,), lengths (C,), padded ids per caption): caption c belongs to names[owner[c]]."""
    owner, seqs = [], []
    for i, n in enumerate(names):
        for c in captions[n]:
            owner.append(i)
            seqs.append(torch.tensor(vocab.encode(c, MAX_WORDS)))
    return torch.tensor(owner), torch.tensor([len(s) for s in seqs]), seqs


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def generate(model: CaptionDecoder, vocab: Vocab, maps: np.ndarray, names: list[str], *, beam: int,
             length_penalty: float, batch: int = 64) -> dict[str, str]:
    captioner = DefaultCaptioner(model, vocab, model_id=DEFAULT_CAPTION_ID, beam=beam,
                                 length_penalty=length_penalty)
    out: dict[str, str] = {}
    for start in range(0, len(names), batch):
        x = torch.from_numpy(np.asarray(maps[start:start + batch], dtype=np.float32))
        for name, sentence in zip(names[start:start + batch], captioner.describe(x), strict=True):
            out[name] = sentence
    model.train()
    return out


def validation_score(model: CaptionDecoder, vocab: Vocab, maps: np.ndarray, names: list[str],
                     refs: dict[str, list[str]], *, beam: int, length_penalty: float) -> dict[str, float]:
    hyps = generate(model, vocab, maps, names, beam=beam, length_penalty=length_penalty)
    try:
        return caption_scores(hyps, refs)
    except ScorerMissing:  # without the scorer, the mean sentence length is all we can report
        print("  (pycocoevalcap missing: validation BLEU not computed; pip install -e '.[bench]')")
        return {"bleu4": 0.0, "cider": 0.0}


def train(captions: CaptionSet, cache_dir: Path, out: Path, *, seed: int = 0,
          cfg: TrainConfig = TrainConfig(), model_cfg: DecoderConfig | None = None,
          test_photos: int | None = None, val_photos: int | None = None) -> dict[str, object]:
    """Train, choose the epoch and decoding settings on validation, save to `out`; a summary."""
    seed_all(seed)
    if os.environ.get(THREADS_ENV):  # on a shared machine one thread wastes less time waiting
        torch.set_num_threads(int(os.environ[THREADS_ENV]))
    t0 = time.time()
    parts = split(captions.images) if test_photos is None else split(
        captions.images, test=test_photos, val=val_photos if val_photos is not None else test_photos)
    vocab = Vocab.build((c for n in parts.train for c in captions.captions[n]), cfg.min_count)
    print(f"{len(parts.train)} train / {len(parts.val)} val photos ({len(parts.test)} test, unused); "
          f"vocabulary {len(vocab)} words (min count {cfg.min_count})", flush=True)
    maps = load_or_compute_maps(captions.root, captions.images, cache_dir)
    row = {n: i for i, n in enumerate(captions.images)}
    train_rows = np.array([row[n] for n in parts.train])
    train_maps = torch.from_numpy(np.ascontiguousarray(maps[train_rows]))  # float16 in memory
    flip_maps = None
    if cfg.flip:
        flipped = load_or_compute_maps(captions.root, captions.images, cache_dir, flipped=True)
        flip_maps = torch.from_numpy(np.ascontiguousarray(flipped[train_rows]))
    val_maps = np.ascontiguousarray(maps[np.array([row[n] for n in parts.val])])
    owner, _, seqs = encode_captions(vocab, captions.captions, parts.train)
    by_photo: list[list[int]] = [[] for _ in parts.train]
    for c, o in enumerate(owner.tolist()):
        by_photo[o].append(c)

    model_cfg = replace(model_cfg or DecoderConfig(vocab_size=len(vocab)), vocab_size=len(vocab))
    model = CaptionDecoder(model_cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    steps_per_epoch = math.ceil(len(parts.train) / cfg.photos_per_batch)
    total = steps_per_epoch * cfg.epochs
    gen = torch.Generator().manual_seed(seed)
    eval_names = parts.val[:cfg.eval_photos]
    val_refs = {n: captions.captions[n] for n in parts.val}
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    history = []
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(parts.train), generator=gen)
        loss_sum, tokens_sum = 0.0, 0
        for b in range(steps_per_epoch):
            photos = order[b * cfg.photos_per_batch:(b + 1) * cfg.photos_per_batch]
            x = train_maps[photos].float()
            if flip_maps is not None:
                use_flip = torch.rand(len(photos), generator=gen) < 0.5
                x[use_flip] = flip_maps[photos[use_flip]].float()
            caps = [c for p in photos.tolist() for c in by_photo[p]]
            cap_owner = torch.tensor([i for i, p in enumerate(photos.tolist()) for _ in by_photo[p]])
            ids = torch.nn.utils.rnn.pad_sequence([seqs[c] for c in caps], batch_first=True,
                                                  padding_value=PAD_ID)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg.warmup_steps, cfg.lr)
            # bfloat16 matrix products (float32 weights and loss): ~1.5x faster on CPUs with
            # native bf16; the shipped weights stay float32
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                logits = model(x, ids[:, :-1], cap_owner)
            target = ids[:, 1:]
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1),
                                   ignore_index=PAD_ID, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            n_tok = int((target != PAD_ID).sum())
            loss_sum += float(loss.detach()) * n_tok
            tokens_sum += n_tok
        entry: dict[str, float] = {"epoch": epoch, "train_loss": loss_sum / max(1, tokens_sum),
                                   "minutes": (time.time() - t0) / 60}
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            model.eval()
            scores = validation_score(model, vocab, val_maps[:len(eval_names)], eval_names, val_refs,
                                      beam=1, length_penalty=0.0)
            entry.update({f"val_greedy_{k}": v for k, v in scores.items() if k in ("bleu4", "cider")})
            if best is None or scores["bleu4"] > best[0]:
                weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best = (scores["bleu4"], epoch, weights)
        history.append(entry)
        print("  " + ", ".join(f"{k} {v:.4g}" for k, v in entry.items()), flush=True)

    assert best is not None
    # decoding settings are fitted on the weights exactly as they ship (float16-rounded)
    model.load_state_dict({k: stored(v).to(v.dtype) for k, v in best[2].items()})
    model.eval()
    print(f"kept epoch {best[1]} (validation greedy BLEU-4 {best[0]:.4f}); fitting decoding on "
          f"{len(parts.val)} validation photos", flush=True)
    grid = []
    for beam in cfg.beams:
        for penalty in (cfg.length_penalties if beam > 1 else (0.0,)):
            scores = validation_score(model, vocab, val_maps, parts.val, val_refs, beam=beam,
                                      length_penalty=penalty)
            grid.append({"beam": beam, "length_penalty": penalty, **scores})
            print(f"  beam {beam}, length penalty {penalty}: BLEU-4 {scores['bleu4']:.4f}, "
                  f"CIDEr {scores['cider']:.4f}", flush=True)
    chosen = max(grid, key=lambda g: (g["bleu4"], -g["beam"]))
    summary: dict[str, object] = {
        "seed": seed, "train_photos": len(parts.train), "val_photos": len(parts.val),
        "vocab": len(vocab), "kept_epoch": best[1], "beam": chosen["beam"],
        "length_penalty": chosen["length_penalty"], "val_bleu4": chosen["bleu4"],
        "val_cider": chosen["cider"],
        "minutes": round((time.time() - t0) / 60, 1), "config": {**cfg.__dict__}, "history": history,
        "grid": grid,
    }
    save_captioner(out, model, vocab, caption_id=DEFAULT_CAPTION_ID, beam=int(chosen["beam"]),
                   length_penalty=float(chosen["length_penalty"]),
                   extra={"seed": str(seed), "kept_epoch": str(best[1]),
                          "val_bleu4": f"{chosen['bleu4']:.4f}",
                          "trained_on": "Flickr8k train split (photomgr/training/data.py)"})
    print(f"saved {out}: beam {chosen['beam']}, length penalty {chosen['length_penalty']}, "
          f"validation BLEU-4 {chosen['bleu4']:.4f}, CIDEr {chosen['cider']:.4f} "
          f"({summary['minutes']} min)", flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="folder with images/ and captions.txt")
    ap.add_argument("--images", type=Path, help="folder of photos (with --captions)")
    ap.add_argument("--captions", type=Path, help="CSV with columns image,caption (with --images)")
    ap.add_argument("--cache", type=Path, help="feature cache folder (default: <data>/cache)")
    ap.add_argument("--out", type=Path, default=resources_dir() / CAPTIONER_FILE)
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flip", action="store_true", help="mirrored-photo augmentation (2x feature extraction)")
    ap.add_argument("--fp32", action="store_true", help="train in float32 (no bfloat16 autocast)")
    ap.add_argument("--summary", type=Path, help="write the training summary (JSON) here")
    args = ap.parse_args(argv)
    try:
        if args.images or args.captions:
            if not (args.images and args.captions):
                ap.error("--images and --captions go together")
            images, csv_path = args.images, args.captions
            cache = args.cache or images.parent / "cache"
        else:
            root = data_dir(args.data)
            images, csv_path, cache = root / "images", root / "captions.txt", args.cache or root / "cache"
        captions = read_captions(images, csv_path)
    except DataMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    cfg = replace(TrainConfig(), epochs=args.epochs, lr=args.lr, flip=args.flip, bf16=not args.fp32)
    summary = train(captions, cache, args.out, seed=args.seed, cfg=cfg)
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
