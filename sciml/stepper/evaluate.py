"""Score a rollout of a learned or classical stepper against a reference trajectory.

The metrics themselves (nRMSE, correlation, correlation time, blow-up, spectra) live in
:mod:`sciml.metrics`; their old names here are deprecated aliases for one release.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from sciml._deprecation import moved_module
from sciml.metrics import field as _field
from sciml.solvers.rollout import rollout

_MOVED_FIELD = (
    "finite_mask", "nrmse_per_sample", "nrmse_vs_time", "correlation_vs_time",
    "correlation_time", "blowup_time",
)  # fmt: skip
_field_alias = moved_module(__name__, "sciml.metrics.field", _MOVED_FIELD)
_spectra_alias = moved_module(__name__, "sciml.metrics.spectra", ("energy_spectrum",))


def __getattr__(name: str) -> Any:
    if name == "energy_spectrum":
        return _spectra_alias(name)
    return _field_alias(name)


def evaluate_rollout(
    step: Callable[[jax.Array], jax.Array],
    reference: np.ndarray,
    *,
    ndim: int,
    dt: float,
    save_every: int = 1,
    threshold: float = 0.8,
    correlation: str = "interpolated",
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    initial: np.ndarray | None = None,
    blowup_factor: float = 100.0,
    trajectory: np.ndarray | None = None,
) -> dict[str, Any]:
    """Roll ``step`` out from ``reference[:, 0]`` and compare with ``reference``.

    Args:
      step: ``(batch, *spatial, C) -> same`` with time step ``dt``.
      reference: ``(batch, T + 1, *spatial, C)`` frames ``save_every * dt`` apart.
      ndim: spatial axes.
      project: maps the rolled-out trajectory (on the step's grid) to the reference grid (for
        classical solvers at other resolutions); identity by default.
      initial: initial state on the step's grid (default ``reference[:, 0]``).
      trajectory: an already computed rollout ``(batch, T + 1, *spatial_step, C)`` to score
        instead of rolling ``step`` out (``step`` may then be None).
      threshold, correlation: the correlation time is the first time the correlation drops
        below ``threshold``, ``"interpolated"`` between frames or ``"kochkov2021"`` (the first
        saved frame below it; see :mod:`sciml.metrics.field`).
      blowup_factor: a sample counts as blown up once ``max|u|`` exceeds this multiple of the
        reference's ``max|u|``.

    Returns:
      ``{"times", "prediction", "nrmse", "correlation", "nrmse_mean", "correlation_time",
      "correlation_time_definition", "blowup_time"}``: curves ``(T + 1,)``, scalar summaries over the whole horizon.
    """
    reference = np.asarray(reference)
    n_frames = reference.shape[1] - 1
    if trajectory is None:
        z0 = reference[:, 0] if initial is None else initial
        trajectory = rollout(
            step,
            jax.numpy.asarray(z0),
            n_frames * save_every,
            save_every=save_every,
            check_finite=False,
        )
    pred = np.asarray(trajectory)
    if project is not None:
        pred = project(pred)
    times = np.arange(n_frames + 1) * save_every * dt
    bound = blowup_factor * float(np.max(np.abs(reference)))
    ok = _field.finite_mask(pred, bound)
    pred = np.where(ok.reshape(ok.shape + (1,) * (pred.ndim - 2)), pred, np.nan)
    err = _field.nrmse_vs_time(pred, reference, ndim=ndim)
    corr = _field.correlation_vs_time(pred, reference, ndim=ndim)
    definition = _field.correlation_time_definition(correlation, threshold)
    t_corr = (
        _field.correlation_time_kochkov2021(corr, times, threshold)
        if correlation == "kochkov2021"
        else _field.correlation_time(corr, times, threshold)
    )
    return {
        "times": times,
        "prediction": pred,
        "nrmse": err,
        "correlation": corr,
        "nrmse_mean": float(np.mean(err[1:])) if n_frames else 0.0,
        "correlation_time": t_corr,
        "correlation_time_definition": definition,
        "blowup_time": _field.blowup_time(pred, times),
    }
