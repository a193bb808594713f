"""Find similar, text search and duplicates: the read operations over vectors.

The CLI (`photomgr similar`, `search`, `duplicates`) and the GUI's worker both call these;
answers are `Hit`s (id, score, path, hash), so a view can draw results without another query.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photomgr.core.library import descriptions, gallery
from photomgr.core.library.errors import LibraryError
from photomgr.core.ops.results import Hit, PhotoSet
from photomgr.core.search.duplicate_threshold import DUPLICATE_THRESHOLD

if TYPE_CHECKING:
    from photomgr.core.index.vector_index import VectorIndex
    from photomgr.core.models.base import TextEncoder
    from photomgr.core.services.tagging import TagEngine

SEARCH_K = 200  # results a text search looks at
WEAK_SHOWN = 24  # matches below the tag threshold shown after the strong ones (a clear divider)
WEAK = "weak"  # the caption prefix of those
TEXT = "text"  # the caption mark of a photo whose description, name or folder holds the words


class NotReady(LibraryError):
    """The library has no vectors for the active model yet; the message is for the user."""


class SearchOps:
    def __init__(self, conn: sqlite3.Connection, index_dir: Path, thumbnails_dir: Path | None = None) -> None:
        self.conn = conn
        self.index_dir = index_dir
        self.thumbnails_dir = thumbnails_dir  # None: Find similar skips the near-copy check
        self._index: VectorIndex | None = None

    def invalidate(self) -> None:
        """Vectors changed (indexing, a model switch): rebuild or reload the index on next use."""
        self._index = None

    def index(self, model_id: str) -> VectorIndex:
        from photomgr.core.services.vector_index import load_or_build_index

        if self._index is None or self._index.model_id != model_id:
            self._index = load_or_build_index(self.conn, self.index_dir, model_id)
        if self._index is None:
            raise NotReady("no photo has a vector yet: add a folder and let it finish embedding")
        return self._index

    def hits(self, pairs: list[tuple[int, float]]) -> list[Hit]:
        """(id, score) pairs -> Hits with path and hash, in the same order (unknown ids dropped)."""
        found = gallery.paths_and_hashes(self.conn, [pid for pid, _ in pairs])
        return [Hit(pid, float(score), *found[pid]) for pid, score in pairs if pid in found]

    def similar(self, engine: TagEngine | None, photo_id: int, k: int) -> list[Hit]:
        from photomgr.core.search.similar import find_similar

        if engine is None:
            raise NotReady("Find similar needs embedded photos: add a folder and let it finish embedding")
        got = engine.vectors.get(photo_id, engine.model_id)
        if got is None:
            raise NotReady("this photo has no vector yet (it is still being embedded, or it could not "
                           "be read)")
        copies = None
        if self.thumbnails_dir is not None:
            from photomgr.core.services.near_copies import library_copy_check

            copies = library_copy_check(self.conn, self.thumbnails_dir)
        return self.hits(find_similar(self.index(engine.model_id), photo_id, got[0], k, copies=copies))

    def text_hits(self, engine: TagEngine | None, encoder: TextEncoder, query: str, k: int) -> list[Hit]:
        """The `k` photos that best match a text query, best first: by meaning and by the words
        of their descriptions, file names and folders, in one ranking (core/search/combined.py).
        A hit whose text holds the query's words has `text_match`."""
        from photomgr.core.search.combined import fuse, semantic_ranks
        from photomgr.core.search.similar import text_search

        if engine is None:
            raise NotReady("search needs embedded photos: add a folder and let it finish embedding")
        if not query.strip():
            raise ValueError("search text is empty")
        matrix = engine.matrix()
        vector = encoder.embed_query(query)
        pool = max(k, SEARCH_K)
        semantic = text_search(matrix, vector, pool, engine.scorer)
        words = [pid for pid, _ in descriptions.text_matches(self.conn, query, pool)]
        # A text match far down the order by meaning still has its rank and score there.
        fused = fuse(semantic, words, semantic_ranks(matrix, vector, engine.scorer, words), k,
                     worst=len(matrix))
        hits = self.hits([(f.photo_id, f.score) for f in fused])
        matched = {f.photo_id for f in fused if f.text_match}
        return [replace(h, text_match=h.photo_id in matched) for h in hits]

    def text(self, engine: TagEngine | None, encoder: TextEncoder, query: str, k: int = SEARCH_K) -> PhotoSet:
        """The photos that match `query` as strongly as a tag would (score at or above the tag
        threshold) or hold its words (captioned "text"), then at most WEAK_SHOWN weaker ones,
        captioned "weak": never a fixed 200."""
        found = self.text_hits(engine, encoder, query, k)
        cut = engine.scorer.default_threshold if engine is not None else 0.5
        strong = [h for h in found if h.score >= cut or h.text_match]
        weak = [h for h in found if h.score < cut and not h.text_match][:WEAK_SHOWN]
        ids = np.asarray([h.photo_id for h in strong + weak], dtype=np.int64)
        captions = {h.photo_id: f"{h.score:.2f} {TEXT}" if h.text_match else f"{h.score:.2f}"
                    for h in strong}
        captions.update({h.photo_id: f"{WEAK} {h.score:.2f}" for h in weak})
        n = len(strong)
        by_text = sum(1 for h in strong if h.text_match)
        title = (f"{n:,} strong match{'' if n == 1 else 'es'} for “{query}”" if n
                 else f"No strong match for “{query}”")
        if by_text:
            title += f" ({by_text:,} by their words, marked “{TEXT}”)"
        if weak:
            title += f"; then the {len(weak)} next closest, marked “{WEAK}”"
        return PhotoSet("search", query, ids, captions, title)

    def duplicates(self, engine: TagEngine | None, threshold: float = DUPLICATE_THRESHOLD) -> PhotoSet:
        from photomgr.core.services.near_copies import library_duplicates

        if engine is None:
            raise NotReady("duplicates need embedded photos: add a folder and let it finish embedding")
        matrix = engine.matrix()
        index = self.index(engine.model_id) if len(matrix.ids) else None
        groups = library_duplicates(self.conn, self.thumbnails_dir, matrix.ids, matrix.image, index,
                                    threshold)
        ordered = [pid for g in groups for pid in g]
        captions = {pid: f"#{n}" for n, g in enumerate(groups, start=1) for pid in g}
        title = (f"{len(groups):,} group{'' if len(groups) == 1 else 's'} of duplicates "
                 f"({len(ordered):,} photo{'' if len(ordered) == 1 else 's'})")
        return PhotoSet("duplicates", threshold, np.asarray(ordered, dtype=np.int64), captions, title)
