"""Classical PDE solvers (installed as ``sciml.solvers``): the data makers and the baselines.

Every solver is a plain ``state -> state`` step, a callable object carrying its ``grid``
(:class:`Grid`) and ``dt``; :func:`rollout` drives any step, classical or learned.
States are channels-last ``(batch, *spatial, channels)`` arrays. This package never imports
the ML code (``sciml.nn``, ``sciml.train``, ``sciml.stepper``).
"""

from sciml.solvers.grid import Grid as Grid
from sciml.solvers.rollout import BlowUpError as BlowUpError
from sciml.solvers.rollout import rollout as rollout

__all__ = ["BlowUpError", "Grid", "rollout"]
