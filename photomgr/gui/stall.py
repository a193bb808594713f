"""StallMonitor: how long the GUI thread went without running its event loop.

A QTimer ticking every `interval_ms` on the GUI thread; any gap between ticks beyond the
interval is time the event loop was blocked (a slow slot, a long paint, the GIL held by a
worker). Used by the GUI tests and by the indexing benchmarks.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot


class StallMonitor(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.gaps_over_100ms = 0

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self._last = time.perf_counter()
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.gaps_over_100ms = 0

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @property
    def max_stall_ms(self) -> float:
        """The longest time the event loop was blocked beyond one timer interval."""
        return max(0.0, self.max_gap_ms - self.interval_ms)

    @Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0
        self._last = now
        self.ticks += 1
        self.max_gap_ms = max(self.max_gap_ms, gap)
        if gap > 100.0:
            self.gaps_over_100ms += 1

    def summary(self) -> str:
        return (f"max GUI gap {self.max_gap_ms:.0f} ms over {self.ticks} ticks "
                f"({self.gaps_over_100ms} gaps > 100 ms)")
