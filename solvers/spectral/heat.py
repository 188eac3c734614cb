"""Heat / diffusion equation on a periodic box (1D, 2D, 3D), exact in time.

    du/dt = nu * Laplacian(u)

``nu`` is the diffusivity (length^2 / time). In Fourier space every mode decays as
``exp(-nu |k|^2 t)``, so the step is the exact exponential (ETDRK4 with ``N = 0``); there is no
time-step restriction. Nondimensional numbers: the diffusion number ``nu dt / dx^2`` (any value
is stable here) and, for a mode ``k``, the decay ``nu |k|^2 t``.
"""

from __future__ import annotations

import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, spectral_wavenumbers


class Heat(SpectralStep):
    """Periodic pseudo-spectral heat step ``u(t) -> u(t + dt)`` for any number of channels.

    Args:
      grid: periodic :class:`Grid` (1-3 axes).
      dt: time step.
      nu: diffusivity (>= 0).
      channels: field names (default ``("u",)``); every channel diffuses with ``nu``.

    The state is ``(batch, *grid.shape, len(channels))``.
    """

    has_nonlinear = False

    def __init__(
        self, grid: Grid, dt: float, *, nu: float = 0.01, channels: tuple[str, ...] = ("u",)
    ) -> None:
        nu = float(nu)
        if not nu >= 0:
            raise ValueError(f"nu: expected a diffusivity >= 0, found {nu}; pass e.g. nu=0.01")
        self.channels = tuple(channels)
        k2 = sum(k**2 for k in spectral_wavenumbers(grid))
        super().__init__(grid, dt, -nu * k2 * np.ones(len(self.channels)), {"nu": nu})
