"""LCoD: coordinate descent unrolled for ``K`` steps with learned ``W_e``, ``S`` and thresholds.

Coordinate descent for the lasso (:func:`sciml.solvers.optim.coordinate_descent`, Gregor and
LeCun 2010 Algorithm 2) with ``B = y W_e^T`` and ``z = 0``::

    repeat K times:  zb = h_theta(B);  k = argmax_i |z_i - zb_i|;
                     B <- B + S[:, k] (zb_k - z_k);  z_k <- zb_k
    output:          h_theta(B)

is ``K`` exact coordinate minimisations when ``W_e = D^T``, ``S = I - D^T D`` and
``theta = lam`` (unit-norm atoms). LCoD (the paper's Algorithm 4) trains those three through the
``K`` steps; the argmax picks which coordinate to move and is not differentiated (its choice is
piecewise constant), gradients flow through the chosen updates. One step costs ``O(m)`` after the
``O(nm)`` encoding, against ``O(m^2)`` for a LISTA step.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.solvers.optim import check_unit_atoms, soft_threshold


class LCoD(nnx.Module):
    """Learned coordinate descent with ``num_steps`` coordinate updates.

    Args:
      dictionary: ``(n, m)`` with unit-norm columns.
      lam: the l1 weight (> 0).
      num_steps: ``K``.
      rngs: unused (deterministic initialisation as CoD); accepted for the registry.

    Shapes:
      ``y`` ``(batch, n)`` -> ``z`` ``(batch, m)``.
    """

    def __init__(
        self, dictionary: Any, lam: float, num_steps: int = 16, *, rngs: nnx.Rngs | None = None
    ):
        D = np.asarray(check_unit_atoms(dictionary, where="LCoD"), np.float64)
        if not lam > 0:
            raise ValueError(f"LCoD: lam: expected > 0, found {lam}")
        if num_steps < 1:
            raise ValueError(f"LCoD: num_steps: expected K >= 1, found {num_steps}")
        m = D.shape[1]
        self.num_steps = num_steps
        self.We = nnx.Param(jnp.asarray(D.T, jnp.float32))
        self.S = nnx.Param(jnp.asarray(np.eye(m) - D.T @ D, jnp.float32))
        self.theta = nnx.Param(jnp.full((m,), lam, jnp.float32))

    def __call__(self, y: jax.Array, *, num_steps: int | None = None) -> jax.Array:
        K = self.num_steps if num_steps is None else num_steps
        S, theta = self.S[...], self.theta[...]
        B = y @ self.We[...].T
        z = jnp.zeros_like(B)
        rows = jnp.arange(B.shape[0])

        def step(carry, _):
            z, B = carry
            zb = soft_threshold(B, theta)
            k = jax.lax.stop_gradient(jnp.argmax(jnp.abs(z - zb), axis=-1))
            delta = zb[rows, k] - z[rows, k]
            B = B + jnp.take(S, k, axis=1).T * delta[:, None]
            z = z.at[rows, k].set(zb[rows, k])
            return (z, B), None

        # A scan, not a Python loop: one traced step however large K is (K = 64 compiles as
        # fast as K = 1).
        (z, B), _ = jax.lax.scan(step, (z, B), None, K)
        return soft_threshold(B, theta)
