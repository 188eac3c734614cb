"""Rollout of a graph stepper against a reference trajectory (nRMSE, correlation, cost).

Trajectories are ``(batch, frames, N, C)``; the node axis plays the part of the one spatial axis
of :mod:`sciml.metrics.field` (``ndim=1``): nRMSE is the PDEBench per-channel relative L2 error
over the nodes, the correlation the Pearson correlation over nodes and channels, the correlation
time the first time it drops below the threshold (linear interpolation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sciml.metrics.field import correlation_time, correlation_vs_time, finite_mask, nrmse_vs_time


def rollout(step: Callable, z0: Any, n_steps: int, *, save_every: int = 1) -> np.ndarray:
    """``(batch, n_steps // save_every + 1, N, C)`` from ``z0`` ``(batch, N, C)`` under ``jit``."""
    import jax

    from sciml.solvers.rollout import rollout as scan_rollout

    run = jax.jit(
        lambda z: scan_rollout(step, z, n_steps, save_every=save_every, check_finite=False)
    )
    return np.asarray(run(jax.numpy.asarray(z0, jax.numpy.float32)))


def score(
    prediction: np.ndarray, reference: np.ndarray, times: np.ndarray, *, threshold: float = 0.8
) -> dict[str, Any]:
    """Curves and summaries of ``prediction`` against ``reference`` (same shapes)."""
    prediction = np.asarray(prediction, np.float64)
    reference = np.asarray(reference, np.float64)
    bound = 100.0 * float(np.max(np.abs(reference)))
    ok = finite_mask(prediction, bound)
    prediction = np.where(ok[..., None, None], prediction, np.nan)
    err = nrmse_vs_time(prediction, reference, ndim=1)
    corr = correlation_vs_time(prediction, reference, ndim=1)
    return {
        "times": np.asarray(times),
        "nrmse": err,
        "correlation": corr,
        "nrmse_mean": float(np.mean(err[1:])) if err.size > 1 else 0.0,
        "nrmse_final": float(err[-1]),
        "correlation_time": correlation_time(corr, times, threshold),
    }


def seconds_per_step(step: Callable, z: Any, *, repeats: int = 20) -> float:
    """Median wall time of one (compiled) step on ``z`` (the first call compiles and is skipped)."""
    out = step(z)
    if hasattr(out, "block_until_ready"):
        out.block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = step(z)
        if hasattr(out, "block_until_ready"):
            out.block_until_ready()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
