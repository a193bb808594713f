"""Move photos to the system trash, and the library forgets them: "keep one, trash the rest".

The files are never deleted: `move_to_trash` (the GUI's is Qt's QFile.moveToTrash, the desktop's
own trash) moves each one, and only a photo whose file went to the trash leaves the library.
A file that could not be moved (no trash on this platform or drive, permissions) stays where
it is, and in the library; the caller says why. Asking the user first is the caller's job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.library.labels import LabelStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.transaction import write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.library_ops import LibraryOps

MoveToTrash = Callable[[Path], None]  # raises OSError when the file could not be moved


@dataclass(frozen=True)
class Trashed:
    photo_ids: tuple[int, ...]  # moved to the trash and forgotten by the library
    failed: tuple[tuple[str, str], ...]  # (path, why) for files left where they were


def trash_photos(ops: LibraryOps, photo_ids: Sequence[int], move_to_trash: MoveToTrash) -> OpResult[Trashed]:
    store = PhotoStore(ops.conn)
    moved: list[int] = []
    failed: list[tuple[str, str]] = []
    for photo_id, path in store.paths_by_id(photo_ids).items():
        try:
            move_to_trash(Path(path))
        except FileNotFoundError:  # already gone (deleted by hand): nothing to keep it for
            moved.append(photo_id)
        except OSError as exc:
            failed.append((path, exc.strerror or str(exc)))
        else:
            moved.append(photo_id)
    labels_store = LabelStore(ops.conn)
    with write_transaction(ops.conn, ops.library.wait) as rev:
        labels = {d.label_id for pid in moved for d in labels_store.decisions_for_photo(pid)}
        store.forget(moved)
        for label_id in labels:
            labels_store.touch(label_id)
    ops.saw(rev)
    ops.vectors_changed()  # scores and search forget them too
    return OpResult(Trashed(tuple(moved), tuple(failed)),
                    OpChanges(rev, labels=frozenset(labels), photos=frozenset(moved), vectors=bool(moved)))
