"""A one-line terminal progress bar (count, rate, time left): tqdm, fed (done, total) callbacks.

The core reports progress as `callback(done, total)`; this adapts that to tqdm, which draws
nothing when the stream is not a terminal.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class ProgressBar:
    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None,
                 unit: str = "it", unit_scale: bool = False, min_interval: float = 0.1) -> None:
        from tqdm import tqdm  # imported here: most commands draw no bar

        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        # leave=False: the line is cleared at the end; the command prints its own summary
        self._bar: Any = tqdm(desc=label, total=None, file=self.stream, disable=not self.enabled,
                              leave=False, unit=unit, unit_scale=unit_scale, dynamic_ncols=True,
                              mininterval=min_interval)

    def update(self, done: int, total: int, note: str = "") -> None:
        if not self.enabled:
            return
        bar = self._bar
        if (total or None) != bar.total:
            bar.total = total or None  # 0 means "not known yet": count and rate, no bar
        if note and not total:
            bar.set_postfix_str(note[-60:], refresh=False)
        bar.update(done - bar.n)  # tqdm throttles redraws itself
        if total and done >= total:
            bar.refresh()  # the last step is always shown

    def close(self) -> None:
        self._bar.close()
