"""One helper for "this name must be one of these choices" (integrators, boundaries, kinds...).

The error is one line naming the argument, the valid choices, the value found and an example::

    integrator: expected one of euler, rk2, ssprk3, rk4, found 'rk5'; e.g. integrator='euler'

Imports nothing (the NumPy-only loader and every layer may use it; the zoo ``sciml.nn`` stays
free of sciml imports by contract and keeps its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def check_choice(value: T, choices: Iterable[T], *, name: str, hint: str = "") -> T:
    """Return ``value`` if it is one of ``choices``; else raise a one-line ``ValueError``.

    Args:
      value: the given name.
      choices: the valid names, in the order to list them.
      name: what the value is (the argument, config key or file field), starts the message.
      hint: replaces the default ``e.g. NAME=FIRST`` advice at the end of the message.
    """
    choices = list(choices)
    if value in choices:
        return value
    listed = ", ".join(str(c) for c in choices) or "(none)"
    advice = hint or (f"e.g. {name}={choices[0]!r}" if choices else "")
    raise ValueError(
        f"{name}: expected one of {listed}, found {value!r}" + (f"; {advice}" if advice else "")
    )
