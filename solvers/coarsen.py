"""Coarse-graining of periodic fields and trajectories onto coarser grids.

Used to train coarse learned steppers on fine solver output. Arrays are channels-last with any
leading axes: ``(batch, *spatial, C)`` or ``(batch, time, *spatial, C)``; the ``ndim`` spatial axes
are the ones right before the channel axis.

Two methods, both for periodic grids whose points sit at ``x_i = i * dx`` (so coarse point ``j``
coincides with fine point ``j * r``):

- ``"spectral"``: Fourier truncation. Keeps the modes ``|m| < N_c / 2`` of each axis (the coarse
  Nyquist mode is dropped) and samples the band-limited field on the coarse grid. Exact for
  fields already resolved by the coarse grid; any ``N_c < N`` works (no divisibility needed).
- ``"block"``: box filter of width ``dx_c = r dx`` centred on each coarse point, then sampling
  every ``r``-th point (``r = N / N_c`` must be an integer). For odd ``r`` it is the plain mean of
  the ``r`` fine points around ``x_j``; for even ``r`` the two end points get weight 1/2 (the
  trapezoidal cell average). The mean of the field is conserved exactly.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid

from sciml.choices import check_choice

METHODS = ("spectral", "block")


def coarse_grid(grid: Grid, shape: tuple[int, ...] | int) -> Grid:
    """The grid with the same domain and ``shape`` points per axis."""
    shape = tuple(int(n) for n in np.atleast_1d(shape))
    if len(shape) == 1 and grid.ndim > 1:
        shape = shape * grid.ndim
    return Grid(shape, grid.length, boundary=grid.boundary, boundary_value=grid.boundary_value)


def coarsen(
    x: jax.Array,
    shape: tuple[int, ...] | int,
    *,
    ndim: int | None = None,
    method: str = "spectral",
) -> jax.Array:
    """Coarse-grain the ``ndim`` spatial axes of ``x`` to ``shape`` points (see module docstring).

    Args:
      x: real array ``(..., *spatial, C)`` on a periodic grid (``spatial`` has ``ndim`` axes).
      shape: coarse points per spatial axis (an int means the same on every axis). Each must be
        <= the fine size.
      ndim: number of spatial axes (default ``len(shape)``).
      method: ``"spectral"`` or ``"block"``.

    Returns:
      ``(..., *shape, C)`` array with the dtype of ``x``.
    """
    shape = tuple(int(n) for n in np.atleast_1d(shape))
    if ndim is None:
        ndim = len(shape)
    if len(shape) == 1 and ndim > 1:
        shape = shape * ndim
    check_choice(method, METHODS, name="coarsen: method")
    if len(shape) != ndim or ndim not in (1, 2, 3):
        raise ValueError(f"coarsen: shape {shape} must have ndim={ndim} entries (1-3 spatial axes)")
    if x.ndim < ndim + 1:
        raise ValueError(
            f"coarsen: expected an array (..., {ndim} spatial axes, channels), found shape "
            f"{tuple(x.shape)}"
        )
    fine = tuple(x.shape[-ndim - 1 : -1])
    for n_f, n_c in zip(fine, shape):
        if n_c > n_f or n_c < 2:
            raise ValueError(
                f"coarsen: coarse shape {shape} must be between 2 and the fine shape {fine} "
                "on every axis"
            )
    x = jnp.asarray(x)
    if method == "block":
        for n_f, n_c in zip(fine, shape):
            if n_f % n_c:
                raise ValueError(
                    f"coarsen: block averaging needs fine sizes divisible by the coarse sizes, "
                    f"found {fine} -> {shape}; use method='spectral' or sizes like "
                    f"{tuple(n // max(1, n // c) for n, c in zip(fine, shape))}"
                )
        return _block(x, fine, shape)
    return _spectral(x, fine, shape)


@partial(jax.jit, static_argnums=(1, 2))
def _spectral(x: jax.Array, fine: tuple[int, ...], shape: tuple[int, ...]) -> jax.Array:
    ndim = len(fine)
    axes = tuple(range(-ndim - 1, -1))
    dtype = x.dtype
    spec = jnp.fft.fftn(x, axes=axes)
    for axis, n_f, n_c in zip(axes, fine, shape):
        m = np.fft.fftfreq(n_f, d=1.0 / n_f)
        keep = np.nonzero(np.abs(m) < n_c / 2)[0]  # coarse Nyquist dropped
        m_keep = m[keep].astype(int)
        target = np.mod(m_keep, n_c)
        taken = jnp.take(spec, jnp.asarray(keep), axis=axis)
        out_shape = list(taken.shape)
        out_shape[axis] = n_c
        placed = jnp.zeros(out_shape, dtype=spec.dtype)
        index = [slice(None)] * placed.ndim
        index[axis] = jnp.asarray(target)
        spec = placed.at[tuple(index)].set(taken)
    scale = float(np.prod(shape) / np.prod(fine))
    return (jnp.real(jnp.fft.ifftn(spec, axes=axes)) * scale).astype(dtype)


@partial(jax.jit, static_argnums=(1, 2))
def _block(x: jax.Array, fine: tuple[int, ...], shape: tuple[int, ...]) -> jax.Array:
    ndim = len(fine)
    for i, (n_f, n_c) in enumerate(zip(fine, shape)):
        axis = x.ndim - ndim - 1 + i
        r = n_f // n_c
        if r == 1:
            continue
        if r % 2:
            offsets = range(-(r // 2), r // 2 + 1)
            weights = [1.0 / r] * r
        else:
            offsets = range(-(r // 2), r // 2 + 1)
            weights = [0.5 / r] + [1.0 / r] * (r - 1) + [0.5 / r]
        total = sum(w * jnp.roll(x, -o, axis=axis) for o, w in zip(offsets, weights))
        index = [slice(None)] * x.ndim
        index[axis] = slice(None, None, r)
        x = total[tuple(index)].astype(x.dtype)
    return x


def coarsen_array(
    data: np.ndarray, shape: tuple[int, ...] | int, *, ndim: int, method: str = "spectral"
) -> np.ndarray:
    """:func:`coarsen` for NumPy data: float32 NumPy in, float32 NumPy out (data pipelines)."""
    shape = tuple(int(n) for n in np.atleast_1d(shape))
    if len(shape) != ndim:
        raise ValueError(f"coarse shape: expected {ndim} entries, found {shape}")
    return np.asarray(coarsen(np.asarray(data), shape, ndim=ndim, method=method), np.float32)
