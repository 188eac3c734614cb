"""The one table of explicit Runge-Kutta methods: Butcher tableaux, one generic step, stability.

An explicit ``s``-stage method for ``dz/dt = f(z)`` with tableau ``(A, b)`` (``A`` strictly lower
triangular) advances one step ``dt`` by::

    k_i = f(z + dt sum_{j<i} a_ij k_j),   i = 1..s
    z_next = z + dt sum_i b_i k_i

Methods (``order`` = ``stages`` for all four):

- ``euler``: forward Euler, order 1;
- ``rk2``: Heun's method (explicit trapezoid), order 2, strong-stability preserving (SSP);
- ``ssprk3``: the three-stage SSP method of Shu & Osher (1988), order 3, in Butcher form
  (``A = [[0], [1], [1/4, 1/4]]``, ``b = (1/6, 1/6, 2/3)``): each stage is a convex combination
  of forward-Euler steps, so a norm bound that Euler satisfies under ``dt <= dt_FE`` holds too;
- ``rk4``: the classical four-stage method, order 4.

:func:`rk_step` is written once over the array API (``+`` and scalar ``*``): it runs on NumPy
arrays (the JAX-free evaluator of exported steppers), on JAX arrays under ``jit``/``grad``, and
on pytrees when given a ``tree_map`` (the classical solvers pass ``jax.tree_util.tree_map``).

Linear stability: applied to ``dz/dt = lambda z`` one step multiplies ``z`` by the stability
function ``R(w) = 1 + sum_{m=1}^{s} (b^T A^{m-1} 1) w^m`` at ``w = dt lambda``, computed here from
the tableau (for these four methods it is the Taylor polynomial ``sum_{m<=p} w^m / m!``).
:func:`max_stable_dt` is the largest ``dt`` with ``|R(dt lambda)| <= 1`` for given eigenvalues.

Imports NumPy only (never JAX): ``sciml.load_stepper`` depends on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciml.choices import check_choice

State = Any  # an array (NumPy or JAX) or, with ``tree_map``, a pytree of arrays


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge-Kutta method: ``a`` (rows of the strictly lower triangle), ``b``, ``order``."""

    name: str
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    order: int

    @property
    def stages(self) -> int:
        """Evaluations of ``f`` per step (the cost of one step)."""
        return len(self.b)

    @property
    def c(self) -> tuple[float, ...]:
        """Stage times ``c_i = sum_j a_ij`` (fractions of ``dt``)."""
        return tuple(float(sum(row)) for row in self.a)

    def stability_coefficients(self) -> np.ndarray:
        """``gamma_m = b^T A^{m-1} 1`` (``gamma_0 = 1``): ``R(w) = sum_m gamma_m w^m``."""
        s = self.stages
        a = np.zeros((s, s))
        for i, row in enumerate(self.a):
            a[i, : len(row)] = row
        b = np.asarray(self.b, np.float64)
        gamma, v = [1.0], np.ones(s)
        for _ in range(s):
            gamma.append(float(b @ v))
            v = a @ v
        return np.asarray(gamma)


TABLEAUX: dict[str, ButcherTableau] = {
    "euler": ButcherTableau("euler", ((),), (1.0,), 1),
    "rk2": ButcherTableau("rk2", ((), (1.0,)), (0.5, 0.5), 2),
    "ssprk3": ButcherTableau("ssprk3", ((), (1.0,), (0.25, 0.25)), (1 / 6, 1 / 6, 2 / 3), 3),
    "rk4": ButcherTableau(
        "rk4", ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), (1 / 6, 1 / 3, 1 / 3, 1 / 6), 4
    ),
}
"""Integrator name -> Butcher tableau (the only place the coefficients are written)."""

ORDER: dict[str, int] = {name: t.order for name, t in TABLEAUX.items()}
"""Integrator name -> declared order of accuracy (global error ``O(dt^order)``)."""

STAGES: dict[str, int] = {name: t.stages for name, t in TABLEAUX.items()}
"""Integrator name -> evaluations of ``f`` per step."""


def get_tableau(integrator: str | ButcherTableau) -> ButcherTableau:
    """The tableau named ``integrator``; the error lists the valid names."""
    if isinstance(integrator, ButcherTableau):
        return integrator
    return TABLEAUX[check_choice(integrator, TABLEAUX, name="integrator")]


def _combine(z: State, terms: list[tuple[float, State]], tree_map: Callable | None) -> State:
    """``z + sum_i c_i k_i`` in the dtype of ``z`` (leaf-wise with ``tree_map``)."""

    def leaf(zl, *kl):
        out = zl
        for (c, _), k in zip(terms, kl):
            out = out + c * k
        return out.astype(zl.dtype) if hasattr(zl, "dtype") else out

    ks = [k for _, k in terms]
    return tree_map(leaf, z, *ks) if tree_map is not None else leaf(z, *ks)


def rk_step(
    integrator: str | ButcherTableau,
    f: Callable[[State], State],
    z: State,
    dt: float,
    *,
    tree_map: Callable | None = None,
) -> State:
    """One explicit Runge-Kutta step ``z -> z_next`` of the tableau ``integrator``.

    Args:
      integrator: a name of :data:`TABLEAUX` or a :class:`ButcherTableau`.
      f: the tendency ``dz/dt = f(z)`` (a finite-difference right-hand side, a learned ``G``).
      z: the state, an array of any shape (e.g. ``(batch, *spatial, channels)``), or a pytree
        with ``tree_map``; the result has the dtype of ``z``.
      dt: the time step (units of ``t``).
      tree_map: ``jax.tree_util.tree_map`` (or similar) for pytree states.
    """
    t = get_tableau(integrator)
    ks: list[State] = []
    for row in t.a:
        terms = [(dt * a, k) for a, k in zip(row, ks) if a != 0.0]
        ks.append(f(_combine(z, terms, tree_map) if terms else z))
    return _combine(z, [(dt * b, k) for b, k in zip(t.b, ks) if b != 0.0], tree_map)


def stability_function(integrator: str | ButcherTableau, w: Any) -> np.ndarray:
    """``R(w) = sum_m gamma_m w^m`` of ``integrator`` at ``w = dt lambda`` (complex128 array)."""
    gamma = get_tableau(integrator).stability_coefficients()
    w = np.asarray(w, dtype=np.complex128)
    out = np.zeros_like(w)
    for g in gamma[::-1]:  # Horner
        out = out * w + g
    return out


_TOL = 1e-10  # allowed growth |R| - 1 (round-off at the boundary of the stability region)
_RHO_MAX = 6.0  # every region of the table lies inside |w| < 6


def stability_radius(integrator: str | ButcherTableau, phi: Any) -> np.ndarray:
    """First exit ``rho(phi)`` of ``{|R(w)| <= 1}`` along the ray ``w = rho exp(i phi)``.

    ``phi`` is the direction in radians (``pi``: negative real axis, ``pi/2``: imaginary axis).
    Returns an array like ``phi`` (about 0 where the method is unstable for every small step).
    Reference values: negative real axis 2 (euler, rk2), 2.5127 (ssprk3), 2.7853 (rk4);
    imaginary axis 0 (euler, rk2), sqrt 3 (ssprk3), 2 sqrt 2 (rk4).
    """
    phi = np.atleast_1d(np.asarray(phi, dtype=np.float64))
    direction = np.exp(1j * phi)[:, None]
    rho = np.linspace(0.0, _RHO_MAX, 301)[None, 1:]
    unstable = np.abs(stability_function(integrator, rho * direction)) > 1.0 + _TOL
    first = np.where(unstable.any(axis=1), unstable.argmax(axis=1), rho.shape[1])
    step = rho[0, 0]
    lo = first * step  # stable (or the origin)
    hi = lo + step
    for _ in range(32):  # bisection inside the bracket
        mid = 0.5 * (lo + hi)
        bad = np.abs(stability_function(integrator, mid * direction[:, 0])) > 1.0 + _TOL
        hi = np.where(bad, mid, hi)
        lo = np.where(bad, lo, mid)
    return np.where(first == rho.shape[1], _RHO_MAX, lo)


def max_stable_dt(eigenvalues: Any, integrator: str | ButcherTableau) -> float:
    """Largest ``dt`` with ``|R(dt lambda)| <= 1`` for all ``eigenvalues`` (``inf`` if all 0).

    ``eigenvalues``: any array of complex eigenvalues of the (linearised) semi-discrete operator,
    units 1/time: a finite-difference symbol on a grid of phase angles
    (``sciml.solvers.stability.symbol``) or a learned stepper's
    (``sciml.stepper.diagnostics.stepper_eigenvalues``).
    """
    lam = np.asarray(eigenvalues, dtype=np.complex128).ravel()
    lam = lam[np.abs(lam) > 1e-12 * max(np.abs(lam).max(initial=0.0), 1e-300)]
    if lam.size == 0:
        return math.inf
    rho = stability_radius(integrator, np.angle(lam))
    return float(np.min(rho / np.abs(lam)))
