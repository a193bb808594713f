"""Keep libtiff's own messages off the terminal.

Pillow decodes compressed TIFFs with libtiff, whose default warning and error handlers print to
the process's stderr ("tempfile.tif: WEBP compression support is not configured.",
"TIFFFetchNormalTag: ... tag is not read from file"): `photomgr index` of Pillow's test images
printed ~390 such lines among its own output. They add nothing: a TIFF that fails still raises in
Pillow, and its reason goes into the scan's error list like any other bad file.

Best effort, once per process: the libtiff that Pillow's C extension loaded is found (on Linux in
/proc/self/maps, else next to Pillow or by name) and its handlers set to none. Where libtiff is
linked into Pillow itself (Windows wheels) or cannot be found, nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os

_done = False


def _loaded_libtiff() -> str | None:
    """The path of the libtiff already mapped into this process, if it can be told."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "libtiff" in os.path.basename(path):
                    return path
    except OSError:
        pass
    import PIL

    beside = glob.glob(os.path.join(os.path.dirname(PIL.__file__), os.pardir, "pillow.libs", "libtiff*"))
    return beside[0] if beside else ctypes.util.find_library("tiff")


def quiet_libtiff() -> bool:
    """Silence libtiff's stderr handlers (after PIL.Image is imported); True if it was done."""
    global _done
    if _done:
        return True
    from PIL import Image  # noqa: F401 - loads Pillow's C extension, and libtiff with it

    path = _loaded_libtiff()
    if path is None:
        return False
    try:
        lib = ctypes.CDLL(path)  # the library already loaded: dlopen hands back the same one
        for name in ("TIFFSetWarningHandler", "TIFFSetErrorHandler"):
            setter = getattr(lib, name)
            setter.restype = ctypes.c_void_p
            setter.argtypes = [ctypes.c_void_p]
            setter(None)
    except (OSError, AttributeError):  # not a libtiff after all, or without these symbols
        return False
    _done = True
    return True
