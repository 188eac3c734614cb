"""SIGINT (Ctrl-C) and SIGTERM (a scheduler's time limit) stop a run cleanly, every time.

:func:`install` makes both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``) in the
main thread, so ``with``/``finally`` blocks remove temporary files and release locks. Python
swallows an exception raised while it runs a weakref callback or a ``__del__`` ("Exception
ignored in ..."), which made Ctrl-C look ignored; the signal is therefore also recorded, and
long loops call :func:`check`, which raises it again at the next safe point.
"""

from __future__ import annotations

import signal
import sys
import threading

__all__ = ["Interrupted", "check", "install"]

_received: int | None = None


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signum`` is SIGINT or SIGTERM."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def _handler(signum, frame) -> None:
    global _received
    _received = signum
    raise Interrupted(signum)


def _quiet_unraisable(unraisable) -> None:
    """Drop the "Exception ignored" report of a swallowed :class:`Interrupted` (it is raised
    again by :func:`check`); every other report goes to the previous hook."""
    if isinstance(unraisable.exc_value, Interrupted):
        return
    _previous_hook(unraisable)


_previous_hook = sys.unraisablehook


def install() -> bool:
    """Route SIGINT and SIGTERM to :class:`Interrupted` (main thread only; returns whether it did)."""
    global _received
    _received = None
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    if sys.unraisablehook is not _quiet_unraisable:
        sys.unraisablehook = _quiet_unraisable
    return True


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived (call at safe points of long loops)."""
    if _received is not None:
        raise Interrupted(_received)
