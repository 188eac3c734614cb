"""Deprecated: moved to :mod:`sciml.experiments.runner` (this alias goes in the next release)."""

from sciml._deprecation import moved_module

__getattr__ = moved_module(
    __name__,
    "sciml.experiments.runner",
    ("MARKER", "prepare_out_dir", "finish_out_dir", "save_figure", "stage", "write_json"),
)
