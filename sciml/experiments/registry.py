"""Name -> (module, function) of every reproduction; imported lazily by ``sciml reproduce``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from sciml.choices import check_choice

# One line per experiment. The function takes (out, *, quick, seed, overwrite).
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "learned-stepper": ("sciml.experiments.ks", "reproduce"),
    "kolmogorov": ("sciml.experiments.kolmogorov", "reproduce"),
    "fastmri": ("sciml.experiments.fastmri", "reproduce"),
    "graphs": ("sciml.experiments.graphs", "reproduce"),
    "lista": ("sciml.experiments.lista", "reproduce_lista"),
    "d3m": ("sciml.experiments.d3m", "reproduce"),
}


def get(name: str) -> Any:
    """The reproduce function registered under ``name``."""
    module, func = EXPERIMENTS[check_choice(name, sorted(EXPERIMENTS), name="experiment")]
    return getattr(import_module(module), func)
