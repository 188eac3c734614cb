"""Sparse coding with a dense dictionary: coordinate descent (CoD) and dictionary learning.

Problem (Gregor and LeCun 2010, eq. 1): for signals ``y`` ``(batch, n)`` and a dictionary
``D`` ``(n, m)`` with unit-norm columns (atoms), the optimal code is

    z* = argmin_z 0.5 ||y - D z||^2 + lam ||z||_1.

Coordinate descent (Li and Osher 2009; Gregor and LeCun, Algorithm 2), with
``B = D^T y``, ``S = I - D^T D`` and ``z = 0``::

    repeat:  zb = h_lam(B);  k = argmax_i |z_i - zb_i|;  B <- B + S[:, k] (zb_k - z_k);  z_k <- zb_k
    output:  h_lam(B)

updates one coordinate per iteration (``O(m)`` work after the ``O(mn)`` set-up), each an exact
minimisation along that coordinate. :func:`learn_dictionary` alternates FISTA codes with the
method of optimal directions (``D = Y Z^T (Z Z^T + eps I)^-1``, columns renormalised).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.optim.lasso import _check_inputs, fista, soft_threshold
from sciml.solvers.optim.operators import matrix_operator


def check_unit_atoms(dictionary: Any, *, where: str, rtol: float = 1e-3) -> jax.Array:
    """Refuse a dictionary ``(n, m)`` whose columns are not unit-norm (CoD and LISTA's
    initialisation assume ``diag(D^T D) = 1``)."""
    D = jnp.asarray(dictionary)
    if D.ndim != 2:
        raise ValueError(
            f"{where}: dictionary: expected a 2-D (n, m) matrix of atoms (columns), found shape "
            f"{tuple(D.shape)}"
        )
    norms = np.asarray(jnp.linalg.norm(D, axis=0))
    worst = float(np.max(np.abs(norms - 1.0))) if norms.size else 0.0
    if worst > rtol:
        raise ValueError(
            f"{where}: dictionary: expected unit-norm columns, found norms off by up to {worst:.3g}; "
            "normalise with D / np.linalg.norm(D, axis=0)"
        )
    return D


@jax.jit
def _cod(D: jax.Array, y: jax.Array, lam: jax.Array, iters_arr: jax.Array) -> jax.Array:
    S = jnp.eye(D.shape[1], dtype=D.dtype) - D.T @ D
    B = y @ D
    z = jnp.zeros_like(B)
    rows = jnp.arange(B.shape[0])

    def body(_, carry):
        z, B = carry
        zb = soft_threshold(B, lam)
        k = jnp.argmax(jnp.abs(z - zb), axis=-1)
        delta = zb[rows, k] - z[rows, k]
        B = B + S[:, k].T * delta[:, None]
        z = z.at[rows, k].set(zb[rows, k])
        return z, B

    z, B = jax.lax.fori_loop(0, iters_arr, body, (z, B))
    return soft_threshold(B, lam)


def coordinate_descent(dictionary: Any, y: Any, lam: float, *, iters: int = 100) -> jax.Array:
    """CoD codes ``(batch, m)`` of ``y`` ``(batch, n)`` after ``iters`` coordinate updates.

    ``dictionary`` ``(n, m)`` must have unit-norm columns.
    """
    D = check_unit_atoms(dictionary, where="coordinate_descent")
    y = jnp.asarray(y)
    _check_inputs(matrix_operator(D), y, lam, None, "coordinate_descent")
    if y.ndim != 2:
        raise ValueError(
            f"coordinate_descent: y: expected (batch, {D.shape[0]}) signals, found shape "
            f"{tuple(y.shape)}"
        )
    if iters < 0:
        raise ValueError(f"coordinate_descent: iters: expected >= 0, found {iters}")
    return _cod(D, y, jnp.asarray(lam, D.dtype), jnp.asarray(iters))


def learn_dictionary(
    signals: Any,
    num_atoms: int,
    lam: float,
    *,
    key: jax.Array,
    rounds: int = 20,
    coding_iters: int = 100,
    eps: float = 1e-6,
) -> jax.Array:
    """Learn a dictionary ``(n, num_atoms)`` with unit-norm atoms for ``signals`` ``(N, n)``.

    Starts from ``num_atoms`` random training signals and alternates ``coding_iters`` FISTA
    iterations (warm-started) with the MOD update ``D = Y^T Z (Z^T Z + eps I)^-1``; atoms that
    fall out of use are re-drawn from random signals. Deterministic for a given ``key``.
    """
    Y = jnp.asarray(signals)
    if Y.ndim != 2:
        raise ValueError(f"learn_dictionary: signals: expected (N, n), found {tuple(Y.shape)}")
    N = Y.shape[0]
    if not 1 <= num_atoms <= N:
        raise ValueError(
            f"learn_dictionary: num_atoms: expected 1 <= num_atoms <= {N} (the number of "
            f"signals), found {num_atoms}"
        )
    k0, key = jax.random.split(key)
    D = Y[jax.random.choice(k0, N, (num_atoms,), replace=False)].T
    D = D / jnp.maximum(jnp.linalg.norm(D, axis=0), 1e-12)
    Z = jnp.zeros((N, num_atoms), Y.dtype)
    for r in range(rounds):
        Z = fista(matrix_operator(D), Y, lam, iters=coding_iters, x0=Z).x
        G = Z.T @ Z + eps * jnp.eye(num_atoms, dtype=Y.dtype)
        D = jnp.linalg.solve(G, Z.T @ Y).T
        norms = jnp.linalg.norm(D, axis=0)
        unused = norms < 1e-8
        fresh = Y[jax.random.choice(jax.random.fold_in(key, r), N, (num_atoms,))].T
        D = jnp.where(unused[None, :], fresh, D)
        D = D / jnp.maximum(jnp.linalg.norm(D, axis=0), 1e-12)
    return D
