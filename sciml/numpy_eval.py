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


def _euler(f, z, dt):
    return z + dt * f(z)


def _rk2(f, z, dt):
    k1 = f(z)
    k2 = f(z + dt * k1)
    return z + 0.5 * dt * (k1 + k2)


def _ssprk3(f, z, dt):
    z1 = z + dt * f(z)
    z2 = 0.75 * z + 0.25 * (z1 + dt * f(z1))
    return z / 3.0 + 2.0 / 3.0 * (z2 + dt * f(z2))


def _rk4(f, z, dt):
    k1 = f(z)
    k2 = f(z + 0.5 * dt * k1)
    k3 = f(z + 0.5 * dt * k2)
    k4 = f(z + dt * k3)
    return z + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


NUMPY_INTEGRATORS = {"euler": _euler, "rk2": _rk2, "ssprk3": _ssprk3, "rk4": _rk4}
