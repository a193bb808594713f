"""Review mode vs random picks: how many answers bring a label to 90 % precision at 50 % recall?

On the Caltech-101 dev photos indexed into a library with the default model, for each class
(BACKGROUND_Google is clutter, not a class) a label named after the class (underscores as
spaces, as a user would type it) starts with no decisions. A simulated user then answers one
photo at a time, truthfully (confirm if the photo is of the class, else reject), until the
label reaches 90 % precision at 50 % recall, or BUDGET answers:

- review: the photo chosen by core.ops.review.review_order (least certain first: nearest the
  threshold), asked again after every answer: exactly what the window's Review mode asks;
- random: an undecided photo drawn uniformly (SEEDS seeds).

Scoring is the app's own: TagEngine's LabelScorer with the label's text vector and the
confirmed / rejected photos' vectors (few-shot), as TagEngine.label_vectors builds them.
Precision at 50 % recall ranks photos as the app shows a label's photos: confirmed first,
then undecided by score; rejected photos never carry the label.

    python bench/eval_review.py --library /work/data/browse/caltech-lib \\
        --labels ../shared/photos/caltech101-dev/labels.csv

(the library made with `photomgr --library DIR index ../shared/photos/caltech101-dev`).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photomgr.core.library.database import Library
from photomgr.core.library.labels import Label
from photomgr.core.library.settings import Settings
from photomgr.core.ops.review import review_order
from photomgr.core.services.model_choice import (
    ModelChoice,
    active_model_id,
    backend_of,
    load_for_model_id,
)
from photomgr.core.services.tagging import TagEngine
from photomgr.core.tagging.label_model import LabelVectors

CLUTTER = "BACKGROUND_Google"
TARGET_PRECISION, AT_RECALL = 0.9, 0.5
BUDGET = 60
SEEDS = 5


def precision_at_recall(scores: np.ndarray, truth: np.ndarray, state: np.ndarray, recall: float) -> float:
    """state: 1 confirmed, -1 rejected, 0 undecided. Confirmed first, then undecided by score."""
    positives = int(truth.sum())
    need = max(1, int(np.ceil(recall * positives)))
    key = np.where(state == 1, np.inf, np.where(state == -1, -np.inf, scores))
    order = np.argsort(-key, kind="stable")
    order = order[state[order] != -1]
    hits = np.cumsum(truth[order])
    reached = np.flatnonzero(hits >= need)
    if reached.size == 0:
        return 0.0
    k = int(reached[0]) + 1
    return need / k


def simulate(engine: TagEngine, text: np.ndarray, truth: np.ndarray, pick: str,
             rng: np.random.Generator | None) -> int | None:
    """Answers until the target is met (0: met with no answer), None if not within BUDGET."""
    matrix = engine.matrix()
    image = matrix.image
    state = np.zeros(len(truth), np.int8)
    threshold = engine.scorer.default_threshold
    for answers in range(BUDGET + 1):
        vectors = LabelVectors(text, image[state == 1], image[state == -1])
        scores = engine.scorer.score(matrix, vectors)
        if precision_at_recall(scores, truth, state, AT_RECALL) >= TARGET_PRECISION:
            return answers
        if answers == BUDGET:
            return None
        undecided = state == 0
        if pick == "review":
            row = int(review_order(scores, threshold, undecided)[0])
        else:
            assert rng is not None
            row = int(rng.choice(np.flatnonzero(undecided)))
        state[row] = 1 if truth[row] else -1
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True, help="labels.csv: path,label")
    parser.add_argument("--classes", type=int, default=0, help="only the first N classes (0: all)")
    args = parser.parse_args(argv)
    if not args.labels.exists():
        print(f"SKIP: {args.labels} not found")
        return 0
    root = args.labels.parent.resolve()
    with args.labels.open() as fh:
        truth_by_path = {str(root / row["path"]): row["label"] for row in csv.DictReader(fh)}
    with Library(args.library) as library:  # (writable only so an older schema is upgraded)
        conn = library.conn
        model_id = active_model_id(Settings(conn))
        if model_id is None:
            print("SKIP: the library has no vectors; index the photos first")
            return 0
        encoder = load_for_model_id(model_id, ModelChoice.read(Settings(conn)))
        engine = TagEngine(conn, model_id, backend_of(model_id), lambda: encoder)
        ids = engine.matrix().ids
        paths = dict(conn.execute("SELECT id, path FROM photos"))
        classes = np.array([truth_by_path.get(paths.get(int(i), ""), CLUTTER) for i in ids])
        names = sorted(set(classes.tolist()) - {CLUTTER})
        if args.classes:
            names = names[:args.classes]
        print(f"{len(ids):,} photos with vectors ({model_id}), {len(names)} classes; target "
              f"precision {TARGET_PRECISION:.0%} at {AT_RECALL:.0%} recall, budget {BUDGET} answers")
        t0 = time.perf_counter()
        review: list[int | None] = []
        random_runs: list[list[int | None]] = []
        for name in names:
            label = Label(0, name.replace("_", " "), (), None)
            text = engine.compute_text_vector(label)
            truth = classes == name
            review.append(simulate(engine, text, truth, "review", None))
            random_runs.append([simulate(engine, text, truth, "random", np.random.default_rng(seed))
                                for seed in range(SEEDS)])
        seconds = time.perf_counter() - t0

    def cost(n: int | None) -> int:
        return BUDGET + 1 if n is None else n  # not reached: counted as more than the budget

    review_costs = [cost(n) for n in review]
    random_costs = [statistics.median(cost(n) for n in runs) for runs in random_runs]
    zero = sum(1 for n in review if n == 0)
    hard = [(n, r) for n, r in zip(review_costs, random_costs, strict=True) if n > 0 or r > 0]
    print(f"classes met with no answer at all (zero-shot): {zero} of {len(names)}")
    print(f"reached within {BUDGET} answers: review {sum(n is not None for n in review)}, "
          f"random {sum(statistics.median(cost(n) for n in runs) <= BUDGET for runs in random_runs)} "
          f"(median over {SEEDS} seeds) of {len(names)}")
    if hard:
        med_review, med_random = statistics.median(n for n, _ in hard), statistics.median(r for _, r in hard)
        mean_review, mean_random = statistics.mean(n for n, _ in hard), statistics.mean(r for _, r in hard)
        print(f"classes that needed answers ({len(hard)}): median answers review {med_review:.0f}, "
              f"random {med_random:.0f}; mean review {mean_review:.1f}, random {mean_random:.1f} "
              f"(not reached counted as {BUDGET + 1})")
        better = sum(1 for n, r in hard if n < r)
        worse = sum(1 for n, r in hard if n > r)
        print(f"review needed fewer answers than random for {better}, more for {worse}, "
              f"as many for {len(hard) - better - worse}")
    print(f"({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
