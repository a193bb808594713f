"""Evaluation on real photos (skips without ../shared/photos): Find similar's first result for
each Caltech-101 Faces_easy photo must be its uncropped Faces twin, for at least 90% of pairs,
and no result that is not a verified copy may show a score of 1.000; Duplicates must group at
least 40% of the pairs (crops: vector cosine 0.75-0.94, under its 0.95 cut) and never put two
different Faces photos in one group.

Every Faces and Faces_easy photo of the dev split (the hard confounders: other shots of the same
people in the same rooms) is indexed into a temporary library with the real offline default
model, through the app's own indexing, index and Find similar code. The photos are read in
place; nothing is copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photomgr.core.library.database import Library
from photomgr.core.library.vectors import VectorStore
from photomgr.core.models.registry import load_embedder
from photomgr.core.search.similar import find_similar
from photomgr.core.services.indexing import index_folders
from photomgr.core.services.near_copies import library_copy_check, library_duplicates
from photomgr.core.services.vector_index import load_or_build_index

TARGET = 0.90
# Measured 14/30 on this Faces-only library (0/30 before: crops' cosines are under 0.95); in
# this library a crop's nearest neighbour is often another shot of the same person, which the
# check rightly rejects, so fewer pairs are proposed than in a mixed library (11/15, 4c).
DUPLICATES_TARGET = 0.4


@pytest.mark.shared
def test_faces_easy_finds_its_uncropped_twin_first(shared_photos: Path, tmp_path: Path) -> None:
    source = shared_photos / "caltech101-dev"
    if not (source / "Faces_easy").is_dir() or not (source / "Faces").is_dir():
        pytest.skip(f"Caltech-101 faces not found in {source}")
    embedder = load_embedder("default")
    with Library(tmp_path / "library") as library:
        result = index_folders(library, [source / "Faces", source / "Faces_easy"], embedder=embedder)
        assert result.embed.embedded == result.scan.photos > 0
        model_id = embedder.info.model_id
        index = load_or_build_index(library.conn, library.paths.index_dir, model_id)
        assert index is not None
        matrix = VectorStore(library.conn).matrix(model_id)
        id_of = {path: pid for pid, path in library.conn.execute("SELECT id, path FROM photos")}
        pairs = hits = shown_one = 0
        misses = []
        for path, pid in sorted(id_of.items()):
            twin = id_of.get(path.replace("/Faces_easy/", "/Faces/"))
            if "/Faces_easy/" not in path or twin is None:
                continue
            pairs += 1
            vector = matrix.image[np.searchsorted(matrix.ids, pid)]
            copies = library_copy_check(library.conn, library.paths.thumbnails)
            found = find_similar(index, pid, vector, 10, copies=copies)
            if found and found[0][0] == twin:
                hits += 1
            else:
                misses.append(Path(path).name)
            verified = copies.copies_of(pid, [p for p, _ in found])
            shown_one += sum(f"{s:.3f}" == "1.000" and p not in verified for p, s in found)
        groups = library_duplicates(library.conn, library.paths.thumbnails, matrix.ids, matrix.image, index)
        name_of = {pid: Path(path).name for path, pid in id_of.items()}
        grouped = sum(any(id_of[p] in g and id_of.get(p.replace("/Faces_easy/", "/Faces/")) in g
                          for g in groups) for p in id_of if "/Faces_easy/" in p)
        mixed = [g for g in groups if len({name_of[p] for p in g}) > 1]
    assert pairs >= 10, f"only {pairs} Faces/Faces_easy pairs found"
    assert hits / pairs >= TARGET, f"twin first for {hits}/{pairs}; missed {misses}"
    assert shown_one == 0, f"{shown_one} results that are not verified copies show 1.000"
    assert grouped / pairs >= DUPLICATES_TARGET, f"Duplicates grouped {grouped}/{pairs} pairs"
    assert not mixed, f"groups of different photos: {[[name_of[p] for p in g] for g in mixed]}"
