"""Progress on long work: a rich bar on a terminal, a line per tenth of the work in logs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

QUIET_S = 2.0  # work that ends sooner than this prints no progress lines


class ProgressBar:
    """A rich progress bar as a context manager yielding an ``update(done, total)`` callback.

    Without a terminal (logs, CI) it prints one line per tenth of the work instead.
    """

    def __init__(self, enabled: bool, label: str) -> None:
        self.tty = sys.stderr.isatty()
        self.enabled, self.label = enabled and self.tty, label
        self.lines = enabled and not self.tty

    def _line_updates(self) -> Callable[[int, int], None]:
        start, shown = time.perf_counter(), [-1]

        def update(done: int, total: int) -> None:
            if total <= 0:
                return
            block = done * 10 // total
            elapsed = time.perf_counter() - start
            quick = elapsed < QUIET_S and shown[0] < 0  # cache hits stay silent
            if block == shown[0] or done == 0 or quick:
                return
            shown[0] = block
            eta = elapsed / max(done, 1) * (total - done)
            tail = f", ETA {eta:.0f} s" if done < total else ""
            print(f"  {self.label}: {done}/{total} ({elapsed:.0f} s{tail})", file=sys.stderr,
                  flush=True)

        return update

    def __enter__(self) -> Callable[[int, int], None]:
        if self.lines:
            return self._line_updates()
        if not self.enabled:
            return lambda done, total: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=None)

        def update(done: int, total: int) -> None:
            self._bar.update(self._task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()
