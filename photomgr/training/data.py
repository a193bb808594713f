"""Any folder of photos plus a captions CSV (`image,caption`), split deterministically.

The trainer knows nothing about Flickr8k: a permissively licensed set with the same two-column
CSV replaces it by pointing --images/--captions (or PHOTOMGR_CAPTIONS_DIR) elsewhere.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "PHOTOMGR_CAPTIONS_DIR"
DEFAULT_DATA_DIRS = (Path("/work/data/flickr8k"), Path("../data/flickr8k"))
SPLIT_SEED = 8091
TEST_PHOTOS = 1000  # held out: never trained on, never used to fit a constant
VAL_PHOTOS = 800  # for fitting constants (temperature, fusion weights, thresholds)


class DataMissing(Exception):
    """The captioned photos are not on this machine; the message says where they were sought."""


@dataclass(frozen=True)
class CaptionSet:
    root: Path  # the images folder
    images: list[str]  # file names, sorted
    captions: dict[str, list[str]]  # file name -> its captions, in file order


@dataclass(frozen=True)
class Split:
    train: list[str]
    val: list[str]
    test: list[str]


def data_dir(explicit: Path | None = None) -> Path:
    """The folder holding images/ and captions.txt: argument, $PHOTOMGR_CAPTIONS_DIR, or defaults."""
    candidates = [explicit] if explicit else []
    if os.environ.get(DATA_ENV):
        candidates.append(Path(os.environ[DATA_ENV]))
    candidates += list(DEFAULT_DATA_DIRS)
    for c in candidates:
        if c is not None and (c / "images").is_dir() and (c / "captions.txt").is_file():
            return c
    tried = ", ".join(str(c) for c in candidates if c is not None)
    raise DataMissing(f"captioned photos not found (looked for images/ and captions.txt in {tried}); "
                      f"see docs/training.md for how to get them, or set {DATA_ENV}")


def read_captions(images: Path, captions_csv: Path) -> CaptionSet:
    """Parse the CSV with the csv module (captions contain quoted commas); keep present files."""
    caps: dict[str, list[str]] = {}
    with captions_csv.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"image", "caption"} <= set(reader.fieldnames):
            raise ValueError(f"{captions_csv}: expected a header with columns image,caption")
        for row in reader:
            text = (row["caption"] or "").strip()
            if text:
                caps.setdefault(row["image"].strip(), []).append(text)
    present = sorted(name for name in caps if (images / name).is_file())
    return CaptionSet(images, present, {name: caps[name] for name in present})


def split(names: list[str], seed: int = SPLIT_SEED, test: int = TEST_PHOTOS, val: int = VAL_PHOTOS) -> Split:
    """A fixed shuffle of the sorted names: the first `test` are test, the next `val` validation."""
    order = sorted(names)
    random.Random(seed).shuffle(order)
    return Split(train=sorted(order[test + val:]), val=sorted(order[test:test + val]),
                 test=sorted(order[:test]))
