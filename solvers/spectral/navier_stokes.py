"""2D incompressible Navier-Stokes in vorticity form on a periodic box.

    d(omega)/dt + u . grad(omega) = nu Laplacian(omega) - drag omega + f(y),
    u = (d psi/dy, -d psi/dx),   Laplacian(psi) = -omega,

with ``omega = dv/dx - du/dy`` the vorticity, ``nu`` the kinematic viscosity, ``drag`` a linear
(Rayleigh/Ekman) damping rate and optional Kolmogorov forcing: the body force
``F = (A sin(k_f y), 0)`` with ``k_f = 2 pi n / L_y``, whose curl is ``f(y) = -A k_f cos(k_f y)``
(``n = forcing_wavenumber``, ``A = forcing_amplitude``). ``forcing_amplitude = 0`` and
``drag = 0`` give decaying turbulence. Nondimensional numbers: the Reynolds number ``Re = U L / nu``
(for Kolmogorov flow on ``[0, 2 pi]^2`` with ``A = 1`` the usual ``Re = 1 / nu``) and the drag
relative to the forcing time scale. Axis 0 of the state is ``x``, axis 1 is ``y``.

Viscosity and drag are integrated exactly by ETDRK4, advection and forcing explicitly with
2/3-rule de-aliasing. Without viscosity, drag and forcing the scheme conserves the mean
vorticity to round-off and the energy and enstrophy of the de-aliased field to its accuracy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, spectral_wavenumbers


class NavierStokes2D(SpectralStep):
    """Vorticity step ``omega(t) -> omega(t + dt)``, state ``(batch, Nx, Ny, 1)``.

    Args:
      grid: periodic 2D :class:`Grid`.
      dt: time step.
      nu: kinematic viscosity (>= 0).
      drag: linear drag rate (>= 0).
      forcing_wavenumber: integer ``n`` of the Kolmogorov forcing ``k_f = 2 pi n / L_y``.
      forcing_amplitude: ``A`` (0 = unforced).
    """

    channels = ("omega",)

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        nu: float = 1e-3,
        drag: float = 0.0,
        forcing_wavenumber: int = 4,
        forcing_amplitude: float = 0.0,
    ) -> None:
        if grid.ndim != 2:
            raise ValueError(f"grid: NavierStokes2D is 2D, found {grid.ndim} axes")
        nu, drag, amp = float(nu), float(drag), float(forcing_amplitude)
        if not nu >= 0:
            raise ValueError(f"nu: expected a viscosity >= 0, found {nu}; pass e.g. nu=1e-3")
        if not drag >= 0:
            raise ValueError(f"drag: expected a damping rate >= 0, found {drag}; pass drag=0")
        n_f = int(forcing_wavenumber)
        if amp != 0 and not 1 <= n_f < grid.shape[1] / 3:
            raise ValueError(
                f"forcing_wavenumber: expected an integer in [1, {int(np.ceil(grid.shape[1] / 3)) - 1}]"
                f" (resolved after de-aliasing), found {forcing_wavenumber}"
            )
        params = {
            "nu": nu,
            "drag": drag,
            "forcing_wavenumber": n_f,
            "forcing_amplitude": amp,
        }
        k2 = sum(k**2 for k in spectral_wavenumbers(grid))
        super().__init__(grid, dt, -nu * k2 - drag, params)
        inv = np.where(k2 > 0, 1.0 / np.where(k2 > 0, k2, 1.0), 0.0)
        self._inv_laplacian = inv
        k_f = 2 * np.pi * n_f / grid.length[1]
        y = grid.mesh()[1]
        self.forcing = -amp * k_f * np.cos(k_f * y)[..., None]
        self._forcing_hat = np.fft.rfftn(self.forcing, axes=(0, 1))

    def velocity(self, omega_hat: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Velocity ``(u, v)`` (each ``(..., Nx, Ny, 1)``) from the vorticity spectrum."""
        psi_hat = omega_hat * self.const("inv_lap", self._inv_laplacian, omega_hat.real.dtype)
        u = self.ifft(self.ik(1, omega_hat.dtype) * psi_hat)
        v = self.ifft(-self.ik(0, omega_hat.dtype) * psi_hat)
        return u, v

    def nonlinear(self, omega_hat: jax.Array) -> jax.Array:
        omega_hat = self.dealias(omega_hat)
        u, v = self.velocity(omega_hat)
        wx = self.ifft(self.ik(0, omega_hat.dtype) * omega_hat)
        wy = self.ifft(self.ik(1, omega_hat.dtype) * omega_hat)
        advection = self.dealias(self.fft(u * wx + v * wy))
        return self.const("forcing_hat", self._forcing_hat, omega_hat.dtype) - advection

    def advective_speed(self, state: jax.Array) -> jax.Array:
        u, v = self.velocity(self.fft(jnp.asarray(state)))
        return jnp.max(jnp.sqrt(u * u + v * v))
