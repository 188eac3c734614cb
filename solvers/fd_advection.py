"""Deprecated path: moved to :mod:`sciml.solvers.fd.advection` (alias for one release)."""

from sciml._deprecation import moved_module

__getattr__ = moved_module(__name__, "sciml.solvers.fd.advection")
