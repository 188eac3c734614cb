"""Linear advection by explicit finite differences (1, 2 or 3 spatial axes).

    du/dt + a_x du/dx + a_y du/dy + ... = 0

with a constant velocity ``a`` (length / time, one component per axis). Exact solution:
``u(x, t) = u0(x - a t)``. Each channel is advected independently.

Schemes for ``du/dx`` (one-dimensional stencils, biased against the sign of ``a_i``):
``"upwind1"`` (order 1, diffusive), ``"central2"`` (order 2, non-dissipative; needs ssprk3 or
rk4), ``"upwind3"`` (third-order upwind-biased, mildly dissipative; the default) and
``"central4"`` (order 4; needs ssprk3 or rk4). For constant ``a`` these equal the conservative
flux-difference forms, so ``sum(u) dV`` is conserved exactly on periodic grids.

Non-periodic grids: a hyperbolic equation takes a condition only where information enters.
The boundary condition of the grid (Dirichlet ``u = g`` or Neumann ``du/dn = g``, with
``g = grid.boundary_value``) is imposed by ghost cells on the inflow face of each axis (the low
face if ``a_i > 0``); the outflow face uses polynomial extrapolation of the scheme's order, which
lets structures leave without reflection.

Stability: ``dt <= C / sum_i(|a_i| / dx_i)`` with ``C`` from the scheme's symbol and the
integrator, e.g. ``C = 1`` for upwind1 + euler, ``1.73`` for central2 + ssprk3, ``2.83`` for
central2 + rk4, ``1.63`` for upwind3 + ssprk3, ``1.75`` for upwind3 + rk4.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.fd.base import FDStep
from sciml.solvers.fd.stencils import FIRST_DERIVATIVE_UPWIND, first_derivative
from sciml.solvers.ghost import fill_ghost_axis
from sciml.solvers.grid import Grid
from sciml.solvers.stability import theta_grid

ADVECTION_SCHEMES = {name: s.order for name, s in FIRST_DERIVATIVE_UPWIND.items()}


class FDAdvection(FDStep):
    """Explicit finite-difference step of linear advection (see module docstring).

    Args:
      grid: grid of 1-3 axes; its boundary kind/value is imposed on the inflow faces.
      dt: time step.
      velocity: ``a``, one float for every axis or one per axis (length / time).
      scheme: ``"upwind1"``, ``"central2"``, ``"upwind3"`` or ``"central4"``.
      integrator: ``"euler"``, ``"rk2"``, ``"ssprk3"`` or ``"rk4"``.
      check: raise ``ValueError`` stating the limit if ``dt`` is unstable.

    State: ``(batch, *grid.shape, C)``, any number of channels ``C``.
    """

    equation = "fd_advection"

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        velocity: float | Sequence[float] = 1.0,
        scheme: str = "upwind3",
        integrator: str = "ssprk3",
        check: bool = True,
    ):
        vel = tuple(velocity) if isinstance(velocity, (tuple, list)) else (velocity,) * grid.ndim
        if len(vel) != grid.ndim:
            raise ValueError(
                f"velocity: expected {grid.ndim} components (one per axis), found {len(vel)}"
            )
        try:
            vel = tuple(float(v) for v in vel)
        except (TypeError, ValueError):
            raise ValueError(f"velocity: expected numbers, found {velocity!r}") from None
        if not all(np.isfinite(vel)):
            raise ValueError(f"velocity: expected finite components, found {vel}")
        super().__init__(
            grid,
            dt,
            integrator=integrator,
            scheme=scheme,
            schemes=ADVECTION_SCHEMES,
            params={"velocity": vel if grid.ndim > 1 else vel[0]},
        )
        self.velocity = vel
        self.stencils = [first_derivative(scheme, a) for a in vel]
        self.halo = FIRST_DERIVATIVE_UPWIND[scheme].halo
        self._extrapolation_order = max(2, self.order)
        if check:
            self.check_dt()

    def check_state(self, state: jax.Array) -> None:
        nd = self.grid.ndim
        if state.ndim < nd + 1 or tuple(state.shape[-nd - 1 : -1]) != self.grid.shape:
            raise ValueError(
                f"state: fd_advection expects shape (batch, *{self.grid.shape}, channels), "
                f"found {tuple(state.shape)}"
            )

    def _kinds(self, a: float) -> str | tuple[str, str]:
        b = self.grid.boundary
        if b == "periodic":
            return b
        return (b, "extrapolate") if a >= 0 else ("extrapolate", b)

    def tendency(self, state: jax.Array) -> jax.Array:
        self.check_state(state)
        g = self.grid
        out = 0.0
        for axis, dx, a, stencil in zip(
            self.spatial_axes(state), g.dx, self.velocity, self.stencils
        ):
            if a == 0.0:
                continue
            padded = fill_ghost_axis(
                state,
                axis,
                self.halo,
                self._kinds(a),
                dx=dx,
                value=g.boundary_value,
                order=self._extrapolation_order,
            )
            out = out - a * stencil.apply(padded, axis, self.halo, dx)
        return jnp.zeros_like(state) if isinstance(out, float) else out  # a = 0: nothing moves

    def eigenvalues(self, state: jax.Array | None = None) -> np.ndarray:
        thetas = theta_grid(self.grid.ndim)
        return -sum(
            a * s.symbol(t, dx)
            for a, s, t, dx in zip(self.velocity, self.stencils, thetas, self.grid.dx)
        )

    def time_scale(self, state: jax.Array | None = None) -> tuple[float, str]:
        rate = sum(abs(a) / dx for a, dx in zip(self.velocity, self.grid.dx))
        text = "dx/|a|" if self.grid.ndim == 1 else "1/(sum_i |a_i|/dx_i)"
        return (1.0 / rate if rate > 0 else float("inf")), text


def fd_advection_step(grid: Grid, dt: float, *, velocity=1.0, **kwargs) -> FDAdvection:
    """Factory: ``FDAdvection(grid, dt, velocity=velocity, ...)``."""
    return FDAdvection(grid, dt, velocity=velocity, **kwargs)
