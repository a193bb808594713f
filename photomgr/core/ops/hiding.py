"""Hide photos from the gallery and bring them back: "keep one, hide the rest" of duplicates.

A hidden photo is a library state (table hidden_photos), not a file operation: the original
stays where it is, and Unhide (or Ctrl+Z in the window) shows it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from photomgr.core.library import hidden
from photomgr.core.library.transaction import write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.library_ops import LibraryOps


def hide_photos(ops: LibraryOps, photo_ids: Sequence[int]) -> OpResult[list[int]]:
    """Hide `photo_ids`; the value is the ids newly hidden (what an undo unhides)."""
    with write_transaction(ops.conn, ops.library.wait) as rev:
        new = hidden.hide(ops.conn, list(photo_ids))
    return OpResult(new, OpChanges(rev, photos=frozenset(new)))


def unhide_photos(ops: LibraryOps, photo_ids: Sequence[int]) -> OpResult[None]:
    with write_transaction(ops.conn, ops.library.wait) as rev:
        hidden.unhide(ops.conn, list(photo_ids))
    return OpResult(None, OpChanges(rev, photos=frozenset(photo_ids)))
