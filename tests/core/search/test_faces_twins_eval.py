"""Evaluation on real photos (skips without ../shared/photos): Find similar's first result for
each Caltech-101 Faces_easy photo must be its uncropped Faces twin, for at least 90% of pairs.

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
from photomgr.core.services.near_copies import library_copy_check
from photomgr.core.services.vector_index import load_or_build_index

TARGET = 0.90


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
        pairs = hits = 0
        misses = []
        for path, pid in sorted(id_of.items()):
            twin = id_of.get(path.replace("/Faces_easy/", "/Faces/"))
            if "/Faces_easy/" not in path or twin is None:
                continue
            pairs += 1
            vector = matrix.image[np.searchsorted(matrix.ids, pid)]
            copies = library_copy_check(library.conn, library.paths.thumbnails)
            first = find_similar(index, pid, vector, 1, copies=copies)
            if first and first[0][0] == twin:
                hits += 1
            else:
                misses.append(Path(path).name)
    assert pairs >= 10, f"only {pairs} Faces/Faces_easy pairs found"
    assert hits / pairs >= TARGET, f"twin first for {hits}/{pairs}; missed {misses}"
