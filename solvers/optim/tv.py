"""Total-variation regularised least squares by the primal-dual method of Chambolle and Pock.

Problem, for a linear operator ``A``, data ``y`` and weight ``lam >= 0``::

    min_x  0.5 ||A x - y||_2^2 + lam * TV(x),     TV(x) = sum_i |(grad x)_i|_2   (isotropic)

``grad`` is the forward difference along each of the last ``ndim`` axes of ``x``
``(*batch, *spatial)`` with a zero difference at the far end (Neumann boundary);
``||grad||^2 <= 4 ndim``. Complex images (MRI) use ``|v|^2 = Re(v)^2 + Im(v)^2`` per component.

The saddle-point form ``min_x max_{u, p} <K x, (u, p)> - F*(u, p)`` with ``K = [A; grad]``
and ``F(u, p) = 0.5 ||u - y||^2 + lam ||p||_{2,1}`` is solved by (Chambolle and Pock 2011,
Algorithm 1, theta = 1)::

    u <- (u + sigma (A xb - y)) / (1 + sigma)          # prox of sigma F1*
    p <- P_lam(p + sigma grad xb)                      # projection onto |p_i| <= lam
    x_new <- x - tau (A^H u - div p)                   # K^T (u, p), div = -grad^T
    xb <- 2 x_new - x

with ``tau sigma ||K||^2 < 1``; here ``tau = sigma = 0.99 / ||K||`` and
``||K||^2 <= ||A||^2 + 4 ndim``. No inner solves, so any operator works (masked multi-coil
FFTs included); ``O(1/k)`` convergence of the primal-dual gap.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from sciml.solvers.optim.lasso import _check_inputs
from sciml.solvers.optim.operators import (
    LIPSCHITZ_MARGIN,
    LinearOperator,
    inner,
    power_iteration,
)


def gradient(x: jax.Array, ndim: int) -> jax.Array:
    """Forward differences along the last ``ndim`` axes: ``(..., *spatial)`` ->
    ``(..., *spatial, ndim)``; the difference at each axis' last index is 0."""
    parts = []
    for ax in range(x.ndim - ndim, x.ndim):
        d = jnp.diff(x, axis=ax)
        pad = [(0, 0)] * x.ndim
        pad[ax] = (0, 1)
        parts.append(jnp.pad(d, pad))
    return jnp.stack(parts, axis=-1)


def divergence(p: jax.Array, ndim: int) -> jax.Array:
    """``div = -grad^T``: ``(..., *spatial, ndim)`` -> ``(..., *spatial)``."""
    out = 0
    base = p.ndim - 1 - ndim
    for i in range(ndim):
        q = p[..., i]
        ax = base + i
        n = q.shape[ax]
        # (grad^T q)_j = q_{j-1} - q_j with q_{-1} = 0 and q_{n-1} (always 0 in range) dropped.
        first = jax.lax.slice_in_dim(q, 0, n - 1, axis=ax)
        zero = jnp.zeros_like(jax.lax.slice_in_dim(q, 0, 1, axis=ax))
        shifted = jnp.concatenate([zero, first], axis=ax)
        last_zeroed = jnp.concatenate([first, zero], axis=ax)
        out = out + (last_zeroed - shifted)
    return out


def total_variation(x: jax.Array, ndim: int) -> jax.Array:
    """Isotropic ``TV(x) = sum_i |(grad x)_i|_2`` summed over the batch."""
    g = gradient(x, ndim)
    return jnp.sum(jnp.sqrt(jnp.sum(jnp.real(g) ** 2 + jnp.imag(g) ** 2, axis=-1)))


class TVResult(NamedTuple):
    """``x`` ``(*batch, *op.in_shape)``; ``objective`` per iteration (``(iters,)``) or None."""

    x: jax.Array
    objective: jax.Array | None


def _tv_solve(op, y, lam, step, x0, *, iters: int, ndim: int, track: bool) -> TVResult:
    sigma = tau = step

    def project(p):
        norm = jnp.sqrt(jnp.sum(jnp.real(p) ** 2 + jnp.imag(p) ** 2, axis=-1, keepdims=True))
        return p / jnp.maximum(1.0, norm / jnp.maximum(lam, 1e-30))

    def body(carry, _):
        x, xb, u, p = carry
        u = (u + sigma * (op.forward(xb) - y)) / (1.0 + sigma)
        p = project(p + sigma * gradient(xb, ndim))
        x_new = x - tau * (op.adjoint(u) - divergence(p, ndim))
        xb = 2.0 * x_new - x
        obj = None
        if track:
            r = op.forward(x_new) - y
            obj = 0.5 * inner(r, r) + lam * total_variation(x_new, ndim)
        return (x_new, xb, u, p), obj

    u0 = jnp.zeros_like(y)
    p0 = jnp.zeros((*x0.shape, ndim), x0.dtype)
    (x, _, _, _), objective = jax.lax.scan(body, (x0, x0, u0, p0), None, iters)
    return TVResult(x, objective)


_tv_solve_jit = jax.jit(_tv_solve, static_argnames=("iters", "ndim", "track"))


def tv_reconstruct(
    op: LinearOperator,
    y: Any,
    lam: Any,
    *,
    iters: int = 200,
    ndim: int = 2,
    op_norm_sq: Any = None,
    x0: Any = None,
    track: bool = False,
    key: jax.Array | None = None,
) -> TVResult:
    """Minimise ``0.5 ||A x - y||^2 + lam TV(x)`` by ``iters`` Chambolle-Pock iterations.

    Args:
      op: ``A``; ``x`` is ``(*batch, *op.in_shape)`` and TV acts on its last ``ndim`` axes.
      y: measurements ``(*batch, *op.out_shape)``; NaN is refused.
      lam: TV weight >= 0 (same units as ``y`` times ``x``'s pixel spacing).
      iters: number of iterations.
      ndim: number of trailing spatial axes of ``x`` (1 for signals, 2 for images).
      op_norm_sq: ``||A||^2`` if known (e.g. 1 for a masked orthonormal FFT with normalised coil
        maps), > 0; else estimated by power iteration.
      x0: starting point (default ``A^H y``).
      track: also return the objective per iteration.
      key: PRNG key of the power iteration.
    """
    _check_inputs(op, y, lam, op_norm_sq, "tv_reconstruct")
    if iters < 0:
        raise ValueError(f"tv_reconstruct: iters: expected >= 0, found {iters}")
    if not 1 <= ndim <= len(op.in_shape):
        raise ValueError(
            f"tv_reconstruct: ndim: expected 1 <= ndim <= {len(op.in_shape)} (the operator's "
            f"input rank), found {ndim}"
        )
    y = jnp.asarray(y)
    if op_norm_sq is None:
        op_norm_sq = LIPSCHITZ_MARGIN * power_iteration(
            op, key=jax.random.key(0) if key is None else key
        )
    step = 0.99 / jnp.sqrt(jnp.asarray(op_norm_sq) + 4.0 * ndim)
    if x0 is None:
        x0 = op.adjoint(y)
    return _tv_solve_jit(
        op, y, lam, step, jnp.asarray(x0), iters=int(iters), ndim=ndim, track=track
    )


def _identity(x: jax.Array) -> jax.Array:
    return x


def tv_denoise(
    y: Any, lam: Any, *, ndim: int | None = None, iters: int = 500, track: bool = False
) -> TVResult:
    """TV denoising ``min_x 0.5 ||x - y||^2 + lam TV(x)`` of ``y`` ``(..., *spatial)``
    (``ndim`` trailing spatial axes, default all)."""
    y = jnp.asarray(y)
    nd = y.ndim if ndim is None else ndim
    op = LinearOperator(
        _identity,
        _identity,
        y.shape[y.ndim - nd :],
        y.shape[y.ndim - nd :],
        dtype=y.dtype,
        name="identity",
    )
    return tv_reconstruct(op, y, lam, iters=iters, ndim=nd, op_norm_sq=1.0, track=track)
