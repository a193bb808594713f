"""Recursive folder walk that reports problems instead of raising them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.library.paths import is_library_folder


@dataclass(frozen=True)
class FileEntry:
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class WalkProblem:
    """A folder or file the walk could not read; the walk goes on without it."""

    path: Path
    reason: str


def walk(roots: list[Path], *, skip: set[Path] | None = None) -> Iterator[FileEntry | WalkProblem]:
    """Yield every regular file below `roots` (a root may itself be a file).

    Symbolic links to folders are not followed (they can loop, and the target is usually
    scanned on its own); hidden folders are skipped, and so is any photomgr library folder
    (its thumbnails are not photos). `skip` holds folders never to enter, such as the
    library folder itself.
    """
    skip = skip or set()
    seen_files: set[str] = set()
    for root in roots:
        try:
            st = root.stat()
        except OSError as exc:
            yield WalkProblem(root, f"cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISREG(st.st_mode):
            if str(root) not in seen_files:
                seen_files.add(str(root))
                yield FileEntry(root, st.st_size, st.st_mtime_ns)
            continue
        yield from _walk_dir(root, skip, seen_files)


def _walk_dir(root: Path, skip: set[Path], seen_files: set[str]) -> Iterator[FileEntry | WalkProblem]:
    stack = [root]
    while stack:
        folder = stack.pop()
        if folder in skip:
            continue
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield WalkProblem(folder, f"cannot read folder: {exc.strerror or exc}")
            continue
        if is_library_folder(folder, {e.name for e in entries}):
            continue  # another photomgr library kept among the photos: thumbnails, not photos
        subfolders: list[Path] = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        subfolders.append(Path(entry.path))
                    continue
                if not entry.is_file(follow_symlinks=True):
                    continue
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                yield WalkProblem(Path(entry.path), "vanished during the scan")
                continue
            except OSError as exc:
                yield WalkProblem(Path(entry.path), f"cannot read: {exc.strerror or exc}")
                continue
            if entry.path in seen_files:  # overlapping roots: report each file once
                continue
            seen_files.add(entry.path)
            yield FileEntry(Path(entry.path), st.st_size, st.st_mtime_ns)
        # Reverse so the stack pops folders in name order: stable, predictable output.
        stack.extend(reversed(subfolders))
