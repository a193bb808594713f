"""LibraryOps: every user operation on one open library, for the CLI and the GUI's worker alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from photomgr.core.library import scan_state
from photomgr.core.library.database import Library
from photomgr.core.library.settings import Settings
from photomgr.core.library.transaction import others_version, revision, write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.describing import DescriptionOps
from photomgr.core.ops.searching import SearchOps
from photomgr.core.ops.tagging import TagOps

if TYPE_CHECKING:
    from photomgr.core.models.base import TextEncoder
    from photomgr.core.ops.interop import FolderRemoval, InteropOps


class LibraryOps:
    """The operations of one library: `tags` (labels, decisions, counts), `search`, `interop`
    and `descriptions`.

    Single-threaded by design: the GUI calls it from its worker thread only, the CLI from its
    main thread. Another process may write the same library in between; `sync()` notices that
    (SQLite's data_version, which only another connection's commits move) and drops what it
    had cached.
    """

    def __init__(self, library: Library) -> None:
        self.library = library
        self.conn = library.conn
        self.tags = TagOps(library.conn, library.wait, library.paths.cache_dir / "label_space")
        self.search = SearchOps(library.conn, library.paths.index_dir, library.paths.thumbnails)
        self.descriptions = DescriptionOps(library.conn, library.wait)  # a sentence per photo
        self._seen_others = others_version(library.conn)

    @cached_property
    def interop(self) -> InteropOps:
        """XMP keywords, sidecars, folders; made on first use, so that a command that touches no
        XMP (most of them) does not load the XMP readers and writers (xml.sax, urllib)."""
        from photomgr.core.ops.interop import InteropOps

        return InteropOps(self.library.conn, self.library.wait)

    @property
    def settings(self) -> Settings:
        return Settings(self.conn)

    def use_active_model(self, encoder: Callable[[], TextEncoder]) -> str | None:
        """Point tags and search at the active model's vectors; return its id (None: no vectors)."""
        from photomgr.core.services.model_choice import active_model_id

        model_id = active_model_id(self.settings)
        self.tags.use_model(model_id, encoder)
        self.search.invalidate()
        return model_id

    def remove_folder(self, folder: Path) -> OpResult[FolderRemoval]:
        """Photos under `folder` leave the library (files stay); scores and search forget them."""
        result = self.interop.remove_folder(folder)
        self.vectors_changed()
        return result

    def vectors_changed(self) -> None:
        """Photos or vectors changed (an index run): re-read them on next use."""
        self.tags.invalidate()
        self.search.invalidate()

    def sync(self) -> bool:
        """Drop caches if another connection wrote to the library since we last looked (True
        then); cheap: one pragma. Our own writes never count, however many transactions an
        operation or a scan takes, and never hide another process's write made in between
        (a revision counter compared with our last write did both)."""
        now = others_version(self.conn)
        changed = now != self._seen_others
        self._seen_others = now
        if changed:
            self.vectors_changed()
        return changed

    def record_scan_end(self, roots: Sequence[str], *, finished: bool) -> OpResult[list[str]]:
        """Remember that an index of `roots` stopped early (or clear that it did); returns the
        roots still unfinished. The window offers to resume them, also after a relaunch."""
        with write_transaction(self.conn, self.library.wait) as rev:
            scan_state.record_scan_end(self.conn, [str(r) for r in roots], finished=finished)
            left = scan_state.interrupted_roots(self.conn)
        return OpResult(left, OpChanges(rev))

    def library_revision(self) -> int:
        return revision(self.conn)

