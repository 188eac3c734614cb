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

from collections.abc import Sequence

import numpy as np

from sciml.ghost_cells import fill_ghost as fill_ghost_cells
from sciml.numpy_eval import NUMPY_ACTIVATIONS as NUMPY_ACTIVATIONS
from sciml.numpy_eval import NUMPY_INTEGRATORS as NUMPY_INTEGRATORS

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


def fill_ghost(
    z: np.ndarray, halo: int, boundary: str, dx: Sequence[float], value: float = 0.0
) -> np.ndarray:
    """Add ``halo`` ghost cells per side of ``(batch, *spatial, C)``: the one implementation,
    :func:`sciml.ghost_cells.fill_ghost` (second-order reflections), on NumPy arrays."""
    return fill_ghost_cells(z, halo, boundary, dx=tuple(dx), value=value, ndim=z.ndim - 2)
