"""Linear advection (optionally advection-diffusion) on a periodic box (1D, 2D, 3D), exact in time.

    du/dt + c . grad(u) = nu Laplacian(u)

``c`` is a constant velocity (length / time, one component per axis) and ``nu >= 0`` an optional
diffusivity. Every Fourier mode is multiplied by ``exp((-i c.k - nu |k|^2) dt)``, so with
``nu = 0`` the step is an exact shift by ``c dt`` of the band-limited interpolant (no CFL limit,
no numerical diffusion). Nondimensional numbers: the Courant number ``|c| dt / dx`` (any value is
stable here) and the Peclet number ``|c| L / nu``.
"""

from __future__ import annotations

import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, derivative_wavenumbers, spectral_wavenumbers


class Advection(SpectralStep):
    """Periodic pseudo-spectral advection(-diffusion) step, state ``(batch, *grid.shape, C)``.

    Args:
      grid: periodic :class:`Grid` (1-3 axes).
      dt: time step.
      velocity: one velocity component per axis (a number is accepted in 1D).
      nu: diffusivity (>= 0, default 0: pure advection).
      channels: field names (default ``("u",)``); all channels are advected alike.
    """

    has_nonlinear = False

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        velocity: float | tuple[float, ...] = 1.0,
        nu: float = 0.0,
        channels: tuple[str, ...] = ("u",),
    ) -> None:
        velocity = tuple(float(c) for c in np.atleast_1d(velocity))
        if len(velocity) != grid.ndim:
            raise ValueError(
                f"velocity: expected {grid.ndim} components (one per axis), found {len(velocity)}"
            )
        if not all(np.isfinite(velocity)):
            raise ValueError(f"velocity: expected finite components, found {velocity}")
        nu = float(nu)
        if not nu >= 0:
            raise ValueError(f"nu: expected a diffusivity >= 0, found {nu}; pass nu=0 for none")
        self.channels = tuple(channels)
        k2 = sum(k**2 for k in spectral_wavenumbers(grid))
        ck = sum(c * k for c, k in zip(velocity, derivative_wavenumbers(grid)))
        linear = (-1j * ck - nu * k2) * np.ones(len(self.channels))
        super().__init__(grid, dt, linear, {"velocity": velocity, "nu": nu})
