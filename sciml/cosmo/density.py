"""Differentiable CIC density of particles displaced from their Lagrangian grid (JAX).

Used by the optional density term of the D3M loss: the density contrast on the particle grid,
``delta = rho / rho_mean - 1``, of particles at ``q + Psi`` with ``q = j dx``, ``dx = box / n``,
painted with cloud-in-cell weights ``prod_i max(1 - |x_i / dx - j_i|, 0)`` on the periodic
``n^3`` mesh (the NumPy version for evaluation is :func:`sciml.metrics.spectra3d.cic_paint`).
The weights are linear in the positions, so the density is differentiable in ``Psi``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def displacement_density(disp: jax.Array, box: float) -> jax.Array:
    """CIC density contrast of one displacement field.

    Args:
      disp: ``(n, n, n, 3)`` displacements in Mpc/h on the Lagrangian grid.
      box: side of the periodic box in Mpc/h.

    Returns:
      ``(n, n, n)`` density contrast (mean zero), dtype of ``disp``.
    """
    n = disp.shape[0]
    j = jnp.stack(jnp.meshgrid(*[jnp.arange(n)] * 3, indexing="ij"), axis=-1)
    x = (j + disp / (box / n)).reshape(-1, 3)
    i0 = jnp.floor(x)
    f = x - i0
    i0 = i0.astype(jnp.int32)
    rho = jnp.zeros((n, n, n), disp.dtype)
    for corner in range(8):
        off = [(corner >> d) & 1 for d in range(3)]
        w = jnp.prod(jnp.stack([f[:, d] if off[d] else 1 - f[:, d] for d in range(3)]), axis=0)
        idx = tuple((i0[:, d] + off[d]) % n for d in range(3))
        rho = rho.at[idx].add(w)
    return rho - 1.0  # n^3 particles on n^3 cells: the mean density is exactly one


def batch_density(disp: jax.Array, box: float) -> jax.Array:
    """:func:`displacement_density` of every sample of ``(batch, n, n, n, 3)``."""
    return jax.vmap(lambda d: displacement_density(d, box))(disp)
