"""Deprecated: moved to :mod:`sciml.experiments.runner` (this alias goes in the next release)."""

from __future__ import annotations

import warnings
from typing import Any

_NAMES = ("MARKER", "prepare_out_dir", "save_figure", "stage", "write_json")


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        warnings.warn(
            f"sciml.stepper.report.{name} moved to sciml.experiments.runner.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        from sciml.experiments import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'sciml.stepper.report' has no attribute {name!r}")
