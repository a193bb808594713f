"""Near-copy pairs for Find similar and duplicates evaluations, on Caltech-101 dev.

Two sources of (copy, original) pairs, both real photos:
  - the 30 ready-made Faces_easy/image_N (a tighter crop) and Faces/image_N pairs;
  - synthetic copies of other Caltech dev photos, made here at evaluation time into a work
    folder outside the repository (never committed): crops of 60-95% of each side at a random
    position, JPEG re-saves at quality 30-70, downscales to 40-80%, and crop + downscale.

The pairs are split by a fixed seed into a FIT half (every constant of Find similar and
duplicates is chosen on it) and a REPORT half (the numbers we publish). Indexing goes through
the app's own `index_folders` with the default model, so the library is the one a user gets.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from photomgr.core.library.database import Library
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.model_choice import LazyEmbedder, ModelChoice

SYNTHETIC = 150  # synthetic copies (50 crops, 40 re-saves, 30 downscales, 30 crop + downscale)
SPLIT_SEED = 11
KINDS = ["crop"] * 50 + ["resave"] * 40 + ["downscale"] * 30 + ["crop+downscale"] * 30


# Copies already inside Caltech dev (the same source pixels: re-framed, recoloured, edited, or
# pasted into a composite), judged by eye: every pair the near-copy check or Duplicates flagged
# outside the known pairs, in either half, was looked at, and these are copies, not confusions,
# so the evaluations count them as copies. Judged NOT copies (and counted as false positives):
# Motorbikes/image_0002 ~ image_0005 (another bike in another colour, same catalogue pose).
KNOWN_COPIES = [
    ("cougar_body/image_0002.jpg", "cougar_body/image_0033.jpg"),
    ("yin_yang/image_0002.jpg", "yin_yang/image_0014.jpg"),
    ("crocodile_head/image_0024.jpg", "crocodile/image_0023.jpg"),  # a crop, across folders
    ("crocodile_head/image_0032.jpg", "crocodile/image_0034.jpg"),  # the head, cropped (Duplicates)
    ("crocodile_head/image_0008.jpg", "crocodile/image_0005.jpg"),
    ("stop_sign/image_0043.jpg", "stop_sign/image_0001.jpg"),
    ("metronome/image_0005.jpg", "metronome/image_0011.jpg"),
    ("metronome/image_0005.jpg", "metronome/image_0006.jpg"),
    ("hedgehog/image_0001.jpg", "hedgehog/image_0010.jpg"),
    ("hawksbill/image_0029.jpg", "hawksbill/image_0030.jpg"),
    ("stop_sign/image_0034.jpg", "stop_sign/image_0005.jpg"),
    ("platypus/image_0030.jpg", "platypus/image_0015.jpg"),
    ("snoopy/image_0021.jpg", "snoopy/image_0020.jpg"),
    ("gerenuk/image_0019.jpg", "gerenuk/image_0001.jpg"),
    ("crocodile/image_0026.jpg", "crocodile/image_0025.jpg"),
    ("metronome/image_0002.jpg", "metronome/image_0003.jpg"),
    ("menorah/image_0017.jpg", "menorah/image_0014.jpg"),
]


@dataclass(frozen=True)
class Pair:
    copy: str  # resolved path of the query photo (the crop / re-save)
    original: str  # resolved path of its original
    kind: str  # "faces" | "crop" | "resave" | "downscale" | "crop+downscale"


def caltech_root(shared: Path) -> Path:
    return shared / "caltech101-dev"


def class_of(root: Path) -> dict[str, str]:
    """Resolved path -> Caltech class, from labels.csv."""
    out = {}
    with (root / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            out[str((root / row["path"]).resolve())] = row["label"]
    return out


def _variant(image: Image.Image, kind: str, rng: random.Random) -> tuple[Image.Image, int]:
    """(the copy, its JPEG quality)."""
    img = image.convert("RGB")
    w, h = img.size
    if "crop" in kind:
        fw, fh = rng.uniform(0.60, 0.95), rng.uniform(0.60, 0.95)
        cw, ch = max(8, round(w * fw)), max(8, round(h * fh))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        img = img.crop((x, y, x + cw, y + ch))
    if "downscale" in kind:
        f = rng.uniform(0.40, 0.80)
        img = img.resize((max(8, round(img.width * f)), max(8, round(img.height * f))),
                         Image.Resampling.LANCZOS)
    quality = rng.randint(30, 70) if kind == "resave" else rng.randint(75, 95)
    return img, quality


def make_copies(root: Path, out: Path, n: int = SYNTHETIC, seed: int = 0) -> list[Pair]:
    """Write n synthetic copies of randomly chosen Caltech dev photos (not Faces, not
    BACKGROUND_Google) into `out`; deterministic, and files already there are reused."""
    classes = class_of(root)
    pool = sorted(p for p, c in classes.items()
                  if c not in ("Faces", "Faces_easy", "BACKGROUND_Google"))
    rng = random.Random(seed)
    originals = rng.sample(pool, n)
    kinds = (KINDS * (n // len(KINDS) + 1))[:n]
    out.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i, (original, kind) in enumerate(zip(originals, kinds, strict=True)):
        target = out / f"copy_{i:03d}_{kind.replace('+', '_')}.jpg"
        variant_rng = random.Random(seed * 100_003 + i)
        if not target.is_file():
            with Image.open(original) as im:
                copy, quality = _variant(im, kind, variant_rng)
            copy.save(target, "JPEG", quality=quality)
        pairs.append(Pair(str(target.resolve()), original, kind))
    return pairs


def faces_pairs(root: Path) -> list[Pair]:
    pairs = []
    for easy in sorted((root / "Faces_easy").glob("*.jpg")):
        twin = root / "Faces" / easy.name
        if twin.is_file():
            pairs.append(Pair(str(easy.resolve()), str(twin.resolve()), "faces"))
    return pairs


def split(pairs: list[Pair], seed: int = SPLIT_SEED) -> tuple[list[Pair], list[Pair]]:
    """(FIT, REPORT): a fixed-seed shuffle cut in half, stratified by kind so both halves hold
    Faces pairs and every kind of synthetic copy."""
    fit: list[Pair] = []
    report: list[Pair] = []
    for kind in sorted({p.kind for p in pairs}):
        group = [p for p in pairs if p.kind == kind]
        random.Random(f"{seed}-{kind}").shuffle(group)
        half = len(group) // 2
        fit += group[:half]
        report += group[half:]
    return fit, report


def build_library(shared: Path, workdir: Path) -> tuple[Library, list[Pair], dict[str, str]]:
    """Caltech dev plus the synthetic copies, indexed with the default model into
    workdir/library (reused when already indexed: index_folders only adds what is new).
    Returns the open library, all pairs, and path -> class (copies get their original's)."""
    root = caltech_root(shared)
    copies = make_copies(root, workdir / "copies")
    pairs = faces_pairs(root) + copies
    classes = class_of(root)
    for p in copies:
        classes[p.copy] = classes[p.original]
    library = Library(workdir / "library")
    # the default model, loaded only when something is new (a reused library needs none)
    index_folders(library, [root.resolve(), (workdir / "copies").resolve()],
                  model=LazyEmbedder(ModelChoice("default")))
    return library, pairs, classes


def copy_components(root: Path, pairs: list[Pair]) -> dict[str, set[str]]:
    """Path -> every path it is a copy of (pairs and KNOWN_COPIES, joined transitively)."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        parent.setdefault(a, a)
        while parent[a] != a:
            a = parent[a]
        return a

    links = [(p.copy, p.original) for p in pairs]
    links += [(str((root / a).resolve()), str((root / b).resolve())) for a, b in KNOWN_COPIES]
    for a, b in links:
        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = {}
    for a in list(parent):
        groups.setdefault(find(a), set()).add(a)
    return {a: groups[find(a)] - {a} for a in parent}


def ordinary_queries(paths: list[str], components: dict[str, set[str]], n: int,
                     seed: int = SPLIT_SEED) -> tuple[list[str], list[str]]:
    """(FIT, REPORT) halves of n random library photos that have no known copy."""
    pool = sorted(p for p in paths if p not in components)
    chosen = random.Random(f"{seed}-ordinary").sample(pool, min(n, len(pool)))
    return chosen[: len(chosen) // 2], chosen[len(chosen) // 2:]
