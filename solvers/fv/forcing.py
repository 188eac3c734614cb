"""Random large-scale forcing of Bar-Sinai, Hoyer, Hickey and Brenner (PNAS 2019).

    f(x, t) = sum_{j=1}^{M} a_j sin(omega_j t - k_j x + phi_j)

with, per trajectory, ``M = 20`` modes, amplitudes ``a_j ~ U(-0.5, 0.5)``, frequencies
``omega_j ~ U(-0.4, 0.4)`` (1 / time), integer wavenumbers ``k_j`` uniform in ``{3, 4, 5, 6}``
(on the domain ``[0, 2 pi)``; on a domain of length ``L`` the wavenumber is ``2 pi k_j / L``) and
phases ``phi_j ~ U(0, 2 pi)``. The forcing is smooth and large-scale, so shocks form from the
nonlinearity, not from the forcing. Units: ``f`` is a velocity per time.

Finite-volume solvers need cell averages: over a cell of width ``dx`` centred at ``x_c``,
``avg sin(w t - k x + p) = sin(w t - k x_c + p) * sin(k dx/2) / (k dx/2)`` exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Forcing(NamedTuple):
    """Per-trajectory forcing modes, each ``(batch, M)`` float arrays (a JAX pytree).

    ``amplitude`` (velocity / time), ``omega`` (1 / time), ``k`` (1 / length, already
    ``2 pi k_j / L``), ``phi`` (radians).
    """

    amplitude: jax.Array
    omega: jax.Array
    k: jax.Array
    phi: jax.Array


def random_forcing(
    batch: int,
    *,
    key: jax.Array,
    length: float = 2 * jnp.pi,
    n_modes: int = 20,
    amplitude: float = 0.5,
    omega_max: float = 0.4,
    k_range: tuple[int, int] = (3, 6),
) -> Forcing:
    """Draw ``batch`` independent forcings (the paper's distribution by default).

    Args:
      batch: number of trajectories.
      key: JAX PRNG key.
      length: domain length (the integer wavenumbers are scaled by ``2 pi / length``).
      n_modes: modes per trajectory.
      amplitude: ``a_j ~ U(-amplitude, amplitude)``.
      omega_max: ``omega_j ~ U(-omega_max, omega_max)``.
      k_range: inclusive range of the integer wavenumbers.

    Returns:
      :class:`Forcing` with ``(batch, n_modes)`` float32 arrays.
    """
    if int(batch) < 1 or int(n_modes) < 1:
        raise ValueError(
            f"random_forcing: expected batch >= 1 and n_modes >= 1, found {batch} and {n_modes}"
        )
    lo, hi = int(k_range[0]), int(k_range[1])
    if not 1 <= lo <= hi:
        raise ValueError(f"k_range: expected 1 <= k_min <= k_max, found {k_range}; e.g. (3, 6)")
    ka, kw, kk, kp = jax.random.split(key, 4)
    shape = (int(batch), int(n_modes))
    a = jax.random.uniform(ka, shape, minval=-amplitude, maxval=amplitude)
    w = jax.random.uniform(kw, shape, minval=-omega_max, maxval=omega_max)
    k = jax.random.randint(kk, shape, lo, hi + 1).astype(jnp.float32) * (2 * jnp.pi / length)
    p = jax.random.uniform(kp, shape, minval=0.0, maxval=2 * jnp.pi)
    return Forcing(a, w, k, p)


def forcing_cell_average(forcing: Forcing, x: jax.Array, dx: float, t: jax.Array) -> jax.Array:
    """Cell averages of ``f(x, t)`` over cells centred at ``x`` ``(N,)`` of width ``dx``.

    ``t``: ``(batch,)`` times. Returns ``(batch, N, 1)`` (velocity / time), in the dtype of ``x``.
    """
    kh = forcing.k * (0.5 * dx)  # (B, M)
    damp = jnp.sin(kh) / kh
    arg = (
        forcing.omega[:, :, None] * t[:, None, None]
        - forcing.k[:, :, None] * x[None, None, :]
        + forcing.phi[:, :, None]
    )  # (B, M, N)
    f = jnp.sum((forcing.amplitude * damp)[:, :, None] * jnp.sin(arg), axis=1)
    return f[..., None].astype(x.dtype)
