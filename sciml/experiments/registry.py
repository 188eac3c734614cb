"""Name -> (module, function) of every reproduction; imported lazily by ``sciml reproduce``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# One line per experiment. The function takes (out, *, quick, seed, overwrite).
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "learned-stepper": ("sciml.experiments.ks", "reproduce"),
    "kolmogorov": ("sciml.experiments.kolmogorov", "reproduce"),
    "fastmri": ("sciml.experiments.fastmri", "reproduce"),
    "burgers": ("sciml.experiments.burgers", "reproduce"),
    "graphs": ("sciml.experiments.graphs", "reproduce"),
}


def get(name: str) -> Any:
    """The reproduce function registered under ``name``."""
    if name not in EXPERIMENTS:
        raise ValueError(
            f"experiment: unknown {name!r}; expected one of {', '.join(sorted(EXPERIMENTS))}"
        )
    module, func = EXPERIMENTS[name]
    return getattr(import_module(module), func)
