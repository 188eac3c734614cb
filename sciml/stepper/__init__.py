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
    "stepper_eigenvalues": "sciml.stepper.diagnostics",
    "conserved_drift": "sciml.stepper.diagnostics",
    # --- model/training/evaluation (E1) ---
    "LearnedStepper": "sciml.stepper.model",
    "Stats": "sciml.stepper.model",
    "make_learned_stepper": "sciml.stepper.model",
    "build_tendency_network": "sciml.stepper.model",
    "HybridStepper": "sciml.stepper.hybrid",
    "make_hybrid_stepper": "sciml.stepper.hybrid",
    "correction_stats": "sciml.stepper.hybrid",
    "RolloutTask": "sciml.stepper.tasks",
    "one_step_task": "sciml.stepper.tasks",
    "Trajectories": "sciml.stepper.data",
    "load_trajectories": "sciml.stepper.data",
    "check_data_grid": "sciml.stepper.data",
    "make_windows": "sciml.stepper.data",
    "normalisation_stats": "sciml.stepper.data",
    "Normalisation": "sciml.stepper.normalisation",
    "data_hash": "sciml.stepper.data",
    "evaluate_rollout": "sciml.stepper.evaluate",
    "CostPoint": "sciml.stepper.cost",
    "measure": "sciml.stepper.cost",
    "wall_time_per_time_unit": "sciml.stepper.cost",
    "speedup_at_equal_accuracy": "sciml.stepper.cost",
}

# Names that moved out of the area (deprecated aliases for one release): name -> new module.
_MOVED: dict[str, str] = {
    "nrmse_vs_time": "sciml.metrics.field",
    "correlation_vs_time": "sciml.metrics.field",
    "correlation_time": "sciml.metrics.field",
    "blowup_time": "sciml.metrics.field",
    "energy_spectrum": "sciml.metrics.spectra",
    "coarse_grain": "sciml.solvers.coarsen",
    "reproduce_learned_stepper": "sciml.experiments.ks",
    "reproduce_kolmogorov": "sciml.experiments.kolmogorov",
    "ExperimentSetup": "sciml.experiments.stepper_experiment",
    "run_experiment": "sciml.experiments.stepper_experiment",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MOVED:
        from sciml._deprecation import moved_module

        renames = {"coarse_grain": "coarsen_array"}
        return moved_module(__name__, _MOVED[name], (name,), renames=renames)(name)
    raise AttributeError(f"module 'sciml.stepper' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
