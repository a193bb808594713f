"""Temporary files for atomic replaces that end up with the permissions of any new file.

tempfile.mkstemp creates its file 0600, and os.replace keeps that: a library's derived files
(thumbnails, the label-space cache, the CLIP text extract) would then be unreadable to another
user who shares the library, while library.db and the FAISS index honour the umask. Creating
the file with mode 0666 lets the kernel apply the umask, with no os.umask() round trip (which
would change the umask of every thread for a moment).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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
