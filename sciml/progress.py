"""Progress of long work: a tqdm bar on a terminal, a plain line every N percent otherwise.

A batch job's log has no terminal, so a bar would be silent there (or fill the log with carriage
returns); :class:`Progress` prints ``"simulate ks1d: 30% (1920/6400 step), 12 s"`` to stderr at
every ``every`` percent instead, which is what a scheduler log should show.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

__all__ = ["Progress"]


class Progress:
    """Count work done out of ``total``; a bar on a terminal, else lines every ``every`` percent.

    Args:
      total: units of work in all.
      desc: what is being done (the line's prefix).
      unit: the unit's name (singular).
      every: percent between two lines without a terminal (0 disables the lines).
      initial: units already done (a resumed run).
      enabled: False prints nothing at all (e.g. processes other than 0).
      stream: where lines go (default ``sys.stderr``).
    """

    def __init__(
        self,
        total: int,
        *,
        desc: str,
        unit: str = "step",
        every: float = 10.0,
        initial: int = 0,
        enabled: bool = True,
        stream=None,
    ):
        self.total, self.desc, self.unit, self.every = int(total), desc, unit, float(every)
        self.stream = sys.stderr if stream is None else stream
        self.n = int(initial)
        self._start = time.perf_counter()
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = tqdm(
            total=self.total,
            initial=self.n,
            desc=desc,
            unit=unit,
            dynamic_ncols=True,
            file=self.stream,
            disable=not (enabled and tty),
        )
        self._lines = enabled and not tty and self.every > 0 and self.total > 0
        self._next = self._threshold(self.n)

    def _threshold(self, n: int) -> float:
        done = 100.0 * n / self.total if self.total else 100.0
        return (int(done // self.every) + 1) * self.every

    def update(self, count: int = 1) -> None:
        self.set(self.n + int(count))

    def set(self, n: int, **postfix) -> None:
        """Move to ``n`` units done (``postfix``: values shown after the bar, e.g. loss)."""
        if not self.bar.disable:
            self.bar.update(n - self.bar.n)
            if postfix:
                self.bar.set_postfix(**postfix, refresh=False)
        self.n = int(n)
        if not self._lines:
            return
        percent = 100.0 * self.n / self.total
        if percent + 1e-9 >= self._next or self.n >= self.total:
            extra = "".join(f", {k} {v}" for k, v in postfix.items())
            elapsed = time.perf_counter() - self._start
            print(
                f"{self.desc}: {percent:.0f}% ({self.n}/{self.total} {self.unit}){extra}, "
                f"{elapsed:.0f} s",
                file=self.stream,
                flush=True,
            )
            self._next = self._threshold(self.n)
            if self.n >= self.total:
                self._lines = False

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
