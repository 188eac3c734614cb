"""Heat / diffusion equation by explicit finite differences (1, 2 or 3 spatial axes).

    du/dt = nu * (d^2u/dx^2 + d^2u/dy^2 + ...)

``nu`` (> 0) is the diffusivity (length^2 / time). Each channel diffuses independently.
The Laplacian is a sum of one-dimensional second-difference stencils: ``"central2"`` (order 2)
or ``"central4"`` (order 4; Dirichlet/Neumann ghosts then use polynomials of degree 4).
Boundaries (``grid.boundary``, all faces): periodic; Dirichlet ``u = g`` on the faces; Neumann
``du/dn = g`` (outward normal derivative; ``g = 0`` insulates), with ``g = grid.boundary_value``.
With the second-order scheme the discrete Laplacian is in flux form, so the total heat
``sum(u) * dV`` is conserved exactly for periodic and zero-flux Neumann grids.

Stability (von Neumann): the eigenvalues lie on the negative real axis down to
``-4 nu sum_i 1/dx_i^2`` (central2; ``-16/3`` times that scale for central4), so e.g.
``dt <= 0.5 dx^2/nu`` (euler, 1D central2), ``0.628`` with ssprk3, ``0.696`` with rk4.
"""

from __future__ import annotations

import jax
import numpy as np
from sciml.solvers.fd.base import FDStep, positive
from sciml.solvers.fd.stencils import SECOND_DERIVATIVE
from sciml.solvers.grid import Grid
from sciml.solvers.stability import theta_grid

HEAT_SCHEMES = {name: s.order for name, s in SECOND_DERIVATIVE.items()}


class FDHeat(FDStep):
    """Explicit finite-difference step of the heat equation (see module docstring).

    Args:
      grid: grid of 1-3 axes; its boundary kind and value set the boundary condition.
      dt: time step.
      nu: diffusivity ``> 0``.
      scheme: ``"central2"`` or ``"central4"``.
      integrator: ``"euler"``, ``"rk2"``, ``"ssprk3"`` or ``"rk4"``.
      check: raise ``ValueError`` stating the limit if ``dt`` is unstable.

    State: ``(batch, *grid.shape, C)``, any number of channels ``C``.
    """

    equation = "fd_heat"

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        nu: float = 0.01,
        scheme: str = "central2",
        integrator: str = "rk4",
        check: bool = True,
    ):
        nu = positive("nu", nu, "the diffusivity must be positive, e.g. nu=0.01")
        super().__init__(
            grid, dt, integrator=integrator, scheme=scheme, schemes=HEAT_SCHEMES, params={"nu": nu}
        )
        self.nu = nu
        self.stencil = SECOND_DERIVATIVE[scheme]
        self.halo = self.stencil.halo
        # Polynomial ghosts one degree above the scheme's order keep the boundary cells from
        # limiting the global order (needed for Neumann with central4).
        self._ghost_order = 2 if self.stencil.order == 2 else self.stencil.order + 1
        if check:
            self.check_dt()

    def check_state(self, state: jax.Array) -> None:
        nd = self.grid.ndim
        if state.ndim < nd + 1 or tuple(state.shape[-nd - 1 : -1]) != self.grid.shape:
            raise ValueError(
                f"state: fd_heat expects shape (batch, *{self.grid.shape}, channels), "
                f"found {tuple(state.shape)}"
            )

    def tendency(self, state: jax.Array) -> jax.Array:
        self.check_state(state)
        return self.nu * self.laplacian(state)

    def eigenvalues(self, state: jax.Array | None = None) -> np.ndarray:
        thetas = theta_grid(self.grid.ndim)
        return self.nu * sum(self.stencil.symbol(t, dx) for t, dx in zip(thetas, self.grid.dx))

    def time_scale(self, state: jax.Array | None = None) -> tuple[float, str]:
        inv = sum(1.0 / dx**2 for dx in self.grid.dx)
        text = "dx^2/nu" if self.grid.ndim == 1 else "1/(nu * sum_i 1/dx_i^2)"
        return 1.0 / (self.nu * inv), text


def fd_heat_step(grid: Grid, dt: float, *, nu: float = 0.01, **kwargs) -> FDHeat:
    """Factory: ``FDHeat(grid, dt, nu=nu, ...)``."""
    return FDHeat(grid, dt, nu=nu, **kwargs)
