"""Viscous Burgers equation on a periodic interval (1D), conservative form.

    du/dt + d(u^2 / 2)/dx = nu d^2u/dx^2

``nu > 0`` is the viscosity (length^2 / time). Nondimensional number: the Reynolds number
``Re = U L / nu`` with ``U`` a velocity scale (shocks of width ~ ``nu / U`` form for large Re and
must be resolved: ``dx <~ nu / U``). Diffusion is integrated exactly by ETDRK4, the flux
explicitly with 2/3-rule de-aliasing; the mean of ``u`` (mass) is conserved to round-off.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, spectral_wavenumbers


class Burgers(SpectralStep):
    """1D viscous Burgers step, state ``(batch, N, 1)``.

    Args:
      grid: periodic 1D :class:`Grid`.
      dt: time step.
      nu: viscosity (> 0; use :class:`~sciml.solvers.KdV` or a finite-volume solver for the
        inviscid limit).
    """

    def __init__(self, grid: Grid, dt: float, *, nu: float = 0.01) -> None:
        if grid.ndim != 1:
            raise ValueError(f"grid: Burgers is 1D, found {grid.ndim} axes")
        nu = float(nu)
        if not nu > 0:
            raise ValueError(f"nu: expected a viscosity > 0, found {nu}; pass e.g. nu=0.01")
        (k,) = spectral_wavenumbers(grid)
        super().__init__(grid, dt, -nu * k**2, {"nu": nu})

    def nonlinear(self, u_hat: jax.Array) -> jax.Array:
        u = self.ifft(self.dealias(u_hat))
        return -0.5 * self.ik(0, u_hat.dtype) * self.dealias(self.fft(u * u))

    def advective_speed(self, state: jax.Array) -> jax.Array:
        return jnp.max(jnp.abs(state))
