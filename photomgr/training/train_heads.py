"""Train the default model's projection heads and fit the fusion constants. One command:

    python -m photomgr.training.train_heads [--data /work/data/flickr8k] \
        [--caltech ../shared/photos/caltech101-dev] [--out resources/default_heads.safetensors]

Frozen features (EfficientNet-Lite0 stored vectors, MiniLM caption embeddings) are computed once
and cached under <data>/cache; the heads train in a few minutes on two CPU cores. Everything is
seeded (--seed). Splits: Flickr8k photos are shuffled by a fixed seed into test (1,000, never
used here), validation (fits every constant: epochs, fusion weights) and train. Caltech dev,
when given, is split by a fixed seed into fit/report halves; only the fit half is used here.
See docs/training.md for the data, its terms and the numbers.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from photomgr.core.models.default_ids import HEADS_VERSION
from photomgr.core.models.heads import HEADS_NAME, Reference, head_from_tensors
from photomgr.core.models.resources import resources_dir
from photomgr.training.data import DataMissing, Split, data_dir, read_captions, split
from photomgr.training.features import Features, load_or_compute
from photomgr.training.fusion import LABEL_TEMPLATES, HeadsToFit
from photomgr.training.heads_model import DualHeads


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def recall_at(image: np.ndarray, text: np.ndarray, owner: np.ndarray, ks: tuple[int, ...] = (1, 5, 10)
              ) -> dict[int, float]:
    """Text -> image recall@k: for each caption, is its photo among the k best of `image`?"""
    sims = text @ image.T
    own = sims[np.arange(len(owner)), owner]
    rank = (sims > own[:, None]).sum(axis=1)
    return {k: float(np.mean(rank < k)) for k in ks}


def rows_of(feats: Features, names: list[str]) -> np.ndarray:
    where = {n: i for i, n in enumerate(feats.names)}
    return np.array([where[n] for n in names], np.int64)


def caption_rows(feats: Features, photo_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(caption indices, their owner's position in photo_rows) for the given photos."""
    pos = {int(r): i for i, r in enumerate(photo_rows)}
    idx = np.array([c for c, o in enumerate(feats.caption_owner) if int(o) in pos], np.int64)
    return idx, np.array([pos[int(feats.caption_owner[c])] for c in idx], np.int64)


def train(feats: Features, parts: Split, *, seed: int, dim: int, hidden: int, dropout: float,
          epochs: int, batch: int, lr: float, weight_decay: float, log: bool = True
          ) -> tuple[DualHeads, list[tuple[int, dict[int, float]]]]:
    seed_all(seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    train_rows = rows_of(feats, parts.train)
    val_rows = rows_of(feats, parts.val)
    caps_of: dict[int, list[int]] = {}
    for c, o in enumerate(feats.caption_owner):
        caps_of.setdefault(int(o), []).append(c)
    image = torch.from_numpy(feats.image)
    image_flip = torch.from_numpy(feats.image_flip)
    text = torch.from_numpy(feats.text)
    model = DualHeads(image.shape[1], text.shape[1], dim, hidden, dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * (len(train_rows) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(seed)
    val_idx, val_owner = caption_rows(feats, val_rows)
    history = []
    best: tuple[float, dict[str, torch.Tensor], int] | None = None
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(train_rows)
        for start in range(0, len(order) - batch + 1, batch):
            rows = order[start:start + batch]
            caps = np.array([rng.choice(caps_of[int(r)]) for r in rows])
            flip = torch.from_numpy(rng.random(len(rows)) < 0.5)[:, None]
            rows_t = torch.from_numpy(rows)
            x = torch.where(flip, image_flip[rows_t], image[rows_t])
            loss = model.loss(x, text[torch.from_numpy(caps)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            iv = model.image(image[torch.from_numpy(val_rows)]).numpy()
            tv = model.text(text[torch.from_numpy(val_idx)]).numpy()
        rec = recall_at(iv, tv, val_owner)
        history.append((epoch, rec))
        if best is None or rec[10] > best[0]:
            best = (rec[10], {k: v.clone() for k, v in model.state_dict().items()}, epoch)
        if log:
            print(f"  epoch {epoch:2d}  loss {loss.item():.3f}  val R@1 {rec[1]:.3f} R@5 {rec[5]:.3f} "
                  f"R@10 {rec[10]:.3f}", flush=True)
    assert best is not None
    model.load_state_dict(best[1])  # the epoch with the best validation recall (validation split)
    if log:
        print(f"  kept epoch {best[2]} (val R@10 {best[0]:.3f})")
    return model.eval(), history


def head_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The image and text heads of a saved heads file (to refit the fusion constants alone)."""
    from safetensors.torch import load_file

    return {k: v for k, v in load_file(str(path)).items() if k.startswith(("image.", "text."))}


def model_tensors(model: DualHeads) -> dict[str, torch.Tensor]:
    return {**model.image.tensors("image"), **model.text.tensors("text")}


def heads_to_fit(tensors: dict[str, torch.Tensor], templates: tuple[str, ...]) -> HeadsToFit:
    """The heads as the app runs them (numpy), so the constants are fitted on exactly its maths."""
    arrays = {k: v.float().numpy() for k, v in tensors.items()}
    return HeadsToFit(head_from_tensors(arrays, "image"), head_from_tensors(arrays, "text"), templates)


def canonical_safetensors(raw: bytes) -> bytes:
    """The same safetensors file with the keys of its JSON header sorted. safetensors (0.8) writes
    the metadata from a hash map, in an order that changes from run to run: the same heads and
    constants made a different file, and checksum, each time they were regenerated."""
    n = int.from_bytes(raw[:8], "little")
    header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    return len(header).to_bytes(8, "little") + header + raw[8 + n:]


def save(tensors: dict[str, torch.Tensor], fusion: dict[str, object], path: Path, meta: dict[str, str],
         reference: Reference | None = None, templates: tuple[str, ...] = ()) -> None:
    from safetensors.torch import save as to_bytes

    tensors = dict(tensors)
    if reference is not None:  # float16: 1000 photos cost 3 MB, and centring needs no more
        tensors["reference.probs"] = torch.from_numpy(reference.probs).half()
        tensors["reference.image"] = torch.from_numpy(reference.image).half()
    raw = to_bytes(tensors, metadata={"version": HEADS_VERSION, "fusion": json.dumps(fusion),
                                      "label_templates": json.dumps(list(templates)), **meta})
    path.write_bytes(canonical_safetensors(raw))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="folder with images/ and captions.txt")
    ap.add_argument("--caltech", type=Path, default=None,
                    help="a labelled folder (labels.csv: path,label) whose fit half also fits the fusion")
    ap.add_argument("--cache", type=Path, default=None, help="feature cache (default <data>/cache)")
    ap.add_argument("--out", type=Path, default=resources_dir() / HEADS_NAME)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=0, help="residual MLP width (0: linear heads)")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--no-fusion", action="store_true", help="train heads only (quick experiments)")
    ap.add_argument("--refit-fusion", action="store_true",
                    help="keep the heads in --out, only fit the fusion constants again")
    ap.add_argument("--label-templates", default=json.dumps(LABEL_TEMPLATES),
                    help="JSON list of templates a label name is embedded with (default: %(default)s)")
    args = ap.parse_args(argv)
    try:
        root = data_dir(args.data)
    except DataMissing as exc:
        print(f"SKIP: {exc}")
        return 0
    started = time.perf_counter()
    captions = read_captions(root / "images", root / "captions.txt")
    parts = split(captions.images)
    print(f"{len(captions.images)} photos: train {len(parts.train)}, val {len(parts.val)}, "
          f"test {len(parts.test)} (held out)")
    feats = load_or_compute(captions.root, captions.captions, args.cache or root / "cache")
    print(f"features ready in {time.perf_counter() - started:.0f} s")
    t0 = time.perf_counter()
    templates = tuple(str(t) for t in json.loads(args.label_templates))
    if args.refit_fusion:
        tensors = head_tensors(args.out)
        from photomgr.training.fusion import fit_fusion

        fusion, reference = fit_fusion(heads_to_fit(tensors, templates), feats, parts, args.caltech,
                                       args.cache or root / "cache", seed=args.seed)
        from safetensors import safe_open

        with safe_open(str(args.out), framework="numpy") as fh:
            meta = {k: v for k, v in (fh.metadata() or {}).items()
                    if k not in ("version", "fusion", "label_templates")}
        save(tensors, fusion, args.out, meta, reference, templates)
        print(f"refitted the fusion constants in {args.out}")
        return 0
    model, _history = train(feats, parts, seed=args.seed, dim=args.dim, hidden=args.hidden,
                           dropout=args.dropout, epochs=args.epochs, batch=args.batch, lr=args.lr,
                           weight_decay=args.weight_decay)
    print(f"heads trained in {time.perf_counter() - t0:.0f} s")
    if args.no_fusion:
        return 0
    from photomgr.training.fusion import fit_fusion

    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".heads-only.safetensors")
    tensors = model_tensors(model)
    save(tensors, {"eps": 0.0, "hier": [0, 0, 0], "bridge": [0, 0, 0]}, partial, {})  # kept if fusion fails

    fusion, reference = fit_fusion(heads_to_fit(tensors, templates), feats, parts, args.caltech,
                                   args.cache or root / "cache", seed=args.seed)
    meta = {"data": root.name, "train_photos": str(len(parts.train)), "seed": str(args.seed),
            "args": json.dumps({k: str(v) for k, v in vars(args).items() if k not in ("data", "out", "cache",
                                                                                      "caltech")})}
    save(tensors, fusion, args.out, meta, reference, templates)
    partial.unlink(missing_ok=True)
    size_kib = args.out.stat().st_size // 1024
    print(f"saved {args.out} ({size_kib} KiB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
