"""A minimal text progress bar on stderr (no dependency), for chunked simulator loops."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Prints ``desc [#####.....]  45.0%  450/1000 unit  3.2 s, eta 4.0 s`` to ``stream``.

    On a terminal the line is redrawn in place (carriage return); otherwise one line is written
    per update, at most every ``min_interval`` seconds (plus the final one).
    """

    def __init__(self, total: int, desc: str = "", unit: str = "it", enabled: bool = True,
                 stream: TextIO | None = None, width: int = 30, min_interval: float = 1.0):
        self.total = max(int(total), 1)
        self.desc = desc
        self.unit = unit
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.min_interval = min_interval
        self.done = 0
        self.start = time.perf_counter()
        self._last = -float("inf")
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if enabled:
            self._draw(force=True)

    def update(self, n: int) -> None:
        if n <= 0:  # nothing new: do not print the same line again
            return
        self.done += int(n)
        if self.enabled:
            self._draw(force=self.done >= self.total)

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and not self._tty and now - self._last < self.min_interval:
            return
        self._last = now
        frac = min(self.done / self.total, 1.0)
        fill = int(round(frac * self.width))
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        line = (f"{self.desc} [{'#' * fill}{'.' * (self.width - fill)}] {100 * frac:5.1f}%  "
                f"{self.done:.3g}/{self.total:.3g} {self.unit}  {elapsed:.1f} s, eta {eta:.1f} s")
        self.stream.write(("\r" + line) if self._tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
