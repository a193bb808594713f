"""Everyday words and sentences on held-out captioned photos, through the app's own code path.

    python bench/eval_words.py [--data /work/data/flickr8k] [--library DIR] [--json OUT]

Takes the held-out test split of the captions set (1,000 photos never used in training or to fit
a constant; photomgr/training/data.py), indexes them into a library with `index_folders` (what
`photomgr index` runs), then
(1) text -> image recall@1/5/10: every caption of those photos as a query, ranked by
    `text_search` (what `photomgr search` runs) on `embed_query`'s vector;
(2) for each everyday word (photomgr/training/words.py) added as a label (`photomgr labels add`),
    average precision of its scores over the photos whose captions say it, and at the default
    threshold the fraction of those photos tagged and the precision of the tags;
and the same two measures for today's text bridge (nearest ImageNet class names,
TextBridge.weights), recomputed from the same stored vectors, for comparison.
Skips with a message when the captioned photos are not on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.quality import average_precision, tagged_stats  # noqa: E402
from photomgr.core.library.database import Library  # noqa: E402
from photomgr.core.library.photos import PhotoStore  # noqa: E402
from photomgr.core.library.settings import Settings  # noqa: E402
from photomgr.core.search.similar import text_search  # noqa: E402
from photomgr.core.services.indexing import index_folders  # noqa: E402
from photomgr.core.services.model_choice import ModelChoice, load_chosen  # noqa: E402
from photomgr.core.services.tagging import TagEngine  # noqa: E402
from photomgr.training.data import DataMissing, data_dir, read_captions, split  # noqa: E402
from photomgr.training.words import EVERYDAY_WORDS, caption_has  # noqa: E402


def materialise(src: Path, names: list[str], dest: Path) -> Path:
    """A folder holding exactly these photos (hard links where possible, else copies)."""
    dest.mkdir(parents=True, exist_ok=True)
    want = set(names)
    for extra in dest.iterdir():
        if extra.name not in want:
            extra.unlink()
    for n in names:
        target = dest / n
        if not target.exists():
            try:
                os.link(src / n, target)
            except OSError:
                shutil.copy2(src / n, target)
    return dest


def ranks_of_own(hits: list[tuple[int, float]], own: int) -> int:
    ids = [pid for pid, _ in hits]
    return ids.index(own) if own in ids else len(ids)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="folder with images/ and captions.txt")
    ap.add_argument("--library", type=Path, default=None,
                    help="library folder (default <data>/eval-library-test, re-used between runs)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    try:
        root = data_dir(args.data)
    except DataMissing as exc:
        print(f"SKIP: {exc}")
        return 0
    captions = read_captions(root / "images", root / "captions.txt")
    test = split(captions.images).test
    folder = materialise(root / "images", test, root / "heldout-test")
    lib_root = args.library or root / "eval-library-test"
    results: dict[str, object] = {"photos": len(test), "library": str(lib_root)}

    with Library(lib_root) as library:
        loaded = load_chosen(ModelChoice.read(Settings(library.conn)), cache_dir=library.paths.cache_dir)
        embedder = loaded.embedder
        t0 = time.perf_counter()
        indexed = index_folders(library, [folder.resolve()], embedder=embedder)
        print(f"indexed {indexed.scan.photos} photos (embedded {indexed.embed.embedded}) in "
              f"{time.perf_counter() - t0:.0f} s; model {embedder.info.model_id}", flush=True)
        results["model"] = embedder.info.model_id
        engine = TagEngine(library.conn, embedder.info.model_id, embedder.info.backend, lambda: embedder)
        matrix = engine.matrix()
        paths = PhotoStore(library.conn).paths_by_id(matrix.ids.tolist())
        name_of = {int(pid): Path(p).name for pid, p in paths.items()}
        id_of = {n: pid for pid, n in name_of.items()}
        names = [name_of[int(i)] for i in matrix.ids]

        # (1) captions as search queries
        t0 = time.perf_counter()
        ranks = []
        for n in names:
            for cap in captions.captions[n]:
                hits = text_search(matrix, embedder.embed_query(cap), 10, engine.scorer)
                ranks.append(ranks_of_own(hits, id_of[n]))
        r = np.array(ranks)
        recall = {f"R@{k}": round(float(np.mean(r < k)), 4) for k in (1, 5, 10)}
        results["text_to_image"] = {"queries": len(r), **recall}
        print(f"(1) text -> image over {len(names)} photos, {len(r)} captions: "
              + "  ".join(f"{k} {v:.3f}" for k, v in recall.items())
              + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)

        # today's bridge on the same stored vectors, for comparison
        from photomgr.core.library.vectors import VectorStore
        from photomgr.core.models.text_bridge import TextBridge

        stored = VectorStore(library.conn).matrix(embedder.info.model_id)
        assert stored.label is not None and np.array_equal(stored.ids, matrix.ids)
        bridge = TextBridge(cache_dir=library.paths.cache_dir / "text_bridge")
        own_rows = []
        texts = []
        for i, n in enumerate(names):
            for cap in captions.captions[n]:
                texts.append(cap)
                own_rows.append(i)
        vecs = bridge.encode(texts)
        old_ranks = []
        for j, v in enumerate(vecs):
            s = stored.label @ bridge.weights_for_embedding(v)
            old_ranks.append(int((s > s[own_rows[j]]).sum()))
        ro = np.array(old_ranks)
        old_recall = {f"R@{k}": round(float(np.mean(ro < k)), 4) for k in (1, 5, 10)}
        results["text_to_image_bridge"] = old_recall
        print("    today's bridge: " + "  ".join(f"{k} {v:.3f}" for k, v in old_recall.items()))

        # (2) everyday words as labels
        existing = {lab.name for lab in engine.labels.all()}
        for w in EVERYDAY_WORDS:
            if w not in existing:
                engine.labels.add(w)
        labels = [lab for lab in engine.labels.all() if lab.name in EVERYDAY_WORDS]
        _, table = engine.score_table(labels)
        rows = []
        for j, lab in enumerate(labels):
            truth = np.array([any(caption_has(lab.name, c) for c in captions.captions[n]) for n in names])
            if truth.sum() == 0:
                continue
            ap_new = average_precision(table[:, j], truth)
            ap_old = average_precision(stored.label @ bridge.weights([lab.name]), truth)
            frac, prec, n_tagged = tagged_stats(table[:, j], truth, engine.threshold(lab))
            rows.append({"word": lab.name, "photos": int(truth.sum()), "ap": round(ap_new, 4),
                         "ap_bridge": round(ap_old, 4), "tagged": round(frac, 4), "precision": round(prec, 4),
                         "n_tagged": n_tagged})
        print(f"(2) {'word':10s} {'photos':>6s} {'AP':>6s} {'bridge':>6s} {'tagged':>7s} {'prec.':>6s}")
        for row in sorted(rows, key=lambda x: -x["photos"]):
            print(f"    {row['word']:10s} {row['photos']:6d} {row['ap']:6.3f} {row['ap_bridge']:6.3f} "
                  f"{row['tagged']:7.1%} {row['precision']:6.1%}")
        m_new = float(np.mean([x["ap"] for x in rows]))
        m_old = float(np.mean([x["ap_bridge"] for x in rows]))
        print(f"    mAP {m_new:.3f} (today's bridge {m_old:.3f}) over {len(rows)} words")
        results["words"] = rows
        results["words_map"] = round(m_new, 4)
        results["words_map_bridge"] = round(m_old, 4)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
