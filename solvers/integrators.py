"""Explicit Runge-Kutta integrators for autonomous systems ``dz/dt = f(z)``.

Each integrator is a pure function ``integrator(f, z, dt) -> z_next`` that advances ``z`` by one
step ``dt`` (same units as ``t``). ``f`` maps a state to its time derivative (a tendency: a
finite-difference right-hand side, or a learned ``G(z)``); ``z`` is an array of any shape, e.g.
``(batch, *spatial, channels)``, or a pytree of arrays. Nothing is assumed about ``f`` beyond
``f(z)`` having the structure, shapes and dtypes of ``z``, so the functions are jit-able,
vmap-able and differentiable whenever ``f`` is.

The coefficients live once, as Butcher tableaux, in :mod:`sciml.runge_kutta` (shared with the
learned steppers, their NumPy-only evaluator and the stability analysis); these are the JAX,
pytree-aware entry points. Methods (``ORDER`` gives the declared order of accuracy; all four
have the stability function ``R(w) = sum_{k=0}^{p} w^k / k!``, ``p`` = order = stages):

- ``euler``: forward Euler, order 1.
- ``rk2``: Heun's method (explicit trapezoid), order 2, strong-stability preserving (SSP).
- ``ssprk3``: the three-stage SSP Runge-Kutta method of Shu & Osher (1988), order 3.
- ``rk4``: the classical four-stage Runge-Kutta method, order 4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from sciml.choices import check_choice
from sciml.runge_kutta import ORDER as ORDER
from sciml.runge_kutta import STAGES as STAGES
from sciml.runge_kutta import TABLEAUX, rk_step

State = Any  # an array or a pytree of arrays
Tendency = Callable[[State], State]


def _integrator(name: str, doc: str) -> Callable[[Tendency, State, float], State]:
    def integrate(f: Tendency, z: State, dt: float) -> State:
        return rk_step(name, f, z, dt, tree_map=jax.tree_util.tree_map)

    integrate.__name__ = integrate.__qualname__ = name
    integrate.__doc__ = doc
    integrate.order = ORDER[name]  # type: ignore[attr-defined]
    integrate.stages = STAGES[name]  # type: ignore[attr-defined]
    integrate.tableau = TABLEAUX[name]  # type: ignore[attr-defined]
    return integrate


euler = _integrator("euler", "Forward Euler: ``z_{n+1} = z_n + dt f(z_n)`` (order 1).")
rk2 = _integrator(
    "rk2",
    "Heun's method: ``k1 = f(z)``, ``k2 = f(z + dt k1)``, ``z + dt (k1 + k2) / 2`` (order 2).",
)
ssprk3 = _integrator(
    "ssprk3",
    "Three-stage strong-stability-preserving Runge-Kutta (Shu-Osher), order 3: each stage is a "
    "convex combination of forward-Euler steps.",
)
rk4 = _integrator("rk4", "Classical fourth-order Runge-Kutta (order 4).")

INTEGRATORS: dict[str, Callable[[Tendency, State, float], State]] = {
    "euler": euler,
    "rk2": rk2,
    "ssprk3": ssprk3,
    "rk4": rk4,
}
"""Integrator name -> function ``(f, z, dt) -> z_next`` (the tableaux of :mod:`sciml.runge_kutta`)."""


def get_integrator(name: str) -> Callable[[Tendency, State, float], State]:
    """Look an integrator up by name; the error lists the valid names."""
    return INTEGRATORS[check_choice(name, INTEGRATORS, name="integrator")]
