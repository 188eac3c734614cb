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
- ``sciml.graphs``   learned steppers on meshes and graphs (graph networks from the zoo), export.

Shape convention (everywhere in the library): channels last, ``(batch, *spatial, channels)``.
Foreign layouts are converted only at I/O.

Importing ``sciml`` appends one XLA option to ``XLA_FLAGS`` unless the user set it or opted out
(``SCIML_XLA_DEFAULTS=0``): XLA's own convolution instead of YNNPACK's on CPU, 5-7x faster
(:mod:`sciml._xla_defaults` says when and why). Import ``sciml`` before the first JAX computation.
"""

from __future__ import annotations

import os
from typing import Any

from sciml import _xla_defaults  # noqa: F401  (XLA_FLAGS defaults, before any JAX backend exists)
from sciml._version import __version__

__all__ = ["__version__", "load_stepper"]


def load_stepper(path: str | os.PathLike) -> Any:
    """Load an exported learned stepper (``sciml-stepper`` HDF5) with NumPy and SciPy only.

    Grid steppers (``sciml export``) give a :class:`sciml.stepper.LoadedStepper`, graph steppers
    on a mesh a :class:`sciml.graphs.LoadedGraphStepper`, learned finite-volume stencils a
    :class:`sciml.stepper.stencil_artifact.LoadedStencilModel`, the learned interpolation on the
    finite-volume Navier-Stokes base a
    :class:`sciml.stepper.interpolation_artifact.LoadedInterpolationModel` (``step(omega)``,
    ``coefficients(omega)``); the first two offer ``step(z)``, ``tendency(z)`` and ``rhs(t, y)``.
    The file's ``/tendency`` attribute ``kind`` decides (:func:`sciml.artifacts.stepper_kind`).
    No JAX is imported.
    """
    from sciml.artifacts import stepper_kind

    kind = stepper_kind(path)
    if kind == "graph":
        from sciml.graphs.artifact import load_graph_stepper

        return load_graph_stepper(path)
    if kind == "stencil_flux":  # learned finite-volume stencils (Burgers)
        from sciml.stepper.stencil_artifact import load_stencil_model

        return load_stencil_model(path)
    if kind == "fv_interpolation":  # learned interpolation on the FV Navier-Stokes base
        from sciml.stepper.interpolation_artifact import load_interpolation_model

        return load_interpolation_model(path)
    from sciml.stepper.artifact import load_stepper as load_grid_stepper

    return load_grid_stepper(path)


def __getattr__(name: str) -> Any:
    raise AttributeError(f"module 'sciml' has no attribute {name!r}")
