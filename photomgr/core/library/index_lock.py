"""One indexing run per library at a time, across processes.

Two `photomgr index` runs (or the window and a terminal) scanning one library would decode and
embed the same photos twice. The run that comes second waits for the first (with a message),
or fails at once with LibraryBusy when the caller asks it not to wait. The lock is an OS file
lock (flock): it is released when its holder exits, however it exits, so a killed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from photomgr.core.library.errors import LibraryBusy, LibraryError


class IndexLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None,
                cancelled: Callable[[], bool] | None = None,
                while_waiting: Callable[[], None] | None = None) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LibraryError(f"cannot create {self.path}: {exc.strerror}") from exc
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if not wait:
                    os.close(fd)
                    raise LibraryBusy(f"another photomgr{holder} is indexing this library; try again "
                                      "when it has finished (or leave out --no-wait to wait)") from None
                if not told and on_wait is not None:
                    on_wait(f"another photomgr{holder} is indexing this library; waiting for it "
                            "to finish")
                    told = True
                if cancelled is not None and cancelled():
                    os.close(fd)
                    raise LibraryBusy("stopped waiting for another indexing run") from None
                if while_waiting is not None:  # the window's worker answers clicks meanwhile
                    while_waiting()
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> IndexLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""
