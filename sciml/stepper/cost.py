"""Accuracy against cost: learned steppers versus classical solvers at several resolutions.

Every candidate (the learned stepper; a classical solver at the coarse grid and at finer grids,
each at one or more time steps) is rolled out from the same initial conditions, projected onto
the evaluation grid, and scored against the reference with :mod:`sciml.stepper.evaluate`. Its
cost is the wall time per simulated time unit of a jitted rollout of the same batch on the same
device (best of a few repeats, compile time excluded).

The speed-up at equal accuracy is ``cost(cheapest classical candidate whose nRMSE over the
horizon is <= the learned stepper's) / cost(learned stepper)``. Include the reference
resolution among the candidates so that one classical candidate always qualifies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sciml.solvers.rollout import rollout
from sciml.stepper.evaluate import evaluate_rollout


@dataclass
class CostPoint:
    """One candidate of an accuracy-cost study.

    Attributes:
      name: label, e.g. ``"classical N=64 dt=0.25"``.
      kind: ``"learned"`` or ``"classical"``.
      grid_shape: points per spatial axis the candidate runs on.
      dt: its time step (time units).
      nrmse: mean nRMSE over the horizon (``inf`` after a blow-up).
      correlation_time: time until the correlation with the reference drops below 0.8.
      blowup_time: first time a sample blew up (``inf`` if never).
      seconds_per_time_unit: wall time per simulated time unit for the whole batch.
    """

    name: str
    kind: str
    grid_shape: tuple[int, ...]
    dt: float
    nrmse: float
    correlation_time: float
    blowup_time: float
    seconds_per_time_unit: float

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["grid_shape"] = list(self.grid_shape)
        for k in ("nrmse", "correlation_time", "blowup_time", "seconds_per_time_unit"):
            d[k] = _finite_or_none(d[k])
        return d


def _finite_or_none(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def wall_time_per_time_unit(
    step: Callable[[jax.Array], jax.Array],
    state: jax.Array,
    *,
    dt: float,
    duration: float,
    repeats: int = 3,
) -> float:
    """Seconds of wall time per simulated time unit for ``step`` advancing ``state``.

    Compiles a ``lax.scan`` of ``round(duration / dt)`` steps (keeping only the final state),
    runs it once to warm up, then returns the best of ``repeats`` timed runs divided by the
    simulated time.
    """
    n = max(1, round(duration / dt))

    @jax.jit
    def run(z):
        return jax.lax.scan(lambda c, _: (step(c), None), z, None, length=n)[0]

    z = jnp.asarray(state)
    jax.block_until_ready(run(z))
    best = np.inf
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        jax.block_until_ready(run(z))
        best = min(best, time.perf_counter() - t0)
    return best / (n * dt)


def measure(
    name: str,
    kind: str,
    step: Callable[[jax.Array], jax.Array],
    initial: np.ndarray,
    reference: np.ndarray,
    *,
    ndim: int,
    dt: float,
    frame_dt: float,
    horizon: float,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    repeats: int = 3,
) -> tuple[CostPoint, dict[str, Any]]:
    """Score and time one candidate.

    Args:
      step: the candidate's step on its own grid (``initial`` has its grid's shape).
      initial: ``(batch, *spatial, C)`` initial states on the candidate's grid.
      reference: ``(batch, T + 1, *spatial_eval, C)`` reference frames ``frame_dt`` apart.
      dt: the candidate's time step; ``frame_dt`` must be a multiple of it.
      horizon: time over which nRMSE is averaged (<= ``T * frame_dt``).
      project: maps a candidate trajectory to the evaluation grid.

    The rollout over the whole reference is jitted once, then timed ``repeats`` times (compile
    time excluded); its output is scored.

    Returns:
      The :class:`CostPoint` and the full :func:`evaluate_rollout` result.
    """
    save_every = round(frame_dt / dt)
    if save_every < 1 or abs(save_every * dt - frame_dt) > 1e-6 * frame_dt:
        raise ValueError(
            f"{name}: frame spacing {frame_dt} is not a multiple of dt={dt}; choose dt = "
            f"{frame_dt} / n"
        )
    n_frames = np.shape(reference)[1] - 1
    run = jax.jit(
        lambda z: rollout(step, z, n_frames * save_every, save_every=save_every, check_finite=False)
    )
    z0 = jnp.asarray(initial)
    traj = jax.block_until_ready(run(z0))  # compiles; the timed runs below reuse it
    best = np.inf
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        jax.block_until_ready(run(z0))
        best = min(best, time.perf_counter() - t0)
    seconds = best / (n_frames * frame_dt)
    result = evaluate_rollout(
        None, reference, ndim=ndim, dt=dt, save_every=save_every, project=project, trajectory=traj
    )
    n_h = max(1, min(n_frames, round(horizon / frame_dt)))
    nrmse = float(np.mean(result["nrmse"][1 : n_h + 1]))
    shape = tuple(int(n) for n in np.shape(initial)[1 : 1 + ndim])
    point = CostPoint(
        name,
        kind,
        shape,
        float(dt),
        nrmse,
        result["correlation_time"],
        result["blowup_time"],
        seconds,
    )
    return point, result


def speedup_at_equal_accuracy(learned: CostPoint, classical: Sequence[CostPoint]) -> dict[str, Any]:
    """Cost of the cheapest classical candidate as accurate as ``learned``, over the learned cost.

    Returns:
      ``{"speedup", "matched", "matched_nrmse", "matched_seconds_per_time_unit"}``; ``speedup``
      is None (and ``matched`` None) when no classical candidate reaches the learned accuracy.
    """
    ok = [c for c in classical if np.isfinite(c.nrmse) and c.nrmse <= learned.nrmse]
    if not ok:
        return {
            "speedup": None,
            "matched": None,
            "matched_nrmse": None,
            "matched_seconds_per_time_unit": None,
        }
    best = min(ok, key=lambda c: c.seconds_per_time_unit)
    return {
        "speedup": best.seconds_per_time_unit / learned.seconds_per_time_unit,
        "matched": best.name,
        "matched_nrmse": best.nrmse,
        "matched_seconds_per_time_unit": best.seconds_per_time_unit,
    }
