"""ISTA and FISTA for l1-regularised least squares (the lasso / basis-pursuit denoising).

Problem, for a linear operator ``A`` (:class:`~sciml.solvers.optim.LinearOperator`), data ``y``
and weight ``lam >= 0``::

    min_x  F(x) = 0.5 ||A x - y||_2^2 + lam * R(x),     R(x) = ||x||_1 by default

Proximal gradient with step ``1 / L``, ``L >= ||A||_2^2`` the Lipschitz constant of the gradient
``A^H (A x - y)``:

- ISTA (Daubechies, Defrise and De Mol 2004): ``x <- prox_{lam/L}(x - A^H(A x - y) / L)``;
  ``F(x_k) - F* <= L ||x_0 - x*||^2 / (2 k)``.
- FISTA (Beck and Teboulle 2009): the same step at the extrapolated point
  ``v = x_k + (t_{k-1} - 1) / t_k (x_k - x_{k-1})``, ``t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2``;
  ``F(x_k) - F* <= 2 L ||x_0 - x*||^2 / (k + 1)^2``.

``L`` is given, estimated by :func:`~sciml.solvers.optim.power_iteration`, or found by
backtracking (start at ``L0``, multiply by ``eta`` until
``f(p) <= f(v) + <p - v, grad f(v)> + L/2 ||p - v||^2``; never decreases).

``prox`` and ``penalty`` replace the l1 norm by another convex penalty with a cheap proximal map,
e.g. the l1 norm of orthonormal wavelet coefficients (:func:`~sciml.solvers.optim.wavelet_l1`).
A batch of problems (leading axes of ``y``) is solved at once with one shared step; the objective
is then the sum over the batch. Complex ``x`` (MRI) is supported: ``|x|`` is the modulus and the
soft threshold shrinks the modulus, keeping the phase.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial
from sciml.solvers.optim.operators import LIPSCHITZ_MARGIN, LinearOperator, inner, power_iteration


def soft_threshold(x: jax.Array, threshold: Any) -> jax.Array:
    """The proximal map of ``threshold * ||.||_1``: ``sign(x) max(|x| - threshold, 0)``.

    For complex ``x`` the modulus is shrunk and the phase kept. ``threshold`` broadcasts
    against ``x`` (a scalar or one value per coefficient).
    """
    if jnp.iscomplexobj(x):
        mag = jnp.abs(x)
        scale = jnp.maximum(mag - threshold, 0.0) / jnp.where(mag > 0, mag, 1.0)
        return x * scale
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - threshold, 0.0)


def l1_norm(x: jax.Array, lam: Any = 1.0) -> jax.Array:
    """``sum lam |x|`` over every axis (modulus for complex; ``lam`` broadcasts against ``x``)."""
    return jnp.sum(lam * jnp.abs(x))


class LassoResult(NamedTuple):
    """What :func:`ista` and :func:`fista` return.

    Attributes:
      x: the solution, ``(*batch, *op.in_shape)``.
      objective: ``F(x_k)`` after each iteration ``k = 1..iters`` (``(iters,)``), or None.
      lipschitz: the final ``L`` (grows under backtracking).
      trace: ``monitor(x_k)`` after each iteration (``(iters, ...)``), or None.
    """

    x: jax.Array
    objective: jax.Array | None
    lipschitz: jax.Array
    trace: jax.Array | None = None


def lasso_objective(
    op: LinearOperator, y: jax.Array, x: jax.Array, lam: Any, penalty: Any = None
) -> jax.Array:
    """``0.5 ||A x - y||^2 + lam * R(x)`` summed over the batch."""
    r = op.forward(x) - y
    reg = l1_norm(x, lam) if penalty is None else penalty(x, lam)
    return 0.5 * inner(r, r) + reg


def kkt_violation(op: LinearOperator, y: jax.Array, x: jax.Array, lam: float) -> jax.Array:
    """Largest violation of the lasso optimality conditions, relative to ``lam``.

    With ``g = A^H (y - A x)``: ``g_i = lam * sign(x_i)`` on the support and ``|g_i| <= lam``
    off it (real ``x``; for complex ``x``, ``g_i = lam * x_i / |x_i|``). Returns
    ``max_i |violation_i| / lam``; 0 at the exact minimiser.
    """
    g = op.adjoint(y - op.forward(x))
    on = jnp.abs(x) > 0
    phase = x / jnp.where(on, jnp.abs(x), 1.0)
    v_on = jnp.abs(g - lam * phase)
    v_off = jnp.maximum(jnp.abs(g) - lam, 0.0)
    return jnp.max(jnp.where(on, v_on, v_off)) / lam


def _check_inputs(op: LinearOperator, y: Any, lam: Any, lipschitz: Any, where: str) -> None:
    if not isinstance(op, LinearOperator):
        raise ValueError(
            f"{where}: expected op to be a sciml.solvers.optim.LinearOperator, found "
            f"{type(op).__name__}; wrap a matrix with matrix_operator(D) or a pair of functions "
            "with linear_operator(forward, adjoint, in_shape, out_shape)"
        )
    if tuple(np.shape(y))[-len(op.out_shape) :] != op.out_shape:
        raise ValueError(
            f"{where}: y: expected shape (*batch, {', '.join(map(str, op.out_shape))}) for "
            f"{op.name}, found {tuple(np.shape(y))}"
        )
    if not isinstance(y, jax.core.Tracer) and bool(jnp.any(jnp.isnan(jnp.asarray(y)))):
        count = int(jnp.sum(jnp.isnan(jnp.asarray(y))))
        raise ValueError(
            f"{where}: y: expected finite measurements, found {count} NaN value(s); drop or "
            "zero-fill the missing samples (and mask them in the operator) before solving"
        )
    if not isinstance(lam, jax.core.Tracer) and np.any(np.asarray(lam) < 0):
        raise ValueError(f"{where}: lam: expected a weight >= 0, found {lam!r}")
    if lipschitz is not None and not isinstance(lipschitz, jax.core.Tracer):
        value = float(lipschitz)
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(
                f"{where}: lipschitz: expected a finite constant > 0 (||A||^2), found {value!r}; "
                "pass lipschitz=None to estimate it by power iteration or backtracking=True"
            )


def _prox_l1(v: jax.Array, t: Any) -> jax.Array:
    return soft_threshold(v, t)


def _solve(
    op: LinearOperator,
    y: jax.Array,
    lam: Any,
    lipschitz: jax.Array,
    x0: jax.Array,
    prox: Partial,
    penalty: Partial,
    monitor: Partial | None,
    *,
    iters: int,
    accelerate: bool,
    backtracking: bool,
    eta: float,
    track: bool,
) -> LassoResult:
    def f(x):
        r = op.forward(x) - y
        return 0.5 * inner(r, r), r

    def step(v, L):
        fv, r = f(v)
        g = op.adjoint(r)
        if not backtracking:
            return prox(v - g / L, lam / L), L

        def cond(state):
            p, L, count = state
            fp, _ = f(p)
            d = p - v
            bound = fv + inner(d, g) + 0.5 * L * inner(d, d)
            return (fp > bound * (1 + 1e-6) + 1e-30) & (count < 60)

        def grow(state):
            _, L, count = state
            L = L * eta
            return prox(v - g / L, lam / L), L, count + 1

        p, L, _ = jax.lax.while_loop(cond, grow, (prox(v - g / L, lam / L), L, 0))
        return p, L

    def body(carry, _):
        x, x_prev, t, L = carry
        if accelerate:
            t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
            v = x + ((t - 1.0) / t_next) * (x - x_prev)
        else:
            t_next, v = t, x
        x_new, L = step(v, L)
        obj = (f(x_new)[0] + penalty(x_new, lam)) if track else None
        seen = monitor(x_new) if monitor is not None else None
        return (x_new, x, t_next, L), (obj, seen)

    one = jnp.ones((), jnp.real(x0).dtype)
    (x, _, _, L), (objective, trace) = jax.lax.scan(
        body, (x0, x0, one, lipschitz * one), None, iters
    )
    return LassoResult(x, objective, L, trace)


_solve_jit = jax.jit(
    _solve, static_argnames=("iters", "accelerate", "backtracking", "eta", "track")
)


def _run(
    op,
    y,
    lam,
    *,
    lipschitz,
    iters,
    x0,
    backtracking,
    eta,
    prox,
    penalty,
    track,
    key,
    where,
    fast,
    monitor=None,
) -> LassoResult:
    _check_inputs(op, y, lam, lipschitz, where)
    if iters < 0:
        raise ValueError(f"{where}: iters: expected >= 0, found {iters}")
    if eta <= 1:
        raise ValueError(f"{where}: eta: expected a backtracking factor > 1, found {eta}")
    y = jnp.asarray(y)
    batch = y.shape[: y.ndim - len(op.out_shape)]
    dtype = jnp.result_type(op.dtype, y.dtype) if jnp.iscomplexobj(y) else op.dtype
    if x0 is None:
        x0 = jnp.zeros((*batch, *op.in_shape), dtype)
    if lipschitz is None:
        if backtracking:
            lipschitz = 1.0
        else:
            k = jax.random.key(0) if key is None else key
            lipschitz = LIPSCHITZ_MARGIN * power_iteration(op, key=k)
    prox = Partial(_prox_l1) if prox is None else _partial(prox)
    penalty = Partial(l1_norm) if penalty is None else _partial(penalty)
    return _solve_jit(
        op,
        y,
        lam,
        jnp.asarray(lipschitz),
        jnp.asarray(x0, dtype),
        prox,
        penalty,
        None if monitor is None else _partial(monitor),
        iters=int(iters),
        accelerate=fast,
        backtracking=bool(backtracking),
        eta=float(eta),
        track=bool(track),
    )


def _partial(fn: Any) -> Partial:
    return fn if isinstance(fn, Partial) else Partial(fn)


def ista(
    op: LinearOperator,
    y: Any,
    lam: Any,
    *,
    iters: int = 100,
    lipschitz: Any = None,
    x0: Any = None,
    backtracking: bool = False,
    eta: float = 2.0,
    prox: Any = None,
    penalty: Any = None,
    track: bool = False,
    monitor: Any = None,
    key: jax.Array | None = None,
) -> LassoResult:
    """ISTA: ``iters`` proximal-gradient steps on ``0.5 ||A x - y||^2 + lam R(x)``.

    Args:
      op: the operator ``A`` (``(*batch, *in_shape) -> (*batch, *out_shape)``).
      y: measurements ``(*batch, *op.out_shape)``; NaN is refused.
      lam: the weight (scalar, or broadcastable to ``x`` for per-coefficient weights), >= 0.
      iters: number of iterations.
      lipschitz: ``L >= ||A||^2``, > 0; None: power iteration (times 1.01), or with
        ``backtracking`` the starting value 1.
      x0: starting point (default 0).
      backtracking: grow ``L`` by ``eta`` until the sufficient-decrease condition holds.
      prox: ``prox(v, t)``, the proximal map of ``t * R`` (default :func:`soft_threshold`).
      penalty: ``penalty(x, lam) = lam R(x)`` (default :func:`l1_norm`), only for ``track``.
      track: also return ``F(x_k)`` for every iteration.
      monitor: ``monitor(x) -> array``, recorded after every iteration in ``trace`` (e.g. the
        distance to a known solution); a ``jax.tree_util.Partial`` to reuse compilations.
      key: PRNG key of the power iteration's start vector.

    Returns:
      :class:`LassoResult`.
    """
    return _run(
        op,
        y,
        lam,
        lipschitz=lipschitz,
        iters=iters,
        x0=x0,
        backtracking=backtracking,
        eta=eta,
        prox=prox,
        penalty=penalty,
        track=track,
        monitor=monitor,
        key=key,
        where="ista",
        fast=False,
    )


def fista(
    op: LinearOperator,
    y: Any,
    lam: Any,
    *,
    iters: int = 100,
    lipschitz: Any = None,
    x0: Any = None,
    backtracking: bool = False,
    eta: float = 2.0,
    prox: Any = None,
    penalty: Any = None,
    track: bool = False,
    monitor: Any = None,
    key: jax.Array | None = None,
) -> LassoResult:
    """FISTA (Beck and Teboulle 2009): ISTA's step at an extrapolated point; same arguments as
    :func:`ista`. ``F(x_k) - F* = O(1 / k^2)`` instead of ISTA's ``O(1 / k)``."""
    return _run(
        op,
        y,
        lam,
        lipschitz=lipschitz,
        iters=iters,
        x0=x0,
        backtracking=backtracking,
        eta=eta,
        prox=prox,
        penalty=penalty,
        track=track,
        monitor=monitor,
        key=key,
        where="fista",
        fast=True,
    )
