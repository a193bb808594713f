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
or that is no longer in the trash, stays where it is and is reported; one still in the trash
stays in the memo with its rows, so that the next undo (after a redo) tries it again. Where the
library lists a file scanned in at that place since and gone from there again, that file's row
gives way to the photo put back (and the caller is told); the memo keeps that row, and the redo
puts it back, so Undo and Redo stay each other's inverse.

Nothing is lost when the library cannot be written (another program holds it, a full disk):
the files that moved go back where they came from before the error is raised.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from photomgr.core.file_moves import move_no_replace
from photomgr.core.library import photo_rows
from photomgr.core.library.labels import LabelStore
from photomgr.core.library.photos import PhotoStore
from photomgr.core.library.transaction import write_transaction
from photomgr.core.ops.changes import OpChanges, OpResult
from photomgr.core.ops.library_ops import LibraryOps

# Moves one file to the trash and returns its path in the trash (None: not known, so that file
# cannot be put back by undo); raises OSError when the file could not be moved.
MoveToTrash = Callable[[Path], Path | None]

TAKEN = "another file is in its place now"


@dataclass(frozen=True)
class Trashed:
    photo_ids: tuple[int, ...]  # moved to the trash and forgotten by the library
    failed: tuple[tuple[str, str], ...]  # (path, why) for files left where they were
    held: int = 0  # photos the memo now holds for undo (these, and any an earlier undo left)


@dataclass(frozen=True)
class TrashedFile:
    photo_id: int  # the id it had when trashed (a photo put back later may get a new one)
    path: str  # where it was (the library's path)
    in_trash: str | None  # where it went; None: unknown (or it was gone already)
    # Its library rows, for undo. Kept with the file, not by id: a memo can hold a photo still in
    # the trash and one trashed again after coming back under a new id, and both may carry the
    # same id (ids are reused), so rows looked up by id could be another photo's.
    rows: photo_rows.PhotoRows | None = None


@dataclass
class TrashMemo:
    """What trash_photos took away, for undo_trash (the GUI's worker thread only, like
    core/ops/tagging.py's Memo: filled by the operation, read back by its undo)."""

    done: bool = False
    files: list[TrashedFile] = field(default_factory=list)  # each with its library rows
    restored: list[int] | None = None  # what the last undo put back, under the ids it has now
    # Rows of entries that gave way to a photo put back (undo_trash); the redo returns them. The
    # file may only have been moved, and the redo is how its tags come back.
    set_aside: list[photo_rows.PhotoRows] = field(default_factory=list)

    def to_trash(self, asked: Sequence[int]) -> list[int]:
        """The ids a redo moves: those first asked, then those the last undo put back (a photo
        whose id a later scan took came back under a new one: the old id is another photo's);
        none while the memo still holds them all (the undo before failed: they are in the trash)."""
        if self.done:
            return []
        return list(asked) if self.restored is None else list(self.restored)


@dataclass(frozen=True)
class Restored:
    photo_ids: tuple[int, ...]  # back in place and in the library (a new id if one scanned in took it)
    failed: tuple[tuple[str, str], ...]  # (path, why) for files left in the trash (or rows not put back)
    kept: tuple[str, ...] = ()  # of `failed`, those still in the trash that the memo can retry
    # put back where the library listed a file that is gone from there: that file's row gave way
    replaced: tuple[str, ...] = ()


def trash_photos(ops: LibraryOps, photo_ids: Sequence[int], move_to_trash: MoveToTrash,
                 memo: TrashMemo | None = None) -> OpResult[Trashed]:
    memo = memo if memo is not None else TrashMemo()
    store = PhotoStore(ops.conn)
    moved: list[int] = []
    failed: list[tuple[str, str]] = []
    files: list[TrashedFile] = []
    labels_store = LabelStore(ops.conn)
    try:
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
        with write_transaction(ops.conn, ops.library.wait) as rev:
            labels = {d.label_id for pid in moved for d in labels_store.decisions_for_photo(pid)}
            rows = {r.photo_id: r for r in photo_rows.take(ops.conn, moved)}  # ids unique in one call
            store.forget(moved)
            # What the undo set aside returns now that its place is free again (still set aside
            # if another photo holds the place: one that could not go to the trash, say).
            still_aside, returned = [], []
            for aside in memo.set_aside:
                back_id = photo_rows.put_back(ops.conn, aside)
                if back_id is None:
                    still_aside.append(aside)
                else:
                    returned.append(back_id)
                    labels |= {d.label_id for d in labels_store.decisions_for_photo(back_id)}
            for label_id in labels:
                labels_store.touch(label_id)
    except Exception as exc:
        # The library still lists these photos: their files go back where it says they are.
        stuck = _put_back_all(files)
        if stuck:
            raise OSError(errno.EIO, f"{exc}; and {len(stuck)} file(s) could not be put back from the "
                          f"trash ({', '.join(stuck[:3])}): restore them from the desktop's trash") from exc
        raise
    # After the commit only: a failed write leaves the memo as it was (a retry still to do).
    files = [replace(item, rows=rows.get(item.photo_id)) for item in files]
    memo.files = [*memo.files, *files]  # with what an earlier undo could not put back
    memo.set_aside = still_aside
    memo.done = True
    ops.vectors_changed()  # scores and search forget them too
    return OpResult(Trashed(tuple(moved), tuple(failed), len(memo.files)),
                    OpChanges(rev, labels=frozenset(labels), photos=frozenset([*moved, *returned]),
                              vectors=bool(moved or returned)))


def _put_back_all(files: Sequence[TrashedFile]) -> list[str]:
    """Move every file back from the trash; the paths of those that could not be."""
    stuck: list[str] = []
    for item in files:
        if item.in_trash is None:
            continue  # it was gone already: nothing went to the trash
        try:
            _restore_file(item)
        except OSError:
            stuck.append(item.path)
    return stuck


def _restore_file(item: TrashedFile, *, forget_record: bool = True) -> None:
    """Move a file back from the trash to where it was; raises OSError (with why) if it cannot.
    `forget_record`: remove its freedesktop.org .trashinfo too (keep it while the move may
    still be taken back)."""
    if item.in_trash is None:
        raise OSError(errno.ENOENT, "where it went in the trash is not known; restore it from the "
                      "trash by hand", item.path)
    source, target = Path(item.in_trash), Path(item.path)
    if os.path.lexists(target):
        raise OSError(errno.EEXIST, TAKEN, item.path)
    if not os.path.lexists(source):
        raise OSError(errno.ENOENT, "it is no longer in the trash", item.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Not os.rename: a file that appears at the target after the check above (a sync
        # client, a camera import) would be replaced, and lost. This move refuses instead.
        move_no_replace(source, target)
    except FileExistsError:
        raise OSError(errno.EEXIST, TAKEN, item.path) from None
    if forget_record:
        _forget_record(item)


def _forget_record(item: TrashedFile) -> None:
    # freedesktop.org trash: files/NAME has its record in info/NAME.trashinfo; without the file
    # the record would list a ghost in the desktop's trash window.
    source = Path(item.in_trash or "")
    if source.parent.name == "files":
        info = source.parent.parent / "info" / f"{source.name}.trashinfo"
        with contextlib.suppress(OSError):
            info.unlink()


def _back_to_trash(item: TrashedFile) -> None:
    """Take back a _restore_file(forget_record=False) (its .trashinfo is still there)."""
    assert item.in_trash is not None
    with contextlib.suppress(OSError):
        move_no_replace(Path(item.path), Path(item.in_trash))


def undo_trash(ops: LibraryOps, memo: TrashMemo) -> OpResult[Restored]:
    """Put the files of a trash_photos back where they were, and their library rows with them."""
    if not memo.done:
        return OpResult(Restored((), ()))
    back: list[TrashedFile] = []
    failed: list[tuple[str, str]] = []
    kept: list[TrashedFile] = []  # still in the trash: the next undo tries again
    for item in memo.files:
        try:
            _restore_file(item, forget_record=False)
        except OSError as exc:
            failed.append((item.path, exc.strerror or str(exc)))
            if item.in_trash is not None and os.path.lexists(item.in_trash):
                kept.append(item)
        else:
            back.append(item)
    restored: list[int] = []
    replaced: list[tuple[str, int]] = []
    aside: list[photo_rows.PhotoRows] = []
    labels_store, store = LabelStore(ops.conn), PhotoStore(ops.conn)
    try:
        with write_transaction(ops.conn, ops.library.wait) as rev:
            gave_way: set[int] = set()  # labels of the rows that gave way (their counts change)
            for item in back:
                now = photo_rows.put_back(ops.conn, item.rows) if item.rows is not None else None
                if now is None and item.rows is not None and (stale := store.by_path(item.path)):
                    # The library lists another photo at its path: a file scanned in there
                    # since. That file is gone from there (the place was free when this one
                    # came back into it), and its row left in place would take this file over
                    # at the next scan, its tags with it, while this photo's own went. The row
                    # of the file that is gone gives way, in this same transaction.
                    gave_way |= {d.label_id for d in labels_store.decisions_for_photo(stale.id)}
                    aside.extend(photo_rows.take(ops.conn, [stale.id]))  # the redo returns them
                    store.forget([stale.id])
                    replaced.append((item.path, stale.id))
                    now = photo_rows.put_back(ops.conn, item.rows)
                if now is not None:  # its old id, or a new one if a photo scanned in since took it
                    restored.append(now)
                else:
                    failed.append((item.path, "the library holds another photo there now"))
            labels = gave_way | {d.label_id for pid in restored
                                 for d in labels_store.decisions_for_photo(pid)}
            for label_id in labels:
                labels_store.touch(label_id)
    except BaseException:
        # The library lists none of them: the files go back to the trash, and the memo keeps
        # them all for another try.
        for item in back:
            _back_to_trash(item)
        raise
    for item in back:
        _forget_record(item)
    memo.files = kept
    memo.restored = restored
    memo.set_aside = [*memo.set_aside, *aside]
    memo.done = False
    ops.vectors_changed()
    return OpResult(Restored(tuple(restored), tuple(failed), tuple(k.path for k in kept),
                             tuple(path for path, _ in replaced)),
                    OpChanges(rev, labels=frozenset(labels),
                              photos=frozenset([*restored, *(i for _, i in replaced)]),
                              vectors=bool(restored or replaced)))
