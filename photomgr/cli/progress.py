"""A one-line terminal progress bar (count, rate, time left). Silent when not a tty."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._shown = False

    def update(self, done: int, total: int, note: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and done != total:
            return  # redrawing faster than the eye can see only slows the scan
        self._last_draw = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        if total > 0:
            width = 30
            filled = int(width * done / total)
            left = (total - done) / rate if rate > 0 else 0.0
            line = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                    f"{rate:.1f}/s {_duration(left)} left")
        else:
            line = f"{self.label} {done} {note}"[:100]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
