"""Finite-volume incompressible Navier-Stokes (the classical baseline of Kochkov et al. 2021)."""

from sciml.solvers.fvns.vorticity import FiniteVolumeNS2D as FiniteVolumeNS2D
from sciml.solvers.fvns.vorticity import muscl_face_values as muscl_face_values
from sciml.solvers.fvns.vorticity import van_leer_slope as van_leer_slope

__all__ = ["FiniteVolumeNS2D", "muscl_face_values", "van_leer_slope"]
