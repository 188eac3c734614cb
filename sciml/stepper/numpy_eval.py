"""NumPy-only evaluation of the conv -> f -> conv tendency family (no JAX needed).

This module must never import JAX: it is what ``sciml.load_stepper`` runs inside solvers that do not
have JAX installed. Semantics match ``sciml.nn.Conv`` / ``sciml.nn.Tendency`` exactly:

- a convolution is a cross-correlation over the padded field,
  ``y[b, i, o] = bias[o] + sum_{j, c} x_pad[b, i + j, c] * kernel[j, c, o]`` (``j`` runs over the kernel
  offsets of every spatial axis), with ``kernel`` of shape ``(*kernel_size, C_in, C_out)``;
- padding adds ``k // 2`` cells per side (odd ``k``): ``periodic`` wraps, ``zero`` pads zeros,
  ``reflect`` mirrors without repeating the edge, ``ghost`` pads nothing (the caller supplies them);
- the activation is applied between convolutions, not after the last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sciml.ghost_cells import fill_ghost as fill_ghost_cells
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

_PAD_MODE = {"periodic": "wrap", "zero": "constant", "reflect": "reflect"}


def pad(x: np.ndarray, halo: Sequence[tuple[int, int]], boundary: str) -> np.ndarray:
    """Pad the spatial axes of ``x`` ``(batch, *spatial, C)`` like ``sciml.nn.pad``."""
    if boundary == "ghost":
        return x
    return np.pad(x, [(0, 0), *halo, (0, 0)], mode=_PAD_MODE[boundary])


def conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, boundary: str) -> np.ndarray:
    """``sciml.nn.Conv`` (stride 1) in NumPy: ``(batch, *spatial, C_in)`` -> ``(batch, *spatial', C_out)``."""
    nd = kernel.ndim - 2
    halo = [((k - 1) - (k - 1) // 2, (k - 1) // 2) for k in kernel.shape[:nd]]
    xp = pad(x, halo, boundary)
    out_shape = [xp.shape[1 + a] - kernel.shape[a] + 1 for a in range(nd)]
    y = np.zeros((x.shape[0], *out_shape, kernel.shape[-1]), dtype=np.result_type(x, kernel))
    for offset in np.ndindex(*kernel.shape[:nd]):
        window = (slice(None), *(slice(o, o + n) for o, n in zip(offset, out_shape)))
        y += xp[window] @ kernel[offset]
    if bias is not None:
        y += bias
    return y


def tendency(
    z: np.ndarray,
    kernels: Sequence[np.ndarray],
    biases: Sequence[np.ndarray | None],
    activation: str,
    boundary: str,
) -> np.ndarray:
    """Evaluate G(z) = V * f(... f(W * z)) for ``z`` of shape ``(batch, *spatial, C)``."""
    f = NUMPY_ACTIVATIONS[activation]
    h = z
    for i, (k, b) in enumerate(zip(kernels, biases)):
        h = conv(h, k, b, boundary)
        if i < len(kernels) - 1:
            h = f(h)
    return h


def _numpy_integrator(name: str) -> Callable:
    def integrate(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, dt: float) -> np.ndarray:
        return rk_step(name, f, z, dt)

    integrate.__name__ = name
    return integrate


# The Butcher tableaux of sciml.runge_kutta (the same table the JAX steppers use), on NumPy arrays.
NUMPY_INTEGRATORS = {name: _numpy_integrator(name) for name in TABLEAUX}


def fill_ghost(
    z: np.ndarray, halo: int, boundary: str, dx: Sequence[float], value: float = 0.0
) -> np.ndarray:
    """Add ``halo`` ghost cells per side of ``(batch, *spatial, C)``: the one implementation,
    :func:`sciml.ghost_cells.fill_ghost` (second-order reflections), on NumPy arrays."""
    return fill_ghost_cells(z, halo, boundary, dx=tuple(dx), value=value, ndim=z.ndim - 2)
