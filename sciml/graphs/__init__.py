"""Learned steppers on meshes and graphs: Z(t + dt) = Z(t) + dt G(Z(t)) with G a graph network.

The same stepper, rollout, evaluation, training and export as the grid steppers
(:mod:`sciml.stepper`), on the fixed graph of a finite-element mesh (or a grid graph):

- :class:`FixedGraph` (``graph``): senders/receivers, positions, edge features, lambda_max;
- :class:`GraphStepper`, :class:`GraphTendency`, :func:`make_graph_stepper` (``model``): G is a
  GCN, Chebyshev or MeshGraphNets-style network from the zoo (:mod:`sciml.nn.graph`);
- :func:`train_graph_stepper` (``train``): one-step or unrolled training through ``sciml.train``;
- :func:`rollout`, :func:`score`, :func:`seconds_per_step` (``evaluate``);
- :func:`export_graph_stepper`, :func:`load_graph_stepper` (``artifact``): the pickle-free HDF5
  artifact, evaluated with NumPy and SciPy alone; ``sciml.load_stepper`` reads it too.

Importing this package does not import JAX (names resolve lazily).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "FixedGraph": "sciml.graphs.graph",
    "GraphStepper": "sciml.graphs.model",
    "GraphTendency": "sciml.graphs.model",
    "make_graph_stepper": "sciml.graphs.model",
    "make_windows": "sciml.graphs.data",
    "normalisation_stats": "sciml.graphs.data",
    "data_hash": "sciml.graphs.data",
    "train_graph_stepper": "sciml.graphs.train",
    "rollout": "sciml.graphs.evaluate",
    "score": "sciml.graphs.evaluate",
    "seconds_per_step": "sciml.graphs.evaluate",
    "export_graph_stepper": "sciml.graphs.artifact",
    "load_graph_stepper": "sciml.graphs.artifact",
    "LoadedGraphStepper": "sciml.graphs.artifact",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sciml.graphs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
