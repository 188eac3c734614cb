"""Classical PDE solvers (installed as ``sciml.solvers``): the data makers and the baselines.

Every solver is a plain ``state -> state`` step, a callable object carrying its ``grid``
(:class:`Grid`) and ``dt``; :func:`rollout` drives any step, classical or learned.
States are channels-last ``(batch, *spatial, channels)`` arrays. This package never imports
the ML code (``sciml.nn``, ``sciml.train``, ``sciml.stepper``).
"""

from sciml.solvers import equations as _equations  # noqa: F401  (registers built-ins)
from sciml.solvers.coarsen import coarse_grid as coarse_grid
from sciml.solvers.coarsen import coarsen as coarsen
from sciml.solvers.grid import Grid as Grid
from sciml.solvers.heat import Heat as Heat
from sciml.solvers.ic_random import gaussian_random_field as gaussian_random_field
from sciml.solvers.ic_random import random_fourier_series as random_fourier_series
from sciml.solvers.ks import KuramotoSivashinsky as KuramotoSivashinsky
from sciml.solvers.ks import KuramotoSivashinsky2D as KuramotoSivashinsky2D
from sciml.solvers.registry import EQUATIONS as EQUATIONS
from sciml.solvers.registry import EquationSpec as EquationSpec
from sciml.solvers.registry import GridDefaults as GridDefaults
from sciml.solvers.registry import ParamSpec as ParamSpec
from sciml.solvers.registry import get_equation as get_equation
from sciml.solvers.registry import register_equation as register_equation
from sciml.solvers.rollout import BlowUpError as BlowUpError
from sciml.solvers.rollout import rollout as rollout
from sciml.solvers.spectral import SpectralStep as SpectralStep
from sciml.solvers.spectral import etdrk4_coefficients as etdrk4_coefficients

__all__ = [
    "EQUATIONS",
    "BlowUpError",
    "EquationSpec",
    "Grid",
    "GridDefaults",
    "Heat",
    "KuramotoSivashinsky",
    "KuramotoSivashinsky2D",
    "ParamSpec",
    "SpectralStep",
    "coarse_grid",
    "coarsen",
    "etdrk4_coefficients",
    "gaussian_random_field",
    "get_equation",
    "random_fourier_series",
    "register_equation",
    "rollout",
]
