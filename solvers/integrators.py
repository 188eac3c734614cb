"""Explicit Runge-Kutta integrators for autonomous systems ``dz/dt = f(z)``.

Each integrator is a pure function ``integrator(f, z, dt) -> z_next`` that advances ``z`` by one
step ``dt`` (same units as ``t``). ``f`` maps a state to its time derivative (a tendency: a
finite-difference right-hand side, or a learned ``G(z)``); ``z`` is an array of any shape, e.g.
``(batch, *spatial, channels)``, or a pytree of arrays. Nothing is assumed about ``f`` beyond
``f(z)`` having the structure, shapes and dtypes of ``z``, so the functions are jit-able,
vmap-able and differentiable whenever ``f`` is.

Methods (``ORDER`` gives the declared order of accuracy; all four have the stability function
``R(w) = sum_{k=0}^{p} w^k / k!`` with ``p`` = order = number of stages, see ``solvers.stability``):

- ``euler``: forward Euler, order 1.
- ``rk2``: Heun's method (explicit trapezoid), order 2, strong-stability preserving (SSP).
- ``ssprk3``: the three-stage SSP Runge-Kutta method of Shu & Osher (1988), order 3.
- ``rk4``: the classical four-stage Runge-Kutta method, order 4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

State = Any  # an array or a pytree of arrays
Tendency = Callable[[State], State]


def _combine(*terms: tuple[float, State]) -> State:
    """Linear combination ``sum_i c_i z_i`` of pytrees with identical structure."""
    coeffs = [c for c, _ in terms]
    trees = [z for _, z in terms]

    def comb(*leaves):
        out = coeffs[0] * leaves[0]
        for c, leaf in zip(coeffs[1:], leaves[1:]):
            out = out + c * leaf
        return out.astype(leaves[0].dtype)

    return jax.tree_util.tree_map(comb, *trees)


def euler(f: Tendency, z: State, dt: float) -> State:
    """Forward Euler: ``z_{n+1} = z_n + dt f(z_n)`` (order 1)."""
    return _combine((1.0, z), (dt, f(z)))


def rk2(f: Tendency, z: State, dt: float) -> State:
    """Heun's method: ``k1 = f(z)``, ``k2 = f(z + dt k1)``, ``z + dt (k1 + k2) / 2`` (order 2)."""
    k1 = f(z)
    k2 = f(_combine((1.0, z), (dt, k1)))
    return _combine((1.0, z), (0.5 * dt, k1), (0.5 * dt, k2))


def ssprk3(f: Tendency, z: State, dt: float) -> State:
    """Three-stage strong-stability-preserving Runge-Kutta (Shu-Osher form, order 3).

    ``z1 = z + dt f(z)``; ``z2 = 3/4 z + 1/4 (z1 + dt f(z1))``; ``z3 = 1/3 z + 2/3 (z2 + dt f(z2))``.
    Each stage is a convex combination of forward-Euler steps, so any norm / total-variation bound
    that forward Euler satisfies under ``dt <= dt_FE`` also holds here under the same ``dt``.
    """
    z1 = _combine((1.0, z), (dt, f(z)))
    z2 = _combine((0.75, z), (0.25, z1), (0.25 * dt, f(z1)))
    return _combine((1.0 / 3.0, z), (2.0 / 3.0, z2), (2.0 / 3.0 * dt, f(z2)))


def rk4(f: Tendency, z: State, dt: float) -> State:
    """Classical fourth-order Runge-Kutta (order 4)."""
    k1 = f(z)
    k2 = f(_combine((1.0, z), (0.5 * dt, k1)))
    k3 = f(_combine((1.0, z), (0.5 * dt, k2)))
    k4 = f(_combine((1.0, z), (dt, k3)))
    return _combine((1.0, z), (dt / 6.0, k1), (dt / 3.0, k2), (dt / 3.0, k3), (dt / 6.0, k4))


INTEGRATORS: dict[str, Callable[[Tendency, State, float], State]] = {
    "euler": euler,
    "rk2": rk2,
    "ssprk3": ssprk3,
    "rk4": rk4,
}
"""Integrator name -> function ``(f, z, dt) -> z_next``."""

ORDER: dict[str, int] = {"euler": 1, "rk2": 2, "ssprk3": 3, "rk4": 4}
"""Integrator name -> declared order of accuracy (global error ``O(dt^order)``)."""

STAGES: dict[str, int] = {"euler": 1, "rk2": 2, "ssprk3": 3, "rk4": 4}
"""Integrator name -> evaluations of ``f`` per step (the cost of one step)."""

for _name, _fn in INTEGRATORS.items():
    _fn.order = ORDER[_name]  # type: ignore[attr-defined]
    _fn.stages = STAGES[_name]  # type: ignore[attr-defined]


def get_integrator(name: str) -> Callable[[Tendency, State, float], State]:
    """Look an integrator up by name; the error lists the valid names."""
    if name not in INTEGRATORS:
        raise ValueError(
            f"integrator: expected one of {list(INTEGRATORS)}, found {name!r}; "
            "e.g. integrator='rk4'"
        )
    return INTEGRATORS[name]
