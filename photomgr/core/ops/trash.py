"""Move photos to the system trash, and the library forgets them: "keep one, trash the rest".

The files are never deleted: `move_to_trash` (the GUI's is Qt's QFile.moveToTrash, the desktop's
own trash) moves each one, and only a photo whose file went to the trash leaves the library.
A file that could not be moved (no trash on this platform or drive, permissions) stays where
it is, and in the library; the caller says why. Asking the user first is the caller's job.

Undo (`undo_trash`): a mover that returns where each file went in the trash makes the operation
undoable. The photos' library rows (and every row that cascades from them) are kept in the
`TrashMemo`; undo moves each file back to where it was (removing the freedesktop.org
`.trashinfo` beside it) and puts the rows back for the files that came back, so tags,
decisions, descriptions and vectors return as they were. A file whose old place is taken again,
or that is no longer in the trash, stays where it is and is reported.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photomgr.core.library import photo_rows
from photomgr.core.library.labels import LabelStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.transaction import write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.library_ops import LibraryOps

# Moves one file to the trash and returns its path in the trash (None: not known, so that file
# cannot be put back by undo); raises OSError when the file could not be moved.
MoveToTrash = Callable[[Path], Path | None]


@dataclass(frozen=True)
class Trashed:
    photo_ids: tuple[int, ...]  # moved to the trash and forgotten by the library
    failed: tuple[tuple[str, str], ...]  # (path, why) for files left where they were


@dataclass(frozen=True)
class TrashedFile:
    photo_id: int
    path: str  # where it was (the library's path)
    in_trash: str | None  # where it went; None: unknown (or it was gone already)


@dataclass
class TrashMemo:
    """What trash_photos took away, for undo_trash (the GUI's worker thread only, like
    core/ops/tagging.py's Memo: filled by the operation, read back by its undo)."""

    done: bool = False
    files: list[TrashedFile] = field(default_factory=list)
    rows: list[photo_rows.PhotoRows] = field(default_factory=list)


@dataclass(frozen=True)
class Restored:
    photo_ids: tuple[int, ...]  # back in place and in the library, as they were
    failed: tuple[tuple[str, str], ...]  # (path, why) for files left in the trash (or rows not put back)


def trash_photos(ops: LibraryOps, photo_ids: Sequence[int], move_to_trash: MoveToTrash,
                 memo: TrashMemo | None = None) -> OpResult[Trashed]:
    memo = memo if memo is not None else TrashMemo()
    store = PhotoStore(ops.conn)
    moved: list[int] = []
    failed: list[tuple[str, str]] = []
    files: list[TrashedFile] = []
    for photo_id, path in store.paths_by_id(photo_ids).items():
        try:
            went = move_to_trash(Path(path))
        except FileNotFoundError:  # already gone (deleted by hand): nothing to keep it for
            moved.append(photo_id)
            files.append(TrashedFile(photo_id, path, None))
        except OSError as exc:
            failed.append((path, exc.strerror or str(exc)))
        else:
            moved.append(photo_id)
            files.append(TrashedFile(photo_id, path, None if went is None else str(went)))
    labels_store = LabelStore(ops.conn)
    with write_transaction(ops.conn, ops.library.wait) as rev:
        labels = {d.label_id for pid in moved for d in labels_store.decisions_for_photo(pid)}
        memo.rows = photo_rows.take(ops.conn, moved)
        memo.files = files
        store.forget(moved)
        for label_id in labels:
            labels_store.touch(label_id)
    memo.done = True
    ops.saw(rev)
    ops.vectors_changed()  # scores and search forget them too
    return OpResult(Trashed(tuple(moved), tuple(failed)),
                    OpChanges(rev, labels=frozenset(labels), photos=frozenset(moved), vectors=bool(moved)))


def _restore_file(item: TrashedFile) -> None:
    """Move a file back from the trash to where it was; raises OSError (with why) if it cannot."""
    if item.in_trash is None:
        raise OSError(errno.ENOENT, "where it went in the trash is not known; restore it from the "
                      "trash by hand", item.path)
    source, target = Path(item.in_trash), Path(item.path)
    if os.path.lexists(target):
        raise OSError(errno.EEXIST, "another file is in its place now", item.path)
    if not os.path.lexists(source):
        raise OSError(errno.ENOENT, "it is no longer in the trash", item.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(source, target)  # a trash on another drive (Windows, some mounts)
    # freedesktop.org trash: files/NAME has its record in info/NAME.trashinfo; without the file
    # the record would list a ghost in the desktop's trash window.
    if source.parent.name == "files":
        info = source.parent.parent / "info" / f"{source.name}.trashinfo"
        with contextlib.suppress(OSError):
            info.unlink()


def undo_trash(ops: LibraryOps, memo: TrashMemo) -> OpResult[Restored]:
    """Put the files of a trash_photos back where they were, and their library rows with them."""
    if not memo.done:
        return OpResult(Restored((), ()))
    back: list[int] = []
    failed: list[tuple[str, str]] = []
    for item in memo.files:
        try:
            _restore_file(item)
        except OSError as exc:
            failed.append((item.path, exc.strerror or str(exc)))
        else:
            back.append(item.photo_id)
    rows = {r.photo_id: r for r in memo.rows}
    restored: list[int] = []
    labels_store = LabelStore(ops.conn)
    with write_transaction(ops.conn, ops.library.wait) as rev:
        for pid in back:
            if pid in rows and photo_rows.put_back(ops.conn, rows[pid]):
                restored.append(pid)
            else:  # scanned in again meanwhile: the file is back, the next scan has its row
                failed.append((next(f.path for f in memo.files if f.photo_id == pid),
                               "the library holds another photo there now"))
        labels = {d.label_id for pid in restored for d in labels_store.decisions_for_photo(pid)}
        for label_id in labels:
            labels_store.touch(label_id)
    memo.done = False
    ops.saw(rev)
    ops.vectors_changed()
    return OpResult(Restored(tuple(restored), tuple(failed)),
                    OpChanges(rev, labels=frozenset(labels), photos=frozenset(restored),
                              vectors=bool(restored)))
