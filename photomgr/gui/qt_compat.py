"""Detect a PySide6 build that corrupts Python's reference counts (PySide6 6.12.0 on Python 3.11).

PySide6 6.12.0 hands out None, True and False without taking a reference to them (it treats
them as immortal, which they are only from Python 3.12 on): `Signal.emit()` returns True,
and an invalid QVariant comes back as None, each time dropping a reference the caller never
got. On Python 3.11 a window dies within seconds with "Fatal Python error: bool_dealloc"
(or none_dealloc). PySide6 6.11.x is fine. `broken_pyside()` lets the app refuse to start
with a clear message, and the GUI tests skip with one, instead of aborting the process.
"""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QObject, Signal

FIX_HINT = "install a working release: pip install 'PySide6-Essentials>=6.7,<6.12'"


class _Probe(QObject):
    ping = Signal()


def broken_pyside() -> str | None:
    """A one-line reason when this PySide6 drops references on emit(); None when it is fine."""
    probe = _Probe()
    probes = 16
    deltas = []
    for _ in range(3):  # the median shrugs off another thread touching True meanwhile
        before = sys.getrefcount(True)
        for _ in range(probes):
            probe.ping.emit()
        deltas.append(sys.getrefcount(True) - before)
    if sorted(deltas)[1] > -probes // 2:
        return None
    # Give back what the probe took, so that calling this check is itself harmless.
    import ctypes

    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None
    for _ in range(-sum(deltas)):
        incref(True)
    return (f"PySide6 {PySide6.__version__} corrupts reference counts on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} and would crash the window; {FIX_HINT}")
