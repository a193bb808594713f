"""A photo's sidecars, and everything one photo says about its keywords.

Both naming conventions are read: `IMG_1.jpg.xmp` (darktable, digiKam, photomgr's default) and
`IMG_1.xmp` (Lightroom, Capture One; shared by a RAW+JPEG pair, which is what they mean), with
`.xmp` in any letter case. Each folder is listed once (`SidecarFinder`), so looking for sidecars
costs no extra system call per photo.

A photo's *signature* records the photo's size and mtime and each sidecar's name and mtime:
keywords are re-read only when it changes (a sidecar edited by another tool changes it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from photomgr.core.xmp.embedded import read_embedded
from photomgr.core.xmp.naming import BASE_NAMING, EXT_NAMING, NAMINGS
from photomgr.core.xmp.parse import MAX_PACKET, XmpData, XmpError, combine, parse_packet

__all__ = ["BASE_NAMING", "EXT_NAMING", "NAMINGS"]  # re-exported: their home is naming.py


def sidecar_path(photo: Path, naming: str = EXT_NAMING) -> Path:
    """Where photomgr writes the photo's sidecar under `naming`."""
    if naming == BASE_NAMING:
        return photo.with_suffix(".xmp")
    if naming != EXT_NAMING:
        raise ValueError(f"unknown sidecar naming {naming!r} (use {' or '.join(NAMINGS)})")
    return photo.with_name(photo.name + ".xmp")


def is_sidecar(path: Path) -> bool:
    return path.suffix.lower() == ".xmp"


class SidecarFinder:
    """Sidecars of photos, from one listing per folder (name -> mtime_ns, lower-cased names)."""

    def __init__(self) -> None:
        self._folders: dict[str, dict[str, tuple[str, int]]] = {}

    def _listing(self, folder: str) -> dict[str, tuple[str, int]]:
        found = self._folders.get(folder)
        if found is None:
            found = {}
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name.lower().endswith(".xmp"):
                            try:
                                if entry.is_file():
                                    found[entry.name.lower()] = (entry.name, entry.stat().st_mtime_ns)
                            except OSError:
                                continue
            except OSError:
                pass
            self._folders[folder] = found
        return found

    def sidecars(self, photo: Path) -> list[tuple[Path, int]]:
        """(path, mtime_ns) of the photo's sidecars: base name first, then name.ext.xmp."""
        listing = self._listing(str(photo.parent))
        out: list[tuple[Path, int]] = []
        for candidate in (photo.stem + ".xmp", photo.name + ".xmp"):
            hit = listing.get(candidate.lower())
            if hit is not None and all(p.name != hit[0] for p, _ in out):
                out.append((photo.parent / hit[0], hit[1]))
        return out

    def saw(self, path: Path) -> None:
        """`path` was just written (by photomgr): its listing entry takes its new mtime."""
        listing = self._listing(str(path.parent))
        try:
            listing[path.name.lower()] = (path.name, path.stat().st_mtime_ns)
        except OSError:
            listing.pop(path.name.lower(), None)

    def forget(self, folder: Path) -> None:
        self._folders.pop(str(folder), None)


@dataclass(frozen=True)
class PhotoKeywords:
    data: XmpData
    problems: tuple[str, ...] = ()  # unreadable sidecars or packets, for the user
    # A sidecar could not be read (another tool half-way through saving it, a damaged file):
    # `data` lacks what it says, so nothing may be taken back for its absence.
    incomplete: bool = False


def signature(size: int, mtime_ns: int, sidecars: list[tuple[Path, int]]) -> str:
    parts = [f"{size}:{mtime_ns}"] + [f"{p.name}:{m}" for p, m in sidecars]
    return "|".join(parts)


def read_sidecar(path: Path) -> XmpData:
    with open(path, "rb") as f:
        data = f.read(MAX_PACKET + 1)
    return parse_packet(data)


def read_photo(photo: Path, sidecars: list[tuple[Path, int]]) -> PhotoKeywords:
    """The photo's embedded keywords united with its sidecars' (a sidecar's description wins)."""
    embedded, problem = read_embedded(photo)
    problems = [f"{photo.name}: {problem}"] if problem else []
    parts = [embedded]
    incomplete = False
    for path, _ in sidecars:
        try:
            parts.append(read_sidecar(path))
        except (OSError, XmpError) as exc:
            problems.append(f"{path.name}: {exc}")
            incomplete = True
    return PhotoKeywords(combine(parts), tuple(problems), incomplete)
