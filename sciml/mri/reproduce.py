"""Deprecated: moved to :mod:`sciml.experiments.fastmri` (this alias goes in the next release)."""

from sciml._deprecation import moved_module

__getattr__ = moved_module(__name__, "sciml.experiments.fastmri")
