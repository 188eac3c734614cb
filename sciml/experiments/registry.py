"""Name -> (module, function) of every reproduction, and the presets of those with a setup
dataclass; imported lazily by ``sciml reproduce``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from sciml.choices import check_choice

# One line per experiment. The function takes (out, *, quick, seed, overwrite).
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "learned-stepper": ("sciml.experiments.ks", "reproduce"),
    "kolmogorov": ("sciml.experiments.kolmogorov", "reproduce"),
    "fastmri": ("sciml.experiments.fastmri", "reproduce"),
    "burgers": ("sciml.experiments.burgers", "reproduce"),
    "graphs": ("sciml.experiments.graphs", "reproduce"),
    "lista": ("sciml.experiments.lista", "reproduce_lista"),
    "d3m": ("sciml.experiments.d3m", "reproduce"),
}

# The reproductions run from a frozen setup dataclass: name -> (module, QUICK preset, FULL preset).
# `sciml reproduce --set/--setup` changes their fields (sciml.experiments.setups.resolve_setup).
SETUPS: dict[str, tuple[str, str, str]] = {
    "learned-stepper": ("sciml.experiments.ks", "QUICK", "FULL"),
    "kolmogorov": ("sciml.experiments.kolmogorov", "QUICK", "FULL"),
    "burgers": ("sciml.experiments.burgers", "QUICK", "FULL"),
    "graphs": ("sciml.experiments.graphs", "QUICK", "FULL"),
}


def get(name: str) -> Any:
    """The reproduce function registered under ``name``."""
    module, func = EXPERIMENTS[check_choice(name, sorted(EXPERIMENTS), name="experiment")]
    return getattr(import_module(module), func)


def presets(name: str) -> tuple[Any, Any]:
    """The ``(QUICK, FULL)`` setups of the reproduction ``name`` (one of :data:`SETUPS`)."""
    module, quick, full = SETUPS[check_choice(name, sorted(SETUPS), name="experiment")]
    mod = import_module(module)
    return getattr(mod, quick), getattr(mod, full)
