"""Viscous Burgers equation in conservative (flux) form by explicit finite volumes (1D).

    du/dt + d/dx (u^2 / 2) = nu d^2u/dx^2

``u`` is a velocity (length / time), ``nu >= 0`` the viscosity (length^2 / time; 0 gives the
inviscid equation, whose shocks the limited scheme captures). Each channel evolves
independently. The cell averages change by flux differences,
``du_i/dt = -(F_{i+1/2} - F_{i-1/2}) / dx + nu (u_{i+1} - 2 u_i + u_{i-1}) / dx^2``, so
``sum(u) dx`` is conserved exactly on periodic grids (up to round-off).

Numerical flux (``scheme``): ``"rusanov"`` (local Lax-Friedrichs on the cell values, order 1) or
``"muscl"`` (Rusanov flux on face values reconstructed from limited slopes, order 2 in smooth
regions; ``limiter`` ``"minmod"``, ``"vanleer"`` or ``"mc"``):
``F = (f(u_L) + f(u_R)) / 2 - max(|u_L|, |u_R|) (u_R - u_L) / 2`` with ``f(u) = u^2 / 2``.

Boundaries (``grid.boundary``): periodic; Dirichlet ``u = g`` (e.g. no-slip ``g = 0``) or
Neumann ``du/dn = g`` on both faces through ghost cells, ``g = grid.boundary_value``.

Stability: depends on the state through ``a = max|u|`` (which viscous Burgers never increases):
the linearised scheme at speed ``a`` with the viscous term, e.g. for rusanov + euler
``dt <= 1 / (a/dx + 2 nu/dx^2)``. Call ``step.check_dt(u0)`` with the initial state.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.fd.base import FDStep, positive
from sciml.solvers.fd.stencils import SECOND_DERIVATIVE, Stencil
from sciml.solvers.ghost import fill_ghost_axis
from sciml.solvers.grid import Grid
from sciml.solvers.stability import theta_grid

BURGERS_SCHEMES = {"rusanov": 1, "muscl": 2}
LIMITERS = ("minmod", "vanleer", "mc")

# Linearisations (constant positive speed) used for the stability limit.
_LINEARISED = {
    "rusanov": Stencil((-1, 0), (-1.0, 1.0), 1, 1),  # first-order upwind
    "muscl": Stencil((-2, -1, 0, 1), (0.25, -1.25, 0.75, 0.25), 1, 2),  # Fromm (smooth regime)
}


def limited_slope(left: jax.Array, right: jax.Array, limiter: str) -> jax.Array:
    """Slope from the one-sided differences ``left = u_i - u_{i-1}``, ``right = u_{i+1} - u_i``.

    Returns 0 at extrema (opposite signs) and a limited average otherwise; differentiable
    almost everywhere (no division by zero).
    """
    s = 0.5 * (jnp.sign(left) + jnp.sign(right))
    al, ar = jnp.abs(left), jnp.abs(right)
    if limiter == "minmod":
        return s * jnp.minimum(al, ar)
    if limiter == "mc":
        return s * jnp.minimum(jnp.minimum(2 * al, 2 * ar), 0.5 * jnp.abs(left + right))
    if limiter == "vanleer":
        total = al + ar
        safe = jnp.where(total > 0, total, 1.0)  # keeps the gradient finite where both are 0
        return jnp.where(total > 0, s * 2 * al * ar / safe, 0.0)
    raise ValueError(f"limiter: expected one of {list(LIMITERS)}, found {limiter!r}")


def rusanov_flux(ul: jax.Array, ur: jax.Array) -> jax.Array:
    """Local Lax-Friedrichs flux of ``f(u) = u^2/2`` between face states ``ul`` and ``ur``."""
    speed = jnp.maximum(jnp.abs(ul), jnp.abs(ur))
    return 0.25 * (ul * ul + ur * ur) - 0.5 * speed * (ur - ul)


class FDBurgers(FDStep):
    """Explicit finite-volume step of viscous Burgers in flux form (see module docstring).

    Args:
      grid: one-dimensional grid; its boundary kind and value set the boundary condition.
      dt: time step.
      nu: viscosity ``>= 0``.
      scheme: ``"rusanov"`` or ``"muscl"``.
      limiter: slope limiter of ``"muscl"``: ``"minmod"``, ``"vanleer"`` or ``"mc"``.
      integrator: ``"euler"``, ``"rk2"``, ``"ssprk3"`` or ``"rk4"``.
      u_max: optional bound on ``max|u|``; if given, ``dt`` is checked against it at
        construction, and ``check_dt()``/``max_dt()`` work without a state.

    State: ``(batch, N, C)``.
    """

    equation = "fd_burgers"
    ndims = (1,)

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        nu: float = 0.01,
        scheme: str = "muscl",
        limiter: str = "vanleer",
        integrator: str = "ssprk3",
        u_max: float | None = None,
    ):
        nu = positive("nu", nu, "the viscosity must be >= 0, e.g. nu=0.01", allow_zero=True)
        if limiter not in LIMITERS:
            raise ValueError(
                f"limiter: expected one of {list(LIMITERS)}, found {limiter!r}; e.g. "
                "limiter='vanleer'"
            )
        params = {"nu": nu, "limiter": limiter}
        super().__init__(
            grid, dt, integrator=integrator, scheme=scheme, schemes=BURGERS_SCHEMES, params=params
        )
        self.nu = nu
        self.limiter = limiter
        self.halo = 2 if scheme == "muscl" else 1
        self.u_max = None if u_max is None else positive("u_max", u_max, "e.g. u_max=1.0")
        self._d2 = SECOND_DERIVATIVE["central2"]
        if self.u_max is not None:  # a speed bound is known: check now, like the linear solvers
            self.check_dt()

    def check_state(self, state: jax.Array) -> None:
        n = self.grid.shape[0]
        if state.ndim < 2 or state.shape[-2] != n:
            raise ValueError(
                f"state: fd_burgers expects shape (batch, {n}, channels), found {tuple(state.shape)}"
            )

    def face_states(self, padded: jax.Array, axis: int) -> tuple[jax.Array, jax.Array]:
        """Left/right states at the ``N + 1`` faces of a padded field along ``axis``."""
        h = self.halo
        n = padded.shape[axis] - 2 * h

        def cells(lo, count):
            return jax.lax.slice_in_dim(padded, lo, lo + count, axis=axis)

        if self.scheme == "rusanov":
            return cells(h - 1, n + 1), cells(h, n + 1)
        # slopes for cells -1 .. n (n + 2 of them)
        left = cells(1, n + 2) - cells(0, n + 2)
        right = cells(2, n + 2) - cells(1, n + 2)
        slope = limited_slope(left, right, self.limiter)
        centre = cells(1, n + 2)
        plus = centre + 0.5 * slope  # value at the right face of each cell
        minus = centre - 0.5 * slope  # value at the left face
        ul = jax.lax.slice_in_dim(plus, 0, n + 1, axis=axis)
        ur = jax.lax.slice_in_dim(minus, 1, n + 2, axis=axis)
        return ul, ur

    def fluxes(self, state: jax.Array) -> jax.Array:
        """Numerical fluxes ``F_{i-1/2}``, ``i = 0..N`` (``N + 1`` faces along the grid axis)."""
        self.check_state(state)
        axis = state.ndim - 2
        g = self.grid
        padded = fill_ghost_axis(
            state, axis, self.halo, g.boundary, dx=g.dx[0], value=g.boundary_value
        )
        ul, ur = self.face_states(padded, axis)
        return rusanov_flux(ul, ur), padded

    def tendency(self, state: jax.Array) -> jax.Array:
        flux, padded = self.fluxes(state)
        axis = state.ndim - 2
        n = self.grid.shape[0]
        dx = self.grid.dx[0]
        div = (
            jax.lax.slice_in_dim(flux, 1, n + 1, axis=axis)
            - jax.lax.slice_in_dim(flux, 0, n, axis=axis)
        ) / dx
        out = -div
        if self.nu > 0:
            out = out + self.nu * self._d2.apply(padded, axis, self.halo, dx)
        return out

    def _speed(self, state: jax.Array | None) -> float:
        if state is not None:
            return float(jnp.max(jnp.abs(state)))
        if self.u_max is not None:
            return self.u_max
        raise ValueError(
            "state: the stable dt of fd_burgers depends on max|u|; call check_dt(state) with "
            "the initial state or construct the step with u_max=..."
        )

    def eigenvalues(self, state: jax.Array | None = None) -> np.ndarray:
        a = self._speed(state)
        (theta,) = theta_grid(1)
        dx = self.grid.dx[0]
        return -a * _LINEARISED[self.scheme].symbol(theta, dx) + self.nu * self._d2.symbol(
            theta, dx
        )

    def time_scale(self, state: jax.Array | None = None) -> tuple[float, str]:
        a = self._speed(state)
        dx = self.grid.dx[0]
        rate = a / dx + 2 * self.nu / dx**2
        text = f"1/(max|u|/dx + 2 nu/dx^2) [max|u| = {a:.4g}]"
        return (1.0 / rate if rate > 0 else float("inf")), text


def fd_burgers_step(grid: Grid, dt: float, *, nu: float = 0.01, **kwargs) -> FDBurgers:
    """Factory: ``FDBurgers(grid, dt, nu=nu, ...)``."""
    return FDBurgers(grid, dt, nu=nu, **kwargs)
