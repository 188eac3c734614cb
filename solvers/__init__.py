"""Classical PDE solvers (installed as ``sciml.solvers``): the data makers and the baselines.

Every solver is a plain ``state -> state`` step, a callable object carrying its ``grid``
(:class:`Grid`) and ``dt``; :func:`rollout` drives any step, classical or learned.
States are channels-last ``(batch, *spatial, channels)`` arrays. This package never imports
the ML code (``sciml.nn``, ``sciml.train``, ``sciml.stepper``).
"""

from sciml.solvers.coarsen import coarse_grid as coarse_grid
from sciml.solvers.coarsen import coarsen as coarsen
from sciml.solvers.coarsen import coarsen_array as coarsen_array
from sciml.solvers.grid import Grid as Grid
from sciml.solvers.ic.random import gaussian_random_field as gaussian_random_field
from sciml.solvers.ic.random import random_fourier_series as random_fourier_series
from sciml.solvers.ic.standard import burgers_cole_hopf as burgers_cole_hopf
from sciml.solvers.ic.standard import gray_scott_spots as gray_scott_spots
from sciml.solvers.ic.standard import kdv_soliton as kdv_soliton
from sciml.solvers.ic.standard import taylor_green_vortex as taylor_green_vortex
from sciml.solvers.registry import EQUATIONS as EQUATIONS
from sciml.solvers.registry import EquationSpec as EquationSpec
from sciml.solvers.registry import GridDefaults as GridDefaults
from sciml.solvers.registry import ParamSpec as ParamSpec
from sciml.solvers.registry import get_equation as get_equation
from sciml.solvers.registry import register_equation as register_equation
from sciml.solvers.rollout import BlowUpError as BlowUpError
from sciml.solvers.rollout import rollout as rollout
from sciml.solvers.spectral import equations as _equations  # noqa: F401  (registers built-ins)
from sciml.solvers.spectral.advection import Advection as Advection
from sciml.solvers.spectral.base import SpectralStep as SpectralStep
from sciml.solvers.spectral.base import etdrk4_coefficients as etdrk4_coefficients
from sciml.solvers.spectral.burgers import Burgers as Burgers
from sciml.solvers.spectral.gray_scott import GrayScott as GrayScott
from sciml.solvers.spectral.heat import Heat as Heat
from sciml.solvers.spectral.kdv import KdV as KdV
from sciml.solvers.spectral.ks import KuramotoSivashinsky as KuramotoSivashinsky
from sciml.solvers.spectral.ks import KuramotoSivashinsky2D as KuramotoSivashinsky2D
from sciml.solvers.spectral.navier_stokes import NavierStokes2D as NavierStokes2D

__all__ = [
    "EQUATIONS",
    "Advection",
    "BlowUpError",
    "Burgers",
    "EquationSpec",
    "GrayScott",
    "Grid",
    "GridDefaults",
    "Heat",
    "KdV",
    "KuramotoSivashinsky",
    "KuramotoSivashinsky2D",
    "NavierStokes2D",
    "ParamSpec",
    "SpectralStep",
    "burgers_cole_hopf",
    "coarse_grid",
    "coarsen",
    "coarsen_array",
    "etdrk4_coefficients",
    "gaussian_random_field",
    "get_equation",
    "gray_scott_spots",
    "kdv_soliton",
    "random_fourier_series",
    "register_equation",
    "rollout",
    "taylor_green_vortex",
]

# --- finite differences (B2) ---
from sciml.solvers.fd import registry as _fd_registry  # noqa: F401  (registers fd_*)
from sciml.solvers.fd.advection import FDAdvection as FDAdvection
from sciml.solvers.fd.base import FDStep as FDStep
from sciml.solvers.fd.burgers import FDBurgers as FDBurgers
from sciml.solvers.fd.heat import FDHeat as FDHeat
from sciml.solvers.fd.registry import boundary_ic as boundary_ic
from sciml.solvers.fd.wave import FDWave as FDWave
from sciml.solvers.ghost import GHOST_KINDS as GHOST_KINDS
from sciml.solvers.ghost import fill_ghost as fill_ghost
from sciml.solvers.ghost import fill_ghost_axis as fill_ghost_axis
from sciml.solvers.ghost import fill_ghost_grid as fill_ghost_grid
from sciml.solvers.integrators import INTEGRATORS as INTEGRATORS
from sciml.solvers.integrators import ORDER as ORDER
from sciml.solvers.integrators import euler as euler
from sciml.solvers.integrators import get_integrator as get_integrator
from sciml.solvers.integrators import rk2 as rk2
from sciml.solvers.integrators import rk4 as rk4
from sciml.solvers.integrators import ssprk3 as ssprk3
from sciml.solvers.stability import amplification_factor as amplification_factor
from sciml.solvers.stability import max_stable_dt as max_stable_dt
from sciml.solvers.stability import stability_radius as stability_radius

__all__ += [
    "GHOST_KINDS",
    "INTEGRATORS",
    "ORDER",
    "FDAdvection",
    "FDBurgers",
    "FDHeat",
    "FDStep",
    "FDWave",
    "amplification_factor",
    "boundary_ic",
    "euler",
    "fill_ghost",
    "fill_ghost_axis",
    "fill_ghost_grid",
    "get_integrator",
    "max_stable_dt",
    "rk2",
    "rk4",
    "ssprk3",
    "stability_radius",
]
# --- end finite differences (B2) ---
