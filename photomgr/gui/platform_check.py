"""Before Qt loads: are the system libraries it needs installed?

PySide6's wheels carry Qt itself but not the system libraries it links: OpenGL/EGL, fontconfig,
GLib, xkbcommon, and for the X11 (xcb) platform plugin a dozen xcb-util libraries. On a bare
Debian machine the first missing one surfaces either as an ImportError deep inside PySide6
("libEGL.so.1: cannot open shared object file", a traceback) or as Qt's own abort with
"xcb-cursor0 or libxcb-cursor0 is needed", whatever is actually missing. So we try to load each
library ourselves, before anything imports PySide6, and print the one apt-get line that installs
exactly the missing ones. This module must not import Qt.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Callable, Mapping

# shared library -> the Debian/Ubuntu package that ships it (Debian 12 names; apt maps them
# to Ubuntu 24.04's "t64" renames). From `ldd` of PySide6 6.11's libQt6Core/Gui/Widgets
# (checked on a debootstrapped Debian 12, docs/packaging.md).
GUI_LIBRARIES: dict[str, str] = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",  # libQt6Gui links libQt6DBus
}
# ... and of the X11 platform plugin (libqxcb.so, libQt6XcbQpa.so).
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}

# Not a library: fontconfig's configuration. Without it no font is found and every letter is
# drawn as a box. Installing libfontconfig1 brings it (and a font), but the desktop bundle
# carries its own libfontconfig, so a bare machine running the bundle lacks it.
FONT_CONFIG = ("/etc/fonts/fonts.conf", "fontconfig-config")


def _unloadable(name: str) -> str | None:
    """None when `name` loads; else the file that did not: `name` or a library it needs.

    The desktop bundle carries libX11 and the xcb-util libraries but not libxcb.so.1, which
    they all need: on a bare machine each fails to load because of that one file, and naming
    each one's own package would ask for fifteen packages where one is missing.
    """
    try:
        ctypes.CDLL(name)
    except OSError as exc:
        # glibc: "libxcb.so.1: cannot open shared object file: ..."; in the PyInstaller bundle that
        # message is the __cause__ of PyInstaller's own "Failed to load dynlib/dll" error.
        for error in (exc, exc.__cause__):
            found = re.match(r"\s*([^\s:]+\.so[.\d]*): cannot open shared object file", str(error))
            if found:
                return os.path.basename(found.group(1))
        return name
    return None


def uses_xcb(environ: Mapping[str, str] | None = None) -> bool:
    """Will Qt pick its xcb (X11) plugin? Only then are the xcb libraries needed."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    # Unset: Qt 6 prefers Wayland when a Wayland session is running, X11 otherwise.
    return not env.get("WAYLAND_DISPLAY") and bool(env.get("DISPLAY"))


def missing_qt_libraries(unloadable: Callable[[str], str | None] | None = None,
                         environ: Mapping[str, str] | None = None,
                         is_file: Callable[[str], bool] = os.path.isfile) -> list[str]:
    """Debian package names of the libraries (and font set-up) Qt will need and cannot find."""
    unloadable = _unloadable if unloadable is None else unloadable
    env = os.environ if environ is None else environ
    needed = dict(GUI_LIBRARIES)
    if uses_xcb(env):
        needed.update(XCB_LIBRARIES)
    known = {**GUI_LIBRARIES, **XCB_LIBRARIES}
    packages: list[str] = []
    for library, package in needed.items():
        missing = unloadable(library)
        if missing is not None:
            package = known.get(missing, package)  # a library it needs, when we know its package
            if package not in packages:
                packages.append(package)
    font_config = env.get("FONTCONFIG_FILE") or FONT_CONFIG[0]
    if not is_file(font_config):
        packages.append(FONT_CONFIG[1])
    return packages


def install_line(packages: list[str]) -> str:
    return "sudo apt-get install " + " ".join(packages)


def missing_libraries_message(packages: list[str]) -> str:
    return ("photomgr: error: the window cannot open: Qt needs system libraries that are not "
            f"installed ({', '.join(packages)}).\nInstall them with:\n    {install_line(packages)}\n"
            "(The command line works without them: photomgr --help.)")


def launch_problem() -> str | None:
    """The message to print instead of opening the window, or None when Qt can start.

    Call it before importing anything from PySide6: a missing GUI library fails that import.
    """
    missing = missing_qt_libraries()
    return missing_libraries_message(missing) if missing else None
