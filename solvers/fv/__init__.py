"""Finite-volume solvers (flux form on cell averages): 1-D forced viscous Burgers.

``FVBurgers`` steps ``u_t + (u^2/2)_x = nu u_xx + f(x, t)`` on a periodic interval with a Godunov
flux on face states from first-order upwind, MUSCL (van Leer) or WENO5 reconstruction, and SSP-RK3
time stepping; ``random_forcing`` draws the large-scale random forcing of Bar-Sinai et al. (2019).
"""

from sciml.solvers.fv.burgers import (
    FV_SCHEMES,
    FVBurgers,
    godunov_flux,
    sine_cell_average,
)
from sciml.solvers.fv.forcing import Forcing, forcing_cell_average, random_forcing
from sciml.solvers.fv.weno import weno5_faces

__all__ = [
    "FV_SCHEMES",
    "FVBurgers",
    "Forcing",
    "forcing_cell_average",
    "godunov_flux",
    "random_forcing",
    "sine_cell_average",
    "weno5_faces",
]
