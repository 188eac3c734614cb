"""Deprecated: moved to :mod:`sciml.experiments.stepper_experiment` (alias for one release)."""

from sciml._deprecation import moved_module

__getattr__ = moved_module(__name__, "sciml.experiments.stepper_experiment")
