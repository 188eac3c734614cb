"""Standard initial conditions and exact solutions used by the verification tests and the registry.

All return channels-last arrays ``(n, *grid.shape, C)`` (``n = 1`` for the deterministic cases)
in ``dtype`` (float32 by default). The analytic solutions take the time ``t`` so that the same
function gives the initial condition (``t = 0``) and the reference at any later time.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.ic.random import random_draw


def _check_ndim(grid: Grid, ndim: int, name: str) -> None:
    if grid.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}D grid, found {grid.ndim} axes {grid.shape}")


def kdv_soliton(
    grid: Grid,
    *,
    speed: float = 1.0,
    position: float | None = None,
    t: float = 0.0,
    alpha: float = 6.0,
    beta: float = 1.0,
    dtype=jnp.float32,
) -> jax.Array:
    """Solitary wave of ``u_t + alpha u u_x + beta u_xxx = 0`` on a periodic interval.

    ``u = (3 c / alpha) sech^2( sqrt(c / (4 beta)) (x - x0 - c t) )`` with the distance to the
    nearest periodic image of ``x0 + c t`` (accurate when the soliton width ``2 sqrt(beta / c)``
    is much smaller than ``L``: the wrap-around error is ~ ``exp(-sqrt(c / beta) L / 2)``).

    Args:
      speed: ``c > 0`` (amplitude ``3 c / alpha``).
      position: ``x0`` at ``t = 0`` (default ``L / 2``).
      t: time.

    Returns:
      ``(1, N, 1)``.
    """
    _check_ndim(grid, 1, "kdv_soliton")
    if not speed > 0 or not beta > 0:
        raise ValueError(
            f"kdv_soliton: speed and beta must be > 0, found speed={speed}, beta={beta}"
        )
    (x,) = grid.coords()
    length = grid.length[0]
    x0 = length / 2 if position is None else position
    xi = np.mod(x - x0 - speed * t + length / 2, length) - length / 2
    u = 3 * speed / alpha / np.cosh(np.sqrt(speed / (4 * beta)) * xi) ** 2
    return jnp.asarray(u[None, :, None], dtype)


def taylor_green_vortex(
    grid: Grid,
    *,
    mode: int = 1,
    amplitude: float = 1.0,
    nu: float = 0.0,
    t: float = 0.0,
    dtype=jnp.float32,
) -> jax.Array:
    """Taylor-Green vortex vorticity, an exact solution of 2D Navier-Stokes.

    Velocity ``u = A sin(k x) cos(k y) e^{-2 nu k^2 t}``, ``v = -A cos(k x) sin(k y) e^{...}``,
    vorticity ``omega = 2 A k sin(k x) sin(k y) e^{-2 nu k^2 t}`` with ``k = 2 pi mode / L``
    (a square box ``L_x = L_y`` is required). The advection term vanishes identically.

    Returns:
      ``(1, N, N, 1)``.
    """
    _check_ndim(grid, 2, "taylor_green_vortex")
    if grid.length[0] != grid.length[1]:
        raise ValueError(f"taylor_green_vortex: needs a square box, found lengths {grid.length}")
    k = 2 * np.pi * int(mode) / grid.length[0]
    x, y = grid.mesh()
    omega = 2 * amplitude * k * np.sin(k * x) * np.sin(k * y) * np.exp(-2 * nu * k**2 * t)
    return jnp.asarray(omega[None, ..., None], dtype)


def burgers_cole_hopf(
    grid: Grid,
    *,
    nu: float,
    t: float = 0.0,
    mode: int = 1,
    ratio: float = 0.5,
    dtype=jnp.float32,
) -> jax.Array:
    """Exact periodic solution of ``u_t + u u_x = nu u_xx`` by the Cole-Hopf transform.

    With ``phi = 1 + r cos(k x) e^{-nu k^2 t}`` (a solution of the heat equation, ``0 < r < 1``,
    ``k = 2 pi mode / L``) the field ``u = -2 nu phi_x / phi`` is
    ``u = 2 nu k r sin(k x) e^{-nu k^2 t} / (1 + r cos(k x) e^{-nu k^2 t})``; ``r -> 1`` steepens it
    (peak ``~ 2 nu k r / sqrt(1 - r^2)``).

    Returns:
      ``(1, N, 1)``.
    """
    _check_ndim(grid, 1, "burgers_cole_hopf")
    if not 0 < ratio < 1 or not nu > 0:
        raise ValueError(
            f"burgers_cole_hopf: need 0 < ratio < 1 and nu > 0, found ratio={ratio}, nu={nu}"
        )
    (x,) = grid.coords()
    k = 2 * np.pi * int(mode) / grid.length[0]
    decay = ratio * np.exp(-nu * k**2 * t)
    u = 2 * nu * k * decay * np.sin(k * x) / (1 + decay * np.cos(k * x))
    return jnp.asarray(u[None, :, None], dtype)


def gray_scott_spots(
    grid: Grid,
    n_samples: int,
    *,
    key: jax.Array,
    n_spots: int = 6,
    radius: float | None = None,
    noise: float = 0.01,
    dtype=jnp.float32,
) -> jax.Array:
    """Gray-Scott seeds: ``u = 1, v = 0`` with discs of ``(u, v) = (0.5, 0.25)`` at random places.

    Pearson's (1993) seed values inside each disc of radius ``radius`` (default ``L / 40``;
    periodic distance), joined smoothly over two grid cells by a ``tanh`` profile so that the
    spectral solver sees no jump, plus uniform noise of amplitude ``noise`` on both fields.

    Returns:
      ``(n_samples, *grid.shape, 2)`` with channels ``(u, v)``.
    """
    if int(n_samples) < 1 or int(n_spots) < 1:
        raise ValueError(
            f"gray_scott_spots: n_samples and n_spots must be >= 1, found {n_samples}, {n_spots}"
        )
    radius = min(grid.length) / 40 if radius is None else float(radius)
    if not radius > 0:
        raise ValueError(f"gray_scott_spots: radius must be > 0, found {radius}")
    width = 2 * max(grid.dx)
    mesh = jnp.asarray(np.stack(grid.mesh()), dtype)
    shape = (int(n_samples), int(n_spots))
    n_centres = shape[0] * shape[1] * grid.ndim
    draw = random_draw(key, (n_centres + shape[0] * int(np.prod(grid.shape)) * 2,), dtype)
    return _spots(draw, mesh, grid.length, radius, width, float(noise), shape)


@partial(jax.jit, static_argnums=(2, 6))
def _spots(draw, mesh, lengths, radius, width, noise, shape) -> jax.Array:
    ndim, dtype = mesh.shape[0], mesh.dtype
    n_centres = shape[0] * shape[1] * ndim
    centres = draw[:n_centres].reshape(*shape, ndim) * jnp.asarray(lengths, dtype)
    d2 = 0.0
    for axis in range(ndim):
        c = centres[..., axis].reshape(*shape, *([1] * ndim))
        delta = jnp.abs(mesh[axis] - c)
        delta = jnp.minimum(delta, lengths[axis] - delta)
        d2 = d2 + delta**2
    inside = 0.5 * (1 - jnp.tanh((jnp.sqrt(d2) - radius) / width))
    seed = jnp.max(inside, axis=1)
    z = jnp.stack([1 - 0.5 * seed, 0.25 * seed], axis=-1)
    return (z + noise * (2 * draw[n_centres:].reshape(z.shape) - 1)).astype(dtype)
