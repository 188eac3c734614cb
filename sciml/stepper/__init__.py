"""Learned integrators Z(t+dt) = Z(t) + dt G(Z(t)): training, evaluation, export and import.

Importing this package must not import JAX: ``sciml.load_stepper`` (NumPy only) lives here and is
used inside solvers that have no JAX. Every public name is therefore resolved lazily from the
table below; add new exports to ``_LAZY`` (name -> module), never as eager imports.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    # --- export/import/diagnostics (E2) ---
    "load_stepper": "sciml.stepper.artifact",
    "export_stepper": "sciml.stepper.artifact",
    "LoadedStepper": "sciml.stepper.artifact",
    "ArtifactError": "sciml.stepper.artifact",
    "export_jax": "sciml.stepper.jax_export",
    "load_jax": "sciml.stepper.jax_export",
    "jacobian": "sciml.stepper.diagnostics",
    "linear_stencil": "sciml.stepper.diagnostics",
    "amplification": "sciml.stepper.diagnostics",
    "max_stable_dt": "sciml.stepper.diagnostics",
    "conserved_drift": "sciml.stepper.diagnostics",
    # --- model/training/evaluation (E1) ---
    "LearnedStepper": "sciml.stepper.model",
    "Stats": "sciml.stepper.model",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sciml.stepper' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
