"""Keywords as training examples: Caltech-101 dev with 5 keywords per class in XMP sidecars.

    nice -n 5 python bench/eval_keywords.py [--photos ../shared/photos/caltech101-dev] [--seeds 3]

Builds a temporary folder of symbolic links to the photos (nothing is written into the test
photos), writes a sidecar `<name>.jpg.xmp` with dc:subject = the class name as a person types
it ("car side") for 5 random photos per class, and indexes the folder with the default model
through `index_folders` -- the path `photomgr index` takes, which reads the sidecars and turns
the keywords into labels with those photos confirmed (source 'keyword'). No label is added by
hand and nothing is confirmed by hand. Top-1 is then read from the app's tag scoring
(TagEngine.score_table, as `photomgr tags --all`) on every photo that carries no keyword.

Further seeds swap the sidecars for another 5 per class and re-read them with
`photomgr xmp read`'s operation (incremental: the old keyword confirmations are withdrawn).
Compare with bench/eval_tagging.py's "5 confirmed per label" row (87.1 %, 2026-12-02), where
the labels are added and the photos confirmed through the label/tag operations instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from photomgr.core.library.database import Library  # noqa: E402
from photomgr.core.library.keywords import KEYWORD  # noqa: E402
from photomgr.core.library.photos import PhotoStore  # noqa: E402
from photomgr.core.library.settings import Settings  # noqa: E402
from photomgr.core.ops.interop import InteropOps  # noqa: E402
from photomgr.core.services.indexing import index_folders  # noqa: E402
from photomgr.core.services.model_choice import ModelChoice, load_chosen  # noqa: E402
from photomgr.core.services.tagging import TagEngine  # noqa: E402

CLUTTER = "BACKGROUND_Google"
SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:subject><rdf:Bag><rdf:li>{}</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def link_tree(photos: Path, rows: list[tuple[str, str]], target: Path) -> dict[str, str]:
    """Symbolic links to every photo under `target`; returns link path -> class."""
    truth: dict[str, str] = {}
    for rel, label in rows:
        link = target / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((photos / rel).resolve())
        truth[str(link)] = label
    return truth


def pick(truth: dict[str, str], k: int, seed: int) -> dict[str, str]:
    """k random photos per class (never all of a class): link path -> keyword."""
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[str]] = {}
    for path, label in sorted(truth.items()):
        if label != CLUTTER:
            by_class.setdefault(label, []).append(path)
    chosen: dict[str, str] = {}
    for label, paths in sorted(by_class.items()):
        for i in rng.choice(len(paths), size=min(k, len(paths) - 1), replace=False):
            chosen[paths[int(i)]] = label.replace("_", " ")  # as a person types it
    return chosen


def write_sidecars(chosen: dict[str, str]) -> None:
    for path, keyword in chosen.items():
        Path(path + ".xmp").write_text(SIDECAR.format(escape(keyword)))


def top1(library: Library, engine: TagEngine, truth: dict[str, str]) -> tuple[float, int, int]:
    """(top-1 over photos with no keyword decision, photos evaluated, keyword decisions)."""
    engine.invalidate()
    labels, table = engine.score_table()
    col = {lab.name: j for j, lab in enumerate(labels)}
    ids = engine.matrix().ids
    paths = PhotoStore(library.conn).paths_by_id(ids.tolist())
    decided = {pid for (pid,) in library.conn.execute(
        "SELECT photo_id FROM tag_decisions WHERE source = ?", (KEYWORD,))}
    rows, want = [], []
    for r, pid in enumerate(ids.tolist()):
        label = truth.get(paths[pid])
        if label is None or label == CLUTTER or pid in decided:
            continue
        rows.append(r)
        want.append(col[label.replace("_", " ")])
    hits = table[np.asarray(rows)].argmax(axis=1) == np.asarray(want)
    return float(hits.mean()), len(rows), len(decided)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, default=REPO / ".." / "shared" / "photos" / "caltech101-dev")
    ap.add_argument("--k", type=int, default=5, help="photos per class carrying a keyword")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not args.photos.is_dir():
        print(f"SKIP: {args.photos} not found (the test photos live in ../shared/photos)")
        return 0
    with (args.photos / "labels.csv").open() as fh:
        rows = [(r["path"], r["label"]) for r in csv.DictReader(fh)]
    work = Path(tempfile.mkdtemp(prefix="photomgr-keywords-"))
    truth = link_tree(args.photos, rows, work / "photos")
    results: dict[str, object] = {"photos": len(truth), "k": args.k, "work": str(work)}
    with Library(work / "lib") as library:
        embedder = load_chosen(ModelChoice.read(Settings(library.conn)),
                               cache_dir=library.paths.cache_dir).embedder
        runs = []
        for seed in range(args.seeds):
            chosen = pick(truth, args.k, seed)
            for old in (work / "photos").rglob("*.xmp"):
                old.unlink()
            write_sidecars(chosen)
            t0 = time.perf_counter()
            if seed == 0:
                indexed = index_folders(library, [work / "photos"], embedder=embedder)
                assert indexed.keywords is not None
                report = indexed.keywords
                results["index_seconds"] = round(time.perf_counter() - t0, 1)
                results["model"] = embedder.info.model_id
                print(f"indexed {indexed.scan.photos} photos in {results['index_seconds']} s; "
                      f"{report.with_keywords} carry a keyword, {len(report.labels_added)} labels made "
                      f"from keywords", flush=True)
            else:
                report = InteropOps(library.conn).import_keywords([work / "photos"]).value
                print(f"seed {seed}: re-read {report.read} photos in {time.perf_counter() - t0:.1f} s "
                      f"({report.confirmed} confirmed, {report.withdrawn} withdrawn)", flush=True)
            engine = TagEngine(library.conn, embedder.info.model_id, embedder.info.backend,
                               lambda: embedder)
            acc, n, decided = top1(library, engine, truth)
            runs.append(acc)
            print(f"seed {seed}: {decided} photos confirmed by keyword; top-1 on the other {n}: "
                  f"{acc:.1%}", flush=True)
        results["top1_per_seed"] = [round(a, 4) for a in runs]
        results["top1_mean"] = round(float(np.mean(runs)), 4)
        results["top1_sd"] = round(float(np.std(runs)), 4)
        print(f"keywords, {args.k} per class: top-1 {np.mean(runs):.1%} ± {np.std(runs):.1%} "
              f"over {len(runs)} seeds", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
