"""Fit the fusion constants: one logistic model per route over (log ImageNet mass, learned cosine).

For every (label, photo) pair of the fitting data, with u = log(P + eps) - m1 and v = cos - m2
(each centred on its mean over a fixed reference sample of training photos, heads.Reference)
and the label's descriptor x (default_text.route_descriptor), per route ("hier", "bridge": see
core/models/default_text.py) a logistic regression on [u, x u, v, x v, 1, x] (the route's FORM
says which of them) gives logit = a u + b v + c with a, b, c linear in x. Centring makes a label
that covers many classes ("dog": some mass on any animal) comparable to one that covers few;
the descriptor lets a text that matches no class name (a sentence) lean on the cosine alone.
A logistic model's 0 logit is probability 0.5, so the default threshold (score 0.5) means the
same for every label. Each label's pairs carry equal total weight, so frequent words do not
drown rare ones.

Fitting data: the Flickr8k validation split with the everyday words (a photo shows a word when
one of its captions says it), and, when given, the fit half of a labelled folder (Caltech dev)
with its class names as labels. Never the Flickr8k test split or Caltech's report half.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from photomgr.core.models.default_text import BRIDGE, HIER, class_route, learned_input, route_descriptor
from photomgr.core.models.heads import Head, Reference
from photomgr.core.models.hierarchy import load_hierarchy
from photomgr.core.models.text_bridge import TextBridge, imagenet_classes
from photomgr.core.tagging.calibration import FUSED_EPS
from photomgr.training.data import Split
from photomgr.training.features import Features
from photomgr.training.labelled import BACKGROUND, embed_labelled, fit_report_halves, read_labelled
from photomgr.training.words import EVERYDAY_WORDS, caption_has

# Which descriptor terms each route's constants use: a = a0 + a1 x, b = b0 + b1 x, c = c0 + c1 x.
# Only the evidence weight a depends on the descriptor: letting b and c depend on the bridge's
# class-name match too ranked sentences better (validation) but lost 1.1 points of Caltech dev
# zero-shot top-1, and labels that name an ImageNet class must not get worse.
FORM = {HIER: ("a0", "a1", "b0", "c0"), BRIDGE: ("a0", "a1", "b0", "c0")}
# Search queries off the hierarchy (sentences, almost never a class name) use constants fitted on
# the same bridge pairs with every term: b and c follow the class-name match, which ranks
# sentences better (validation R@10 0.670 vs 0.644) without touching any label's scores.
QUERY = "query"
QUERY_FORM = ("a0", "a1", "b0", "b1", "c0", "c1")
TERMS = ("a0", "a1", "b0", "b1", "c0", "c1")
# The prompt templates a label name goes through before the text head (a prompt ensemble, as CLIP
# does; shipped in the heads file, default_text.label_templates). The heads were trained on whole
# captions: "a photo of a person." sits on their distribution, a bare word off it, and the mean
# of both keeps what the bare word ranks well. Chosen on the fitting data alone, by Caltech dev
# fit-half zero-shot top-1 + Flickr8k validation mAP of the everyday words (fused scores):
# none 49.9 % + 0.449; "a photo of a {}." 52.3 % + 0.429; these two 51.1 % + 0.456 (best sum);
# plus "a close-up photo of a {}." 51.5 % + 0.440; four CLIP templates 52.0 % + 0.419.
LABEL_TEMPLATES = ("{}", "a photo of a {}.")
REFERENCE_PHOTOS = 1000


@dataclass
class Pairs:
    x: list[np.ndarray]  # (n, 6) per label: [u, x u, v, x v, 1, x]
    x_query: list[np.ndarray]  # the same with the text embedded as typed (search queries)
    y: list[np.ndarray]  # (n,) 0/1 per label
    route: list[str]
    name: list[str]


@dataclass(frozen=True)
class HeadsToFit:
    """The heads the constants are fitted for, as the app runs them (numpy, heads.Head), and
    the templates label names are embedded with (default_text.label_templates)."""

    image: Head
    text: Head
    templates: tuple[str, ...]


def reference_sample(heads: HeadsToFit, feats: Features, parts: Split, seed: int) -> Reference:
    """REFERENCE_PHOTOS training-split photos (fixed seed): probabilities and projected vectors."""
    where = {n: i for i, n in enumerate(feats.names)}
    rows = np.array([where[n] for n in parts.train])
    rows = np.sort(np.random.default_rng(seed).choice(rows, min(REFERENCE_PHOTOS, len(rows)), replace=False))
    image = heads.image(feats.image[rows])
    # stored as float16 in the heads file: centre on exactly what the app will read back
    return Reference(feats.probs[rows].astype(np.float16).astype(np.float32),
                     image.astype(np.float16).astype(np.float32))


def add_labels(pairs: Pairs, names: list[str], truth: np.ndarray, image: np.ndarray, probs: np.ndarray,
               heads: HeadsToFit, bridge: TextBridge, reference: Reference,
               keep: np.ndarray | None = None) -> None:
    """truth: (n_photos, n_labels) 0/1; keep: same shape, False for pairs to ignore."""
    hierarchy = load_hierarchy([c.synset for c in imagenet_classes()])
    minilm = bridge.encode(names)
    proj_img = heads.image(image)
    # labels: the name through the prompt templates, as DefaultTextEncoder.embed_label does;
    # queries: the text as typed, as embed_query does
    proj_txt = heads.text(np.stack([learned_input([n], heads.templates, bridge) for n in names]))
    proj_raw = heads.text(minilm)
    for j, name in enumerate(names):
        w, route = class_route([name], hierarchy, bridge, minilm[j])
        d = route_descriptor(route, w, bridge, minilm[j])
        m1 = np.mean(np.log(reference.probs @ w + FUSED_EPS))
        u = np.log(probs @ w + FUSED_EPS) - m1
        xs = []
        for t in (proj_txt[j], proj_raw[j]):
            v = proj_img @ t - np.mean(reference.image @ t)
            xs.append(np.stack([u, d * u, v, d * v, np.ones_like(u), np.full_like(u, d)], axis=1))
        mask = np.ones(len(u), bool) if keep is None else keep[:, j]
        if truth[mask, j].sum() == 0:
            continue
        pairs.x.append(xs[0][mask])
        pairs.x_query.append(xs[1][mask])
        pairs.y.append(truth[mask, j].astype(np.float32))
        pairs.route.append(route)
        pairs.name.append(name)


def logistic(xs: list[np.ndarray], ys: list[np.ndarray], l2: float = 1e-6) -> np.ndarray:
    """Weighted logistic regression (each label's pairs weigh 1 in total) -> weights of the columns
    of x (include a column of ones for the intercept; l2 spares nothing, it is tiny).

    The weights sum to 1, so the mean loss is small (~0.05): l2 must be tiny or it, not the
    data, sets the weights (1e-3 shrank the cosine weight five-fold).
    """
    x = torch.from_numpy(np.concatenate(xs)).double()
    y = torch.from_numpy(np.concatenate(ys)).double()
    w = torch.from_numpy(np.concatenate([np.full(len(v), 1.0 / len(v)) for v in ys])).double()
    w = w / w.sum()
    params = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = x @ params
        loss = (w * torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")).sum()
        loss = loss + l2 * (params ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return params.detach().numpy().astype(np.float64)


def fit_fusion(heads: HeadsToFit, feats: Features, parts: Split, caltech: Path | None, cache: Path,
               seed: int) -> tuple[dict[str, object], Reference]:
    """The fusion constants (JSON for the heads file) and the reference sample they centre on."""
    bridge = TextBridge()
    reference = reference_sample(heads, feats, parts, seed)
    pairs = Pairs([], [], [], [], [])
    where = {n: i for i, n in enumerate(feats.names)}
    val_rows = np.array([where[n] for n in parts.val])
    words = list(EVERYDAY_WORDS)
    truth = np.zeros((len(val_rows), len(words)), np.float32)
    for i, r in enumerate(val_rows):
        caps = [feats.captions[c] for c in np.flatnonzero(feats.caption_owner == r)]
        for j, word in enumerate(words):
            truth[i, j] = any(caption_has(word, c) for c in caps)
    add_labels(pairs, words, truth, feats.image[val_rows], feats.probs[val_rows], heads, bridge,
               reference)
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
        add_labels(pairs, names, truth, image, probs, heads, bridge, reference, keep)
        sources.append(f"{caltech.name} fit half ({len(fit)} photos, {len(classes)} class names)")
    out: dict[str, object] = {"eps": FUSED_EPS, "fitted_on": "; ".join(sources),
                              "reference": f"{len(reference.probs)} photos of the training split",
                              "descriptor": "hier: log(classes covered); bridge: best class-name cosine"}
    for name, route, form in ((HIER, HIER, FORM[HIER]), (BRIDGE, BRIDGE, FORM[BRIDGE]),
                              (QUERY, BRIDGE, QUERY_FORM)):
        sel = [i for i, r in enumerate(pairs.route) if r == route]
        cols = [TERMS.index(t) for t in form]
        xs = pairs.x_query if name == QUERY else pairs.x
        fitted = logistic([xs[i][:, cols] for i in sel], [pairs.y[i] for i in sel])
        coef = dict.fromkeys(TERMS, 0.0)
        coef.update({t: round(float(v), 5) for t, v in zip(form, fitted, strict=True)})
        out[name] = {k: [coef[k + "0"], coef[k + "1"]] for k in ("a", "b", "c")}
        print(f"  fusion {name}: {len(sel)} labels -> {out[name]} (a: log ImageNet mass, b: cosine)")
    return out, reference
