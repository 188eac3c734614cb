"""Pseudo-spectral solvers on periodic grids (ETDRK4 in Fourier space) and their registry entries.

- :mod:`.base`: :class:`SpectralStep`, ETDRK4 coefficients, wavenumbers, dealiasing;
- one module per equation: heat, advection, Burgers, KdV, Kuramoto-Sivashinsky (1-D/2-D),
  Gray-Scott, 2-D Navier-Stokes (vorticity);
- :mod:`.equations`: their entries in the equation registry (``sciml.solvers.get_equation``).

``sciml.solvers.spectral`` was the module of :class:`SpectralStep`; its names stay importable here.
"""

from sciml.solvers.spectral.base import CFL_LIMIT as CFL_LIMIT
from sciml.solvers.spectral.base import SpectralStep as SpectralStep
from sciml.solvers.spectral.base import dealias_mask as dealias_mask
from sciml.solvers.spectral.base import derivative_wavenumbers as derivative_wavenumbers
from sciml.solvers.spectral.base import etdrk4_coefficients as etdrk4_coefficients
from sciml.solvers.spectral.base import spectral_wavenumbers as spectral_wavenumbers

__all__ = [
    "CFL_LIMIT",
    "SpectralStep",
    "dealias_mask",
    "derivative_wavenumbers",
    "etdrk4_coefficients",
    "spectral_wavenumbers",
]
