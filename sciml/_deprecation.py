"""Aliases for names that moved: the old import path keeps working for one release, with a warning.

An old module becomes a stub whose module-level ``__getattr__`` is :func:`moved_module`::

    __getattr__ = moved_module(__name__, "sciml.experiments.ks")

Imports nothing heavy (``import sciml`` stays free of JAX).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any


def moved_module(
    old: str, new: str, names: Iterable[str] | None = None, *, renames: dict[str, str] | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` forwarding ``old.NAME`` to ``new.NAME`` with a DeprecationWarning.

    Args:
      old: the old module's name (``__name__``).
      new: the module the names moved to.
      names: the names to forward (default: every public name of ``new``).
      renames: ``{old_name: new_name}`` for names that also changed.
    """
    allowed = None if names is None else set(names)
    renames = dict(renames or {})

    def __getattr__(name: str) -> Any:
        target = renames.get(name, name)
        if name.startswith("__") or (allowed is not None and name not in allowed | set(renames)):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        module = importlib.import_module(new)
        if not hasattr(module, target):
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old}.{name} moved to {new}.{target}; the old path goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(module, target)

    return __getattr__
