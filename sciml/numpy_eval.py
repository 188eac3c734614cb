"""NumPy evaluation primitives shared by the exported-stepper loaders of every area (no JAX).

``sciml.load_stepper`` runs inside solvers that have no JAX; the grid stepper's evaluator
(:mod:`sciml.stepper.numpy_eval`) and the graph stepper's (:mod:`sciml.graphs.numpy_eval`) both
take their activations and time integrators from here, so the two artifact kinds agree on every
name and formula (documented in ``docs/stepper_artifact.md``). Imports NumPy and SciPy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sciml.runge_kutta import TABLEAUX, rk_step

try:  # scipy's erf is vectorised; fall back to math.erf elementwise.
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - scipy is a dependency, kept optional here on purpose
    _erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)).astype(x.dtype)),
    "tanh": np.tanh,
    "swish": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.logaddexp(0, x),
    "elu": _elu,
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "sigmoid": _sigmoid,
    "identity": lambda x: x,
}


def _numpy_integrator(name: str) -> Callable:
    def integrate(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, dt: float) -> np.ndarray:
        return rk_step(name, f, z, dt)

    integrate.__name__ = name
    return integrate


# The Butcher tableaux of sciml.runge_kutta (the same table the JAX steppers use), on NumPy arrays.
NUMPY_INTEGRATORS = {name: _numpy_integrator(name) for name in TABLEAUX}
