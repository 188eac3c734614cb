"""SIGINT (Ctrl-C) and SIGTERM (a scheduler's time limit) stop a run cleanly, every time.

:func:`handling` makes both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``) in the
main thread, so ``with``/``finally`` blocks remove temporary files and release locks. Python
swallows an exception raised while it runs a weakref callback or a ``__del__`` ("Exception
ignored in ..."), which made Ctrl-C look ignored; the signal is therefore also recorded, and
long loops call :func:`check`, which raises it again at the next safe point.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "check", "handling"]

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
    again by :func:`check`); every other report goes to the hook that was in place."""
    if isinstance(unraisable.exc_value, Interrupted):
        return
    _previous_hook[0](unraisable)


_previous_hook = [sys.unraisablehook]


@contextmanager
def handling() -> Iterator[None]:
    """Route SIGINT and SIGTERM to :class:`Interrupted` inside the block (main thread only) and
    restore the previous handlers after it."""
    global _received
    _received = None
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    for sig in before:
        signal.signal(sig, _handler)
    if hook is not _quiet_unraisable:
        _previous_hook[0] = hook
        sys.unraisablehook = _quiet_unraisable
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook
        _received = None


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived (call at safe points of long loops)."""
    if _received is not None:
        raise Interrupted(_received)
