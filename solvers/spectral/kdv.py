"""Korteweg-de Vries equation on a periodic interval (1D).

    du/dt + alpha u du/dx + beta d^3u/dx^3 = nu d^2u/dx^2

with the classic form ``alpha = 6, beta = 1, nu = 0``. The solitary waves are
``u = (3 c / alpha) sech^2( sqrt(c / (4 beta)) (x - c t - x0) )`` (speed ``c > 0``); the
ratio of nonlinearity to dispersion is the Ursell number ``U = alpha A l^2 / beta`` for an
amplitude ``A`` and width ``l``. For ``nu = 0`` the equation conserves the mass ``int u dx``, the
momentum ``int u^2 dx`` and the energy ``int (beta u_x^2 / 2 - alpha u^3 / 6) dx``; the scheme
conserves the mass to round-off and the others to its accuracy. Dispersion (and the optional
viscosity ``nu >= 0``) is integrated exactly by ETDRK4, the flux ``alpha u^2 / 2`` explicitly with
2/3-rule de-aliasing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, derivative_wavenumbers, spectral_wavenumbers


class KdV(SpectralStep):
    """1D KdV step, state ``(batch, N, 1)``.

    Args:
      grid: periodic 1D :class:`Grid`.
      dt: time step.
      alpha: nonlinear coefficient (default 6).
      beta: dispersion coefficient (default 1; must be nonzero).
      nu: viscosity (>= 0, default 0).
    """

    def __init__(
        self, grid: Grid, dt: float, *, alpha: float = 6.0, beta: float = 1.0, nu: float = 0.0
    ) -> None:
        if grid.ndim != 1:
            raise ValueError(f"grid: KdV is 1D, found {grid.ndim} axes")
        alpha, beta, nu = float(alpha), float(beta), float(nu)
        if not (np.isfinite(alpha) and np.isfinite(beta) and beta != 0):
            raise ValueError(f"beta: expected a finite nonzero dispersion, found {beta}")
        if not nu >= 0:
            raise ValueError(f"nu: expected a viscosity >= 0, found {nu}; pass nu=0 for none")
        (k,) = spectral_wavenumbers(grid)
        (kd,) = derivative_wavenumbers(grid)
        # d^3/dx^3 -> (i k)^3 = -i k^3, so -beta u_xxx -> +i beta k^3 (odd: Nyquist-free k).
        super().__init__(
            grid, dt, 1j * beta * kd**3 - nu * k**2, {"alpha": alpha, "beta": beta, "nu": nu}
        )

    def nonlinear(self, u_hat: jax.Array) -> jax.Array:
        u = self.ifft(self.dealias(u_hat))
        alpha = self.params["alpha"]
        return -0.5 * alpha * self.ik(0, u_hat.dtype) * self.dealias(self.fft(u * u))

    def advective_speed(self, state: jax.Array) -> jax.Array:
        return abs(self.params["alpha"]) * jnp.max(jnp.abs(state))
