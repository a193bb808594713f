"""Temporary files for atomic replaces that end up with the permissions of any new file.

tempfile.mkstemp creates its file 0600, and os.replace keeps that: a library's derived files
(thumbnails, the label-space cache, the CLIP text extract) would then be unreadable to another
user who shares the library, while library.db and the FAISS index honour the umask. Creating
the file with mode 0666 lets the kernel apply the umask, with no os.umask() round trip (which
would change the umask of every thread for a moment).

A writer that is killed before its rename leaves its temporary file behind; `hold` and
`remove_stale` let the next writer remove such files without touching one still being written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)


def make_temp(folder: Path, prefix: str, suffix: str = ".tmp") -> tuple[int, str]:
    """Like tempfile.mkstemp(dir=folder, prefix=..., suffix=...): an open descriptor and the
    path of a new file only we created (O_EXCL), but made with the umask's permissions."""
    for _ in range(100):
        path = os.path.join(folder, f"{prefix}{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(path, _FLAGS, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


# A temporary file left by a killed writer (never renamed into place) is removed once it is
# this old and no live process holds it (`hold`). The age only matters where the lock cannot
# tell: in the moment between creating a file and locking it, and on file systems without locks.
STALE_AFTER_S = 3600.0
_NO_LOCKS = {errno.ENOLCK, errno.EINVAL, errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)}


def hold(fd: int) -> None:
    """Mark a temporary file as being written by a live process, until `fd` is closed: an
    exclusive flock, which the kernel drops when the process dies, so a killed writer's file
    is free to remove. Keep `fd` open until the file is renamed into place."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # no locks on this file system: the age alone decides
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_stale(folder: Path, prefix: str, suffix: str = ".tmp", older_than: float = STALE_AFTER_S) -> int:
    """Remove the temporary files PREFIX*SUFFIX in `folder` that killed writers left: older
    than `older_than` seconds and held by no live process. Returns how many went."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(suffix)):
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove: leave it
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= older_than and _remove_unheld(entry.path):
                removed += 1
    return removed


def _remove_unheld(path: str) -> bool:
    if fcntl is None:  # Windows: a file another process has open cannot be removed there
        os.unlink(path)
        return True
    # Opened for writing: where flock is emulated with record locks (NFS), an exclusive one
    # needs a writable descriptor. Nothing is written.
    fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it (suspended, or just slow)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
        os.unlink(path)  # while holding the lock: no writer can take it meanwhile
        return True
    finally:
        os.close(fd)
