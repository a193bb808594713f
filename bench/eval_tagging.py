"""Tagging quality on a labelled folder, through the app's own code path.

    python bench/eval_tagging.py --photos ../shared/photos/caltech101-dev \
        --labels ../shared/photos/caltech101-dev/labels.csv

Indexes the folder into a library (the same `index_folders` that `photomgr index` runs), adds
every class name as a label (as `photomgr labels add` does), reads the scores as
`photomgr tags --all` does, confirms k photos per label (as `photomgr tag --confirm` does) and
prints: zero-shot top-1, precision and recall of the auto tags, the few-shot curve for
k = 0, 1, 5, 10, and how often Find similar puts a Faces_easy photo's uncropped twin first.

Everyday words: "face", "person", "car", "building", "dog", "flower" are added as labels too,
with ground truth from the folders (EVERYDAY_TRUTH); for each, the average precision of its
scores, the fraction of its photos tagged at the default threshold and the tags' precision,
next to the average precision of today's text bridge (nearest ImageNet class names) recomputed
from the same stored vectors. Caltech dev is split by a fixed seed into a fit half (used by
photomgr.training.train_heads to fit the fusion constants) and a report half: every number is
printed for the report half, and for all of dev.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.quality import average_precision, tagged_stats  # noqa: E402
from photomgr.core.library.database import Library  # noqa: E402
from photomgr.core.library.labels import CONFIRMED  # noqa: E402
from photomgr.core.library.photos import PhotoStore  # noqa: E402
from photomgr.core.library.settings import Settings  # noqa: E402
from photomgr.core.search.similar import find_similar  # noqa: E402
from photomgr.core.services.indexing import index_folders  # noqa: E402
from photomgr.core.services.model_choice import ModelChoice, load_chosen  # noqa: E402
from photomgr.core.services.near_copies import library_copy_check  # noqa: E402
from photomgr.core.services.tagging import TagEngine  # noqa: E402
from photomgr.core.services.vector_index import load_or_build_index  # noqa: E402
from photomgr.training.labelled import fit_report_halves, read_labelled  # noqa: E402

# The ground truth for everyday words on Caltech dev: the folders that show each.
EVERYDAY_TRUTH = {
    "face": ("Faces", "Faces_easy"),
    "person": ("Faces", "Faces_easy"),
    "car": ("car_side",),
    "building": ("pagoda", "minaret"),
    "dog": ("dalmatian",),
    "flower": ("sunflower", "water_lilly", "lotus"),
}


def read_truth(csv_path: Path, photos: Path, ignore: set[str]) -> dict[str, str]:
    truth: dict[str, str] = {}
    with csv_path.open() as fh:
        for row in csv.DictReader(fh):
            if row["label"] not in ignore:
                truth[str((photos / row["path"]).resolve())] = row["label"]
    return truth


def evaluate(table: np.ndarray, thresholds: np.ndarray, truth_idx: np.ndarray,
             mask: np.ndarray) -> dict[str, float]:
    """top-1 accuracy and precision/recall of thresholded tags over the rows in `mask`."""
    t, y = table[mask], truth_idx[mask]
    top1 = float(np.mean(t.argmax(axis=1) == y))
    tagged = t >= thresholds[None, :]
    true_pos = tagged[np.arange(len(y)), y].sum()
    precision = float(true_pos / tagged.sum()) if tagged.sum() else 0.0
    recall = float(true_pos / len(y))
    return {"top1": top1, "precision": precision, "recall": recall,
            "tags_per_photo": float(tagged.sum(axis=1).mean())}


def everyday_words(engine: TagEngine, row_paths: list[str], photos: Path,
                   in_report: np.ndarray) -> dict[str, object]:
    """AP, fraction tagged and precision of the everyday words, new scores vs today's bridge."""
    from photomgr.core.library.vectors import VectorStore
    from photomgr.core.models.text_bridge import TextBridge

    existing = {lab.name for lab in engine.labels.all()}
    for word in EVERYDAY_TRUTH:
        if word not in existing:
            engine.labels.add(word)
    labels = [lab for lab in engine.labels.all() if lab.name in EVERYDAY_TRUTH]
    _, table = engine.score_table(labels)
    stored = VectorStore(engine.labels.conn).matrix(engine.model_id)
    bridge = TextBridge()
    folder = np.array([Path(p).parent.name for p in row_paths])
    out: dict[str, object] = {}
    for part, mask in (("report_half", in_report), ("dev", np.ones(len(row_paths), bool))):
        rows = []
        for j, lab in enumerate(labels):
            truth = np.isin(folder, EVERYDAY_TRUTH[lab.name])[mask]
            scores = table[mask, j]
            old = (stored.label[mask] @ bridge.weights([lab.name])) if stored.label is not None else scores
            frac, prec, n = tagged_stats(scores, truth, engine.threshold(lab))
            rows.append({"word": lab.name, "photos": int(truth.sum()),
                         "ap": round(average_precision(scores, truth), 4),
                         "ap_bridge": round(average_precision(old, truth), 4), "tagged": round(frac, 4),
                         "precision": round(prec, 4), "n_tagged": n})
        m_new = float(np.mean([r["ap"] for r in rows]))
        m_old = float(np.mean([r["ap_bridge"] for r in rows]))
        out[part] = {"words": rows, "map": round(m_new, 4), "map_bridge": round(m_old, 4)}
        print(f"everyday words, {part} ({int(mask.sum())} photos): mAP {m_new:.3f} "
              f"(today's bridge {m_old:.3f})")
        for r in rows:
            print(f"    {r['word']:9s} {r['photos']:3d} photos  AP {r['ap']:.3f} "
                  f"(bridge {r['ap_bridge']:.3f})  tagged {r['tagged']:6.1%}  "
                  f"precision {r['precision']:6.1%}  ({r['n_tagged']} tags)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, default=REPO / ".." / "shared" / "photos" / "caltech101-dev")
    ap.add_argument("--labels", type=Path, default=None,
                    help="CSV with path,label (default: PHOTOS/labels.csv)")
    ap.add_argument("--library", type=Path, default=None, help="library folder (default: a temporary one)")
    ap.add_argument("--ignore-label", action="append", default=["BACKGROUND_Google"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if not args.photos.is_dir():
        print(f"SKIP: {args.photos} not found (the test photos live in ../shared/photos)")
        return 0
    labels_csv = args.labels or args.photos / "labels.csv"
    truth = read_truth(labels_csv, args.photos.resolve(), set(args.ignore_label))
    lib_root = args.library or Path(tempfile.mkdtemp(prefix="photomgr-eval-"))
    results: dict[str, object] = {"photos_dir": str(args.photos), "library": str(lib_root)}

    with Library(lib_root) as library:
        settings = Settings(library.conn)
        loaded = load_chosen(ModelChoice.read(settings), cache_dir=library.paths.cache_dir)
        embedder = loaded.embedder
        t0 = time.perf_counter()
        indexed = index_folders(library, [args.photos.resolve()], embedder=embedder)
        results["index_seconds"] = round(time.perf_counter() - t0, 1)
        results["model"] = embedder.info.model_id
        results["embedded"] = indexed.embed.embedded
        print(f"indexed: {indexed.scan.photos} photos, embedded {indexed.embed.embedded} "
              f"in {results['index_seconds']} s", flush=True)

        engine = TagEngine(library.conn, embedder.info.model_id, embedder.info.backend, lambda: embedder)
        # Each class becomes the label a person would type: folder names like "car_side" are
        # written "car side" (the underscore is a file-system habit, not part of the name).
        label_of = {c: c.replace("_", " ") for c in sorted(set(truth.values()))}
        existing = {lab.name for lab in engine.labels.all()}
        for name in label_of.values():
            if name not in existing:
                engine.labels.add(name)
        wanted = set(label_of.values())
        labels = [lab for lab in engine.labels.all() if lab.name in wanted]
        col_of_label = {lab.name: j for j, lab in enumerate(labels)}
        name_to_col = {c: col_of_label[label_of[c]] for c in label_of}
        for lab in labels:  # clean slate when re-using a library
            for d in engine.labels.decisions_for_label(lab.id):
                engine.labels.clear_decision(d.photo_id, lab.id)
        engine.invalidate()

        paths = PhotoStore(library.conn).paths_by_id(engine.matrix().ids.tolist())
        row_paths = [paths[int(i)] for i in engine.matrix().ids]
        in_truth = np.array([p in truth for p in row_paths])
        truth_idx = np.array([name_to_col[truth[p]] if p in truth else -1 for p in row_paths])
        thresholds = np.array([engine.threshold(lab) for lab in labels], dtype=np.float32)

        # Re-scoring one label (what adding or renaming a label costs), measured on this library.
        timings = []
        for lab in labels[:20]:
            t = time.perf_counter()
            engine.scores(lab)
            timings.append((time.perf_counter() - t) * 1000)
        results["rescore_one_label_ms_median"] = round(float(np.median(timings)), 2)

        _, table = engine.score_table(labels)
        zero = evaluate(table, thresholds, truth_idx, in_truth)
        results["zero_shot"] = zero
        print(f"k=0  top-1 {zero['top1']:.1%}  precision {zero['precision']:.1%}  "
              f"recall {zero['recall']:.1%}  tags/photo {zero['tags_per_photo']:.2f}", flush=True)

        report_paths = {str((args.photos / p.path).resolve())
                        for p in fit_report_halves(read_labelled(args.photos))[1]}
        in_report = np.array([p in report_paths for p in row_paths])
        zero_r = evaluate(table, thresholds, truth_idx, in_truth & in_report)
        results["zero_shot_report_half"] = zero_r
        print(f"     report half ({int((in_truth & in_report).sum())} photos): top-1 {zero_r['top1']:.1%}  "
              f"precision {zero_r['precision']:.1%}  recall {zero_r['recall']:.1%}", flush=True)
        results["everyday_words"] = everyday_words(engine, row_paths, args.photos, in_report)

        curve: dict[int, dict[str, float]] = {0: zero}
        rows_by_label = {j: np.flatnonzero(in_truth & (truth_idx == j)) for j in range(len(labels))}
        ids = engine.matrix().ids
        for k in (1, 5, 10):
            runs = []
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                chosen: list[int] = []
                for j, lab in enumerate(labels):
                    rows = rows_by_label[j]
                    pick = rng.choice(rows, size=min(k, max(len(rows) - 1, 0)), replace=False)
                    for r in pick:
                        engine.labels.set_decision(int(ids[r]), lab.id, CONFIRMED, "auto")
                    chosen.extend(int(r) for r in pick)
                engine.invalidate()
                _, table = engine.score_table(labels)
                mask = in_truth.copy()
                mask[chosen] = False  # evaluate on the photos the user did not confirm
                runs.append(evaluate(table, thresholds, truth_idx, mask))
                runs[-1].update({f"{m}_report_half": v for m, v in
                                 evaluate(table, thresholds, truth_idx, mask & in_report).items()})
                for lab in labels:
                    for d in engine.labels.decisions_for_label(lab.id):
                        engine.labels.clear_decision(d.photo_id, lab.id)
            curve[k] = {m: float(np.mean([r[m] for r in runs])) for m in runs[0]}
            c = curve[k]
            print(f"k={k:<2} top-1 {c['top1']:.1%}  precision {c['precision']:.1%}  "
                  f"recall {c['recall']:.1%}  (mean of {args.seeds} seeds); report half: top-1 "
                  f"{c['top1_report_half']:.1%}", flush=True)
        results["few_shot"] = curve

        # Find similar: is a Faces_easy photo's uncropped Faces twin its first result?
        index = load_or_build_index(library.conn, library.paths.index_dir, embedder.info.model_id)
        by_path = {p: int(i) for i, p in zip(ids, row_paths, strict=True)}
        pairs = hits = 0
        for p, pid in by_path.items():
            if "/Faces_easy/" in p:
                twin = p.replace("/Faces_easy/", "/Faces/")
                if twin in by_path and index is not None:
                    pairs += 1
                    vec = engine.matrix().image[np.searchsorted(ids, pid)]
                    copies = library_copy_check(library.conn, library.paths.thumbnails)
                    best = find_similar(index, pid, vec, 1, copies=copies)
                    hits += int(bool(best) and best[0][0] == by_path[twin])
        results["faces_twin_first"] = {"pairs": pairs, "hits": hits,
                                       "rate": hits / pairs if pairs else None}
        if pairs:
            print(f"Find similar: twin first for {hits}/{pairs} Faces_easy photos ({hits / pairs:.1%})")

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
