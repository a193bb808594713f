"""Where photomgr's shipped files live: icons, the desktop entry, trained model files.

The repository's top-level `resources/` folder travels three ways, and this is the one place
that knows them all:
- a PyInstaller bundle: copied to `<bundle>/_internal/resources` (sys._MEIPASS);
- an installed wheel: packaged as `photomgr/_resources` (pyproject maps the folder there);
- a source checkout or editable install: `resources/` next to the `photomgr` package.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_ID = "io.github.photomgr.photomgr"  # the desktop entry's and AppStream's id
_PACKAGE = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding the shipped resources; FileNotFoundError when none is found."""
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [Path(bundle) / "resources"] if bundle else []
    candidates += [_PACKAGE / "_resources", _PACKAGE.parent / "resources"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise FileNotFoundError("photomgr's resources folder is missing (looked in: "
                            + ", ".join(str(c) for c in candidates) + "); reinstall photomgr")


def resource_path(name: str) -> Path:
    """The path of one shipped file, e.g. `resource_path("icons/photomgr.svg")`.

    Raises FileNotFoundError naming the file when it is absent, so a missing model file is
    reported as such rather than as a failed load of some other path.
    """
    path = resources_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"photomgr resource {name!r} is missing ({path}); reinstall photomgr")
    return path


def icon_files() -> list[Path]:
    """The application icon's PNG sizes, smallest first (an empty list if none are shipped)."""
    try:
        folder = resources_dir() / "icons"
    except FileNotFoundError:
        return []
    return sorted(folder.glob("photomgr-*.png"), key=lambda p: int(p.stem.rpartition("-")[2]))
