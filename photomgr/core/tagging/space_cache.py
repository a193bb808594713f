"""The photos' scoring space, kept on disk between processes.

`photo_label_space` (core/models/spaces.py) derives each photo's scoring row from its stored
vectors; for the default model that is [stored label | image head(image) | 1 | 0], and the head
is a product over the whole library: 0.17 s of `photomgr labels list`'s 0.67 s at 2,944 photos,
paid again by every command that scores. What it derives depends only on a photo's stored
vectors and on the model's files, so it is kept here, per vector row, and a command computes
only the rows it has not seen:

- A row is keyed by its `embeddings` rowid. Vectors are written only by `VectorStore.put_many`,
  which gives every row a rowid never used before (not SQLite's max + 1, which comes round
  again after the newest row is deleted), undo of Move to Trash puts a row back with its own
  rowid, and a photo that is deleted, missing or failed leaves the matrix; so a changed vector
  is never served stale, whichever process wrote it. No counter has to be bumped by every writer.
- The file is keyed by the model id, the schema version, photomgr's version and the heads
  file's size and mtime (new heads change the space without touching a vector).
- Only the derived columns are stored: those after the stored label columns when the space
  starts with them (checked on the rows computed, not assumed), else the whole row.

Rows not in the file are computed and the file is rewritten atomically; a library the user may
not write (or a damaged cache file) just computes, as before. Models whose scoring space is a
stored column (CLIP: the image vector; `photo_label_space` hands back its input) need no file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photomgr.core.models.spaces import photo_label_space
from photomgr.core.tempfiles import hold, make_temp, remove_stale

CACHE_FORMAT = 1
SUFFIX = ".npz"
TMP_PREFIX = ".space-"  # make_temp's files: .space-<random>.tmp until renamed to KEY.npz


def model_files() -> list[Path]:
    """Files besides the vectors that the scoring space is derived from (the trained heads)."""
    from photomgr.core.models.heads import HEADS_NAME
    from photomgr.core.models.resources import resources_dir

    return [resources_dir() / HEADS_NAME]


def cache_key(model_id: str, schema: int) -> str:
    from photomgr import __version__
    from photomgr.core.models.heads import read_stamp

    files = []
    for path in model_files():
        loaded = read_stamp(path)  # the heads this process scores with, if it has loaded them
        if loaded is not None:
            files.append((str(path), *loaded))
            continue
        try:
            st = path.stat()
            files.append((str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            files.append((str(path), -1, -1))
    text = repr((CACHE_FORMAT, model_id, schema, __version__, files))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


@dataclass(frozen=True)
class _Stored:
    rowids: np.ndarray  # (M,) int64
    derived: np.ndarray  # (M, K) float32
    after_label: bool  # True: a row is [stored label | derived]; False: a row is `derived`


def _read(path: Path) -> _Stored | None:
    """The file's rows, or None when it is missing, damaged or not one this module wrote.

    The file is untrusted input: a killed process, a full disk or a bad sector can leave any
    bytes (a cut zip raises zipfile.BadZipFile, a flipped bit "Bad CRC-32", and numpy's
    reader more besides), so every failure to read it is a miss, never an error: the rows are
    computed again and the file rewritten."""
    try:
        with np.load(path, allow_pickle=False) as z:
            raw_rowids, derived, flag = z["rowids"], z["derived"], z["after_label"]
            if raw_rowids.ndim != 1 or flag.shape != () or flag.dtype != np.bool_ \
                    or not np.issubdtype(raw_rowids.dtype, np.integer):
                return None
            rowids = np.asarray(raw_rowids, np.int64)
            after_label = bool(flag)
    except Exception:  # see above: whatever the bytes, a miss
        return None
    if derived.dtype != np.float32 or derived.ndim != 2 or len(derived) != len(rowids):
        return None
    return _Stored(rowids, derived, after_label)


def _write(folder: Path, key: str, stored: _Stored) -> None:
    """Atomic replace; the files of other keys go (another model, older heads), and so do the
    temporary files of writers killed before their rename (never one a live writer holds)."""
    with contextlib.suppress(OSError):  # a read-only library: the next command computes again
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = make_temp(folder, TMP_PREFIX)
        try:
            hold(fd)  # until the rename: another process's remove_stale leaves it alone
            with os.fdopen(fd, "wb", closefd=False) as fh:
                np.savez(fh, rowids=stored.rowids, derived=stored.derived,
                         after_label=np.bool_(stored.after_label))
            if os.name == "nt":  # Windows renames no open file (and has no flock to keep)
                os.close(fd)
                fd = -1
            os.replace(tmp, folder / f"{key}{SUFFIX}")
        except BaseException:
            if fd != -1:  # Windows removes no open file: close before the unlink
                os.close(fd)
                fd = -1
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        finally:
            if fd != -1:
                os.close(fd)
        for other in folder.glob(f"*{SUFFIX}"):
            if other.name != f"{key}{SUFFIX}":
                with contextlib.suppress(OSError):
                    other.unlink()
        remove_stale(folder, TMP_PREFIX)


def _split(space: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, bool]:
    """The columns of `space` not read straight from `label`, and whether it starts with them."""
    width = label.shape[1]
    if space.shape[1] >= width and np.array_equal(space[:, :width], label):
        return np.ascontiguousarray(space[:, width:]), True
    return np.ascontiguousarray(space), False


class PhotoSpaceCache:
    """`photo_label_space` for a whole library's matrix, with the derived rows kept in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.computed_rows = 0  # rows computed by the last call (for tests and benches)

    def space(self, model_id: str, schema: int, rowids: np.ndarray, image: np.ndarray,
              label: np.ndarray | None) -> np.ndarray | None:
        """The (N, L) scoring space of these rows, as `photo_label_space` computes it."""
        self.computed_rows = len(rowids)
        if label is None or len(rowids) == 0:
            return photo_label_space(model_id, image, label)
        key = cache_key(model_id, schema)
        rowids = np.asarray(rowids, np.int64)
        stored = _read(self.folder / f"{key}{SUFFIX}")
        if stored is None:
            return self._fresh(model_id, key, rowids, image, label)
        return self._merge(model_id, key, stored, rowids, image, label)

    def _merge(self, model_id: str, key: str, stored: _Stored, rowids: np.ndarray,
               image: np.ndarray, label: np.ndarray) -> np.ndarray | None:
        if np.array_equal(stored.rowids, rowids):  # the usual case: nothing changed
            self.computed_rows = 0
            return self._assemble(stored.derived, stored.after_label, label)
        order = np.argsort(stored.rowids, kind="stable")
        sorted_rows = stored.rowids[order]
        pos = np.minimum(np.searchsorted(sorted_rows, rowids), max(len(sorted_rows) - 1, 0))
        found = (sorted_rows[pos] == rowids) if len(sorted_rows) else np.zeros(len(rowids), bool)
        missing = np.flatnonzero(~found)
        self.computed_rows = len(missing)
        derived = np.empty((len(rowids), stored.derived.shape[1]), np.float32)
        derived[found] = stored.derived[order[pos[found]]]
        if len(missing):
            part_label = label[missing]
            part = photo_label_space(model_id, image[missing], part_label)
            if part is None or part is part_label:
                return part if part is None else label
            new, after_label = _split(part, part_label)
            if after_label != stored.after_label or new.shape[1] != derived.shape[1]:
                return self._fresh(model_id, key, rowids, image, label)  # the file is another shape
            derived[missing] = new
        if len(missing) or int(found.sum()) != len(stored.rowids):
            _write(self.folder, key, _Stored(rowids, derived, stored.after_label))
        return self._assemble(derived, stored.after_label, label)

    @staticmethod
    def _assemble(derived: np.ndarray, after_label: bool, label: np.ndarray) -> np.ndarray:
        if not after_label:
            return derived
        out = np.empty((len(label), label.shape[1] + derived.shape[1]), np.float32)
        out[:, :label.shape[1]] = label
        out[:, label.shape[1]:] = derived
        return out

    def _fresh(self, model_id: str, key: str, rowids: np.ndarray, image: np.ndarray,
               label: np.ndarray) -> np.ndarray | None:
        self.computed_rows = len(rowids)
        space = photo_label_space(model_id, image, label)
        if space is None or space is label:
            return space  # a stored column is the space: nothing to keep
        derived, after_label = _split(space, label)
        _write(self.folder, key, _Stored(rowids, derived, after_label))
        return space
