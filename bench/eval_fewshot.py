"""Few-shot tagging quality of LabelScorer on precomputed embeddings (a tuning tool).

Input: an .npz with paths, labels (class name per photo), image (N, D), label (N, L),
names (class names), label_vectors (n_classes, L) -- e.g. the Caltech-101 dev photos embedded
with the default backend. BACKGROUND_Google is clutter, not a class: its photos and label are
dropped.

For k = 0, 1, 5, 10 confirmed photos per label (drawn at random, several seeds), every label is
scored on the photos not confirmed for any label, and we report
  top-1       argmax over all labels' calibrated scores == the photo's class
  P / R / F1  multi-label auto tags: a photo gets every label scoring >= the threshold; its
              one true tag is its class (precision over all tags given, recall over photos)
plus reference rows: the raw text-score argmax (what calibration must not lose) and the plain
nearest-prototype classifier. `--reject R` also simulates a user rejecting, for each label, the
R best-scoring wrong photos, and evaluates on photos nobody decided on.

    python bench/eval_fewshot.py --npz /tmp/caltech_emb_default.npz [--backend default] [--sweep]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photomgr.core.models.spaces import photo_label_space
from photomgr.core.tagging.calibration import Calibration, calibration_for
from photomgr.core.tagging.label_model import LabelVectors
from photomgr.core.tagging.scoring import LabelScorer, PhotoMatrix

CLUTTER = "BACKGROUND_Google"
SHOTS = (0, 1, 5, 10)


@dataclass(frozen=True)
class Data:
    photos: PhotoMatrix
    classes: np.ndarray  # (N,) index into names
    names: list[str]
    text: np.ndarray  # (n_classes, L)


def load(path: Path, shared: bool = False) -> Data:
    z = np.load(path, allow_pickle=False)
    names = [str(n) for n in z["names"]]
    text = np.asarray(z["label_vectors"], np.float32)
    raw = z["labels"]
    if np.issubdtype(raw.dtype, np.integer):
        photo_names = [names[int(i)] if 0 <= int(i) < len(names) else CLUTTER for i in raw]
    else:
        photo_names = [str(x) for x in raw]
    keep_names = [i for i, n in enumerate(names) if n != CLUTTER]
    index = {names[i]: j for j, i in enumerate(keep_names)}
    rows = np.array([i for i, n in enumerate(photo_names) if n in index], np.int64)
    classes = np.array([index[photo_names[i]] for i in rows], np.int64)
    image = np.asarray(z["image"], np.float32)[rows]
    label = None if shared else np.asarray(z["label"], np.float32)[rows]
    if "model_id" in z.files:  # the scoring space the app derives from the stored columns
        label = photo_label_space(str(z["model_id"]), image, label)
    photos = PhotoMatrix(rows, image, label)
    return Data(photos, classes, [names[i] for i in keep_names], text[keep_names])


def draw_positives(classes: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """k random rows of each class (fewer if the class is that small, always leaving one)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(int(classes.max()) + 1):
        rows = np.flatnonzero(classes == c)
        take = min(k, max(0, len(rows) - 1))
        out.append(np.sort(rng.choice(rows, take, replace=False)) if take else np.zeros(0, np.int64))
    return out


def label_set(data: Data, positives: list[np.ndarray], negatives: list[np.ndarray] | None = None
              ) -> list[LabelVectors]:
    img = data.photos.image
    negs = negatives or [np.zeros(0, np.int64)] * len(positives)
    return [LabelVectors(data.text[c], img[positives[c]], img[negs[c]]) for c in range(len(positives))]


def metrics(scores: np.ndarray, classes: np.ndarray, threshold: float) -> dict[str, float]:
    top1 = float(np.mean(scores.argmax(axis=1) == classes))
    tags = scores >= threshold
    true_tag = tags[np.arange(len(classes)), classes]
    n_tags = int(tags.sum())
    precision = float(true_tag.sum() / n_tags) if n_tags else 1.0
    recall = float(true_tag.mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"top1": top1, "P": precision, "R": recall, "F1": f1, "tags/photo": n_tags / len(classes)}


def run(data: Data, scorer: LabelScorer, k: int, seed: int, reject: int = 0,
        threshold: float | None = None) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Metrics on the undecided photos; also returns (their scores, their classes) for sweeps."""
    positives = draw_positives(data.classes, k, seed)
    decided = np.zeros(len(data.classes), bool)
    for p in positives:
        decided[p] = True
    labels = label_set(data, positives)
    negatives = None
    if reject:
        scores = scorer.score_all(data.photos, labels)
        negatives = []
        for c in range(len(labels)):
            s = np.where((data.classes != c) & ~decided, scores[:, c], -np.inf)
            negatives.append(np.argsort(-s)[:reject])
        for n in negatives:
            decided[n] = True
        labels = label_set(data, positives, negatives)
    scores = scorer.score_all(data.photos, labels)[~decided]
    classes = data.classes[~decided]
    thr = scorer.default_threshold if threshold is None else threshold
    return metrics(scores, classes, thr), scores, classes


def references(data: Data, k: int, seed: int) -> dict[str, float]:
    """Raw text argmax and nearest-prototype top-1 on the same split."""
    positives = draw_positives(data.classes, k, seed)
    test = np.ones(len(data.classes), bool)
    for p in positives:
        test[p] = False
    raw = data.photos.label_space[test] @ data.text.T
    out = {"raw text top1": float(np.mean(raw.argmax(axis=1) == data.classes[test]))}
    if k:
        protos = np.stack([data.photos.image[p].mean(axis=0) for p in positives])
        protos /= np.linalg.norm(protos, axis=1, keepdims=True)
        sims = data.photos.image[test] @ protos.T
        out["prototype top1"] = float(np.mean(sims.argmax(axis=1) == data.classes[test]))
    return out


def mean_metrics(data: Data, scorer: LabelScorer, k: int, seeds: int, reject: int = 0
                 ) -> dict[str, tuple[float, float]]:
    seen: dict[str, list[float]] = {}
    for seed in range(seeds if k else 1):
        m, _, _ = run(data, scorer, k, seed, reject)
        m.update(references(data, k, seed))
        for key, v in m.items():
            seen.setdefault(key, []).append(v)
    return {key: (float(np.mean(v)), float(np.std(v))) for key, v in seen.items()}


def sweep(data: Data, scorer: LabelScorer, seeds: int) -> None:
    """F1 of the auto tags over thresholds, per k: where one default threshold should sit."""
    thresholds = np.round(np.arange(0.05, 0.96, 0.05), 2)
    print("\n| threshold | " + " | ".join(f"k={k} P / R / F1" for k in SHOTS) + " |")
    print("|---:|" + "---|" * len(SHOTS))
    runs = {k: [run(data, scorer, k, s)[1:] for s in range(seeds if k else 1)] for k in SHOTS}
    for t in thresholds:
        cells = []
        for k in SHOTS:
            ms = [metrics(s, c, float(t)) for s, c in runs[k]]
            cells.append(" / ".join(f"{np.mean([m[x] for m in ms]):.2f}" for x in ("P", "R", "F1")))
        print(f"| {t:.2f} | " + " | ".join(cells) + " |")


def report(data: Data, scorer: LabelScorer, seeds: int, reject: int) -> None:
    thr = scorer.default_threshold
    print(f"{len(data.classes)} photos, {len(data.names)} labels, backend {scorer.backend}, "
          f"threshold {thr:.2f}, {seeds} seeds (mean ± sd)\n")
    print("| confirmed per label | top-1 | raw text top-1 | prototype-only top-1 | P | R | F1 | tags/photo |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    ignoring = LabelScorer(scorer.backend, scorer.cal.with_(neg_scale=0.0))
    cases = [(k, 0, scorer, "") for k in SHOTS]
    if reject:  # same photos decided and evaluated; the first row leaves the rejections unused
        cases += [(5, reject, ignoring, " rejected, term off"), (5, reject, scorer, " rejected")]
    for k, r, sc, what in cases:
        m = mean_metrics(data, sc, k, seeds, r)
        proto = m.get("prototype top1")
        name = f"{k}" + (f" (+{r}{what})" if r else "")
        print(f"| {name} | {m['top1'][0]:.3f} ± {m['top1'][1]:.3f} | {m['raw text top1'][0]:.3f} | "
              f"{'-' if proto is None else f'{proto[0]:.3f}'} | {m['P'][0]:.3f} | {m['R'][0]:.3f} | "
              f"{m['F1'][0]:.3f} | {m['tags/photo'][0]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npz", type=Path, required=True)
    parser.add_argument("--backend", default="default")
    parser.add_argument("--shared", action="store_true", help="label space is the image (CLIP npz)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--reject", type=int, default=3, help="rejected photos per label in the extra row")
    parser.add_argument("--sweep", action="store_true", help="also print P/R/F1 over thresholds")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="override calibration constants, e.g. --set proto_scale=10")
    args = parser.parse_args()
    cal: Calibration = calibration_for(args.backend)
    for item in args.set:
        key, value = item.split("=", 1)
        cal = cal.with_(**{key: (value.lower() == "true") if value.lower() in ("true", "false")
                           else float(value)})
    data = load(args.npz, shared=args.shared or args.backend == "clip")
    scorer = LabelScorer(args.backend, cal)
    report(data, scorer, args.seeds, args.reject)
    if args.sweep:
        sweep(data, scorer, args.seeds)


if __name__ == "__main__":
    main()
