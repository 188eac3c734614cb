"""Deprecated: the image metrics moved to :mod:`sciml.metrics.image` (alias for one release)."""

from sciml._deprecation import moved_module

__getattr__ = moved_module(__name__, "sciml.metrics.image")
