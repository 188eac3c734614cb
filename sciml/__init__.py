"""sciml: scientific machine learning for PDEs and physics, on JAX and Flax (NNX).

Importing ``sciml`` is cheap and does not import JAX: the exported stepper loader
(:func:`load_stepper`) runs on NumPy alone, so a trained learned integrator can be used
inside a solver that never installs JAX.

Sub-packages
------------
- ``sciml.nn``       Flax NNX module zoo (convolutions with boundary handling, tendency nets, U-Nets).
- ``sciml.train``    the one sharded training loop (configs, mesh, checkpoints, metrics).
- ``sciml.solvers``  classical PDE solvers (plain ``state -> state`` steps) and ``rollout``.
- ``sciml.datasets`` trajectory files, readers for PDEBench / The Well / jax-cfd, data sources.
- ``sciml.stepper``  learned integrators Z(t+dt) = Z(t) + dt G(Z(t)), export and import.
- ``sciml.mri``      fastMRI k-space reconstruction (masks, transforms, models, metrics).

Shape convention (everywhere in the library): channels last, ``(batch, *spatial, channels)``.
Foreign layouts are converted only at I/O.
"""

from __future__ import annotations

from typing import Any

from sciml._version import __version__

__all__ = ["__version__", "load_stepper"]


def __getattr__(name: str) -> Any:
    # Lazy: keeps `import sciml` free of JAX so that the NumPy-only loader works without it.
    if name == "load_stepper":
        from sciml.stepper.artifact import load_stepper

        return load_stepper
    raise AttributeError(f"module 'sciml' has no attribute {name!r}")
