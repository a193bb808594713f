"""Category words -> every ImageNet class below them in WordNet (the derived table in resources/).

ImageNet-1k's classes are WordNet noun synsets. A label that names a category ("dog", "vehicle",
"flower") means all the classes under that synset: "dog" is 118 breeds, not the 5 class names
whose text happens to be closest. The table (synset, hypernyms, names with sense ranks) is
derived once by photomgr/training/derive_hierarchy.py; no WordNet is needed at run time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from photomgr.core.models.resources import resources_dir

TABLE_NAME = "imagenet_hierarchy.tsv"
# A word's sense must be among its MAX_RANK commonest WordNet senses to count: "face" has a rare
# sense "a dial's face" that would otherwise send every clock to the label "face".
MAX_RANK = 2
_ARTICLE = re.compile(r"^(a|an|the|some)\s+")
_IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child",
              "mice": "mouse", "geese": "goose", "teeth": "tooth", "feet": "foot"}


@dataclass(frozen=True)
class Node:
    synset: str
    parents: tuple[str, ...]
    names: tuple[tuple[str, int], ...]  # (lower-case lemma, sense rank)


def normalise(text: str) -> str:
    t = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    return _ARTICLE.sub("", t)


def singular_forms(word: str) -> list[str]:
    """The word and the singulars it may be a plural of (tried in this order)."""
    forms = [word]
    last = word.rsplit(" ", 1)
    head, tail = (last[0] + " ", last[1]) if len(last) == 2 else ("", last[0])
    if tail in _IRREGULAR:
        forms.append(head + _IRREGULAR[tail])
    if tail.endswith("ies") and len(tail) > 4:
        forms.append(head + tail[:-3] + "y")
    if tail.endswith("es") and len(tail) > 3:
        forms.append(head + tail[:-2])
    if tail.endswith("s") and not tail.endswith("ss") and len(tail) > 3:
        forms.append(head + tail[:-1])
    return forms


class Hierarchy:
    """Which of the 1000 classes (in classifier order) lie under a word's synset."""

    def __init__(self, nodes: Sequence[Node], classes: Sequence[str]) -> None:
        self.classes = list(classes)
        index = {s: i for i, s in enumerate(self.classes)}
        by_synset = {n.synset: n for n in nodes}
        missing = [s for s in self.classes if s not in by_synset]
        if missing:
            raise ValueError(f"hierarchy table lacks {len(missing)} classes, e.g. {missing[:3]}")
        below: dict[str, set[int]] = {}
        for s in self.classes:  # every class counts for itself and all its ancestors
            stack, seen = [s], set()
            while stack:
                cur = stack.pop()
                if cur in seen:
                    continue
                seen.add(cur)
                below.setdefault(cur, set()).add(index[s])
                stack.extend(by_synset[cur].parents if cur in by_synset else ())
        self._below = {k: np.array(sorted(v), np.int64) for k, v in below.items()}
        self._by_name: dict[str, list[tuple[int, str]]] = {}
        for n in nodes:
            for name, rank in n.names:
                self._by_name.setdefault(name, []).append((rank, n.synset))

    def synset_for(self, text: str) -> str | None:
        """The synset a label text names (its commonest sense in the table), or None."""
        for form in singular_forms(normalise(text)):
            found = [(rank, -len(self._below.get(s, ())), s) for rank, s in self._by_name.get(form, [])
                     if rank <= MAX_RANK]
            if found:
                return min(found)[2]
        return None

    def classes_under(self, synset: str) -> np.ndarray:
        """Indices of the classes at or below a synset."""
        return self._below.get(synset, np.zeros(0, np.int64))

    def lookup(self, text: str) -> np.ndarray | None:
        """Class indices a label text covers, or None when it names no synset in the table."""
        syn = self.synset_for(text)
        return None if syn is None else self.classes_under(syn)


def read_table(path: Path) -> list[Node]:
    nodes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        synset, parents, names = line.split("\t")
        pairs = []
        for item in names.split("|"):
            name, _, rank = item.rpartition(":")
            pairs.append((normalise(name), int(rank)))
        nodes.append(Node(synset, tuple(parents.split()), tuple(pairs)))
    return nodes


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load(path: str, classes: tuple[str, ...]) -> Hierarchy:
    return Hierarchy(read_table(Path(path)), classes)


def load_hierarchy(classes: Sequence[str], path: Path | None = None) -> Hierarchy:
    """The shipped table for these classes (synset ids in classifier order); cached."""
    with _lock:
        return _load(str(path or resources_dir() / TABLE_NAME), tuple(classes))
