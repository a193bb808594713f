"""Before Qt starts: are the X11 libraries its xcb platform plugin needs installed?

Qt's own message when one is missing ("xcb-cursor0 or libxcb-cursor0 is needed", whatever is
actually missing, then an abort) sends people after the wrong package. We try to load each
library ourselves and print the one apt-get line that installs all of them.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

# shared library -> the Debian/Ubuntu package that ships it
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
INSTALL_LINE = "sudo apt-get install " + " ".join(XCB_LIBRARIES.values())


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """Will Qt pick its xcb (X11) plugin? Only then are these libraries needed."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    # Unset: Qt 6 prefers Wayland when a Wayland session is running, X11 otherwise.
    return not env.get("WAYLAND_DISPLAY") and bool(env.get("DISPLAY"))


def missing_qt_libraries(loads: Callable[[str], bool] = _loads,
                         environ: dict[str, str] | None = None) -> list[str]:
    """Debian package names of the X11 libraries Qt will need and cannot load (none: fine)."""
    if not uses_xcb(environ):
        return []
    return [package for library, package in XCB_LIBRARIES.items() if not loads(library)]


def missing_libraries_message(packages: list[str]) -> str:
    return ("photomgr: error: the window cannot open: Qt needs system libraries that are not "
            f"installed ({', '.join(packages)}).\nInstall them with:\n    {INSTALL_LINE}\n"
            "(The command line works without them: photomgr --help.)")
