"""Fit the fusion constants: one logistic model per route over (log ImageNet mass, learned cosine).

For every (label, photo) pair of the fitting data, x = [log(P + eps), cos] and y = "the photo
shows the label"; per route ("hier", "bridge": see core/models/default_text.py) a logistic
regression gives logit = a * x0 + b * x1 + c. A logistic model's 0 logit is probability 0.5, so
the default threshold (score 0.5) means the same for every label. Each label's pairs carry equal
total weight, so frequent words do not drown rare ones.

Fitting data: the Flickr8k validation split with the everyday words (a photo shows a word when
one of its captions says it), and, when given, the fit half of a labelled folder (Caltech dev)
with its class names as labels. Never the Flickr8k test split or Caltech's report half.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from photomgr.core.models.default_text import BRIDGE, HIER, class_route
from photomgr.core.models.hierarchy import load_hierarchy
from photomgr.core.models.text_bridge import TextBridge, imagenet_classes
from photomgr.core.tagging.calibration import FUSED_EPS
from photomgr.training.data import Split
from photomgr.training.features import Features
from photomgr.training.heads_model import DualHeads
from photomgr.training.labelled import BACKGROUND, embed_labelled, fit_report_halves, read_labelled
from photomgr.training.words import EVERYDAY_WORDS, caption_has


@dataclass
class Pairs:
    x: list[np.ndarray]  # (n, 2) per label
    y: list[np.ndarray]  # (n,) 0/1 per label
    route: list[str]
    name: list[str]


def _project(model: DualHeads, image: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        return (model.image(torch.from_numpy(image)).numpy(),
                model.text(torch.from_numpy(np.asarray(texts, np.float32))).numpy())


def add_labels(pairs: Pairs, names: list[str], truth: np.ndarray, image: np.ndarray, probs: np.ndarray,
               model: DualHeads, bridge: TextBridge, keep: np.ndarray | None = None) -> None:
    """truth: (n_photos, n_labels) 0/1; keep: same shape, False for pairs to ignore."""
    hierarchy = load_hierarchy([c.synset for c in imagenet_classes()])
    minilm = bridge.encode(names)
    proj_img, proj_txt = _project(model, image, minilm)
    for j, name in enumerate(names):
        w, route = class_route([name], hierarchy, bridge, minilm[j])
        x = np.stack([np.log(probs @ w + FUSED_EPS), proj_img @ proj_txt[j]], axis=1)
        mask = np.ones(len(x), bool) if keep is None else keep[:, j]
        if truth[mask, j].sum() == 0:
            continue
        pairs.x.append(x[mask])
        pairs.y.append(truth[mask, j].astype(np.float32))
        pairs.route.append(route)
        pairs.name.append(name)


def logistic(xs: list[np.ndarray], ys: list[np.ndarray], l2: float = 1e-6) -> tuple[float, float, float]:
    """Weighted logistic regression (each label's pairs weigh 1 in total) -> (a, b, c).

    The weights sum to 1, so the mean loss is small (~0.05): l2 must be tiny or it, not the
    data, sets the weights (1e-3 shrank the cosine weight five-fold).
    """
    x = torch.from_numpy(np.concatenate(xs)).double()
    y = torch.from_numpy(np.concatenate(ys)).double()
    w = torch.from_numpy(np.concatenate([np.full(len(v), 1.0 / len(v)) for v in ys])).double()
    w = w / w.sum()
    params = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = x @ params[:2] + params[2]
        loss = (w * torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")).sum()
        loss = loss + l2 * (params[:2] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    a, b, c = params.detach().tolist()
    return float(a), float(b), float(c)


def fit_fusion(model: DualHeads, feats: Features, parts: Split, caltech: Path | None, cache: Path,
               seed: int) -> dict[str, object]:
    bridge = TextBridge()
    pairs = Pairs([], [], [], [])
    where = {n: i for i, n in enumerate(feats.names)}
    val_rows = np.array([where[n] for n in parts.val])
    words = list(EVERYDAY_WORDS)
    truth = np.zeros((len(val_rows), len(words)), np.float32)
    for i, r in enumerate(val_rows):
        caps = [feats.captions[c] for c in np.flatnonzero(feats.caption_owner == r)]
        for j, word in enumerate(words):
            truth[i, j] = any(caption_has(word, c) for c in caps)
    add_labels(pairs, words, truth, feats.image[val_rows], feats.probs[val_rows], model, bridge)
    sources = [f"captions validation split ({len(val_rows)} photos, {len(words)} words)"]
    if caltech is not None and (caltech / "labels.csv").is_file():
        fit, _ = fit_report_halves(read_labelled(caltech))
        image, probs = embed_labelled(caltech, fit, cache)
        classes = sorted({p.label for p in fit} - {BACKGROUND})
        names = [c.replace("_", " ") for c in classes]
        col = {c: j for j, c in enumerate(classes)}
        truth = np.zeros((len(fit), len(classes)), np.float32)
        keep = np.ones_like(truth, dtype=bool)
        for i, p in enumerate(fit):
            if p.label in col:
                truth[i, col[p.label]] = 1
            twin = {"Faces": "Faces_easy", "Faces_easy": "Faces"}.get(p.label)
            if twin in col:
                keep[i, col[twin]] = False  # the same faces under the other folder name
        add_labels(pairs, names, truth, image, probs, model, bridge, keep)
        sources.append(f"{caltech.name} fit half ({len(fit)} photos, {len(classes)} class names)")
    out: dict[str, object] = {"eps": FUSED_EPS, "fitted_on": "; ".join(sources)}
    for route in (HIER, BRIDGE):
        sel = [i for i, r in enumerate(pairs.route) if r == route]
        a, b, c = logistic([pairs.x[i] for i in sel], [pairs.y[i] for i in sel])
        out[route] = [round(a, 5), round(b, 5), round(c, 5)]
        print(f"  fusion {route}: {len(sel)} labels -> a {a:.3f} (log ImageNet mass), b {b:.3f} (cosine), "
              f"c {c:.3f}")
    return out
