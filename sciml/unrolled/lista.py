"""LISTA: ISTA unrolled for ``K`` steps with learned matrices and thresholds (Gregor and LeCun 2010).

For a dictionary ``D`` ``(n, m)`` and weight ``lam``, ISTA with step ``1 / L`` (``L = ||D||^2``)
is the recurrence (row vectors, signals ``y`` ``(batch, n)``, codes ``z`` ``(batch, m)``)::

    B = y W_e^T,    z_0 = 0,    z_{t+1} = h_theta(B + z_t S^T),    t = 0 .. K-1

with ``W_e = D^T / L`` ``(m, n)``, ``S = I - D^T D / L`` ``(m, m)``, ``theta = lam / L`` ``(m,)``
and the soft threshold ``h_theta(v) = sign(v) max(|v| - theta, 0)``. LISTA keeps the recurrence
and learns ``W_e``, ``S`` and ``theta`` so that ``z_K`` approximates the optimal code ``z*`` (the
converged lasso solution): a fixed-depth network that the training data makes much faster than
ISTA or FISTA at equal depth. Initialised as here, LISTA *is* ISTA, so training can only start
from ISTA's accuracy.

Weight sharing: ``groups`` splits the ``K`` steps into that many equal runs that each learn their
own ``S`` (1: the paper's tied recurrence; ``K``: every step its own matrix), and
``per_step_thresholds`` gives every step its own ``theta``; "partial sharing" is anything in
between (e.g. ``groups=4`` of ``K=16``, per-step thresholds: 4x the parameters of ``S``, 16x of
``theta``). ``W_e`` is always shared.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.solvers.optim import check_unit_atoms, soft_threshold


def ista_parameters(dictionary: Any, lam: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``(W_e, S, theta)`` of ISTA for ``dictionary`` ``(n, m)``: ``(D^T / L, I - D^T D / L,
    lam / L)`` with ``L = ||D||_2^2`` (exact, from the singular values)."""
    D = np.asarray(dictionary, np.float64)
    L = float(np.linalg.norm(D, 2) ** 2)
    m = D.shape[1]
    return D.T / L, np.eye(m) - D.T @ D / L, lam / L


def _check_steps(num_steps: int, groups: int, where: str) -> None:
    if num_steps < 1:
        raise ValueError(f"{where}: num_steps: expected K >= 1 unrolled steps, found {num_steps}")
    if not 1 <= groups <= num_steps or num_steps % groups:
        raise ValueError(
            f"{where}: groups: expected a divisor of num_steps={num_steps} (1 = one shared S, "
            f"{num_steps} = untied), found {groups}"
        )


def _check_weights(We: Any, S: Any, theta: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    We, S = np.asarray(We, np.float64), np.asarray(S, np.float64)
    if We.ndim != 2:
        raise ValueError(f"LISTA weights: We: expected (m, n), found shape {We.shape}")
    m = We.shape[0]
    if S.shape != (m, m):
        raise ValueError(
            f"LISTA weights: S: expected a square ({m}, {m}) matrix (m = We.shape[0] atoms), "
            f"found shape {S.shape}; S maps codes to codes"
        )
    theta = np.broadcast_to(np.asarray(theta, np.float64), (m,))
    return We, S, theta


class LISTA(nnx.Module):
    """Learned ISTA with ``num_steps`` unrolled steps, initialised as ISTA on ``dictionary``.

    Args:
      dictionary: ``(n, m)`` with unit-norm columns (atoms).
      lam: the l1 weight ``lam`` of the problem the codes solve (> 0).
      num_steps: ``K``, the network depth.
      groups: number of distinct ``S`` matrices (a divisor of ``K``; 1 = tied as in the paper).
      per_step_thresholds: a threshold vector per step instead of one shared.
      weights: ``(We, S, theta)`` to start from instead of ISTA on ``dictionary``
        (see :meth:`from_weights`).
      rngs: unused (the initialisation is deterministic); accepted for the registry.

    Shapes:
      ``y`` ``(batch, n)`` -> ``z`` ``(batch, m)``; float32 parameters.
    """

    def __init__(
        self,
        dictionary: Any,
        lam: float | None,
        num_steps: int = 16,
        *,
        groups: int = 1,
        per_step_thresholds: bool = False,
        weights: tuple[Any, Any, Any] | None = None,
        rngs: nnx.Rngs | None = None,
    ):
        _check_steps(num_steps, groups, "LISTA")
        if weights is None:
            D = check_unit_atoms(dictionary, where="LISTA")
            if lam is None or not lam > 0:
                raise ValueError(f"LISTA: lam: expected > 0, found {lam}")
            We, S, theta = ista_parameters(D, lam)
        else:
            We, S, theta = _check_weights(*weights)
        m = S.shape[0]
        self.num_steps = num_steps
        self.groups = groups
        self.We = nnx.Param(jnp.asarray(We, jnp.float32))
        self.S = nnx.Param(jnp.asarray(np.broadcast_to(S, (groups, m, m)), jnp.float32))
        n_theta = num_steps if per_step_thresholds else 1
        self.theta = nnx.Param(jnp.asarray(np.broadcast_to(theta, (n_theta, m)), jnp.float32))

    @classmethod
    def from_weights(cls, We: Any, S: Any, theta: Any, num_steps: int) -> LISTA:
        """A tied LISTA from given weights: ``We`` ``(m, n)``, ``S`` ``(m, m)`` (square) and
        ``theta`` (scalar or ``(m,)``), e.g. trained elsewhere or an ISTA variant."""
        return cls(None, None, num_steps, weights=(We, S, theta))

    def __call__(self, y: jax.Array, *, num_steps: int | None = None) -> jax.Array:
        K = self.num_steps if num_steps is None else num_steps
        B = y @ self.We[...].T
        z = jnp.zeros_like(B)
        per_group = self.num_steps // self.groups
        for t in range(K):
            g = min(t // per_group, self.groups - 1)
            theta = self.theta[...][min(t, self.theta.shape[0] - 1)]
            z = soft_threshold(B + z @ self.S[...][g].T, theta)
        return z


def count_parameters(model: nnx.Module) -> int:
    """Number of trainable scalars of ``model``."""
    return int(sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))))
