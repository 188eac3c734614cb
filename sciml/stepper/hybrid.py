"""Hybrid stepper: a classical coarse step with a learned correction (solver in the loop).

    z*      = S^m(z_n)                       m steps of a classical solver at dt / m
    z_{n+1} = z* + dt C(z*)                  C: learned correction rate (state units per time)

with ``C(z) = correction_std * G((z - state_mean) / state_std) + correction_mean`` and ``G`` any
network of the zoo (conv -> f -> conv by default). The classical step ``S`` is plain JAX, so a
k-step unrolled loss (:class:`sciml.stepper.tasks.RolloutTask`) back-propagates through the
solver as well as the network (Um et al. 2020 "solver in the loop"; Kochkov et al. 2021
"learned correction").

The classical solver comes from the equation registry (``sciml.solvers.get_equation``), so the
stepper is rebuilt from plain values (:func:`make_hybrid_stepper`) by ``restore_model``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from flax import nnx

from sciml.stepper.model import LearnedStepper, build_tendency_network
from sciml.stepper.normalisation import FIELDS, Normalisation, resolve


class HybridStepper(LearnedStepper):
    """A :class:`LearnedStepper` whose step is a classical step plus a learned correction.

    Args:
      tendency: the correction network G, ``(batch, *spatial, C) -> same``.
      solver: a classical ``state -> state`` step with ``.grid`` and ``.dt``; ``dt`` must be a
        whole multiple of ``solver.dt``.
      solver_spec: plain description of the solver (equation name, grid, dt, parameters) kept in
        the metadata for provenance.
      dt: the hybrid step (time units).
      kwargs: as :class:`LearnedStepper` (``tendency_mean/std`` describe the correction rate).

    Shapes:
      ``step(z)``: ``(batch, *solver.grid.shape, C)`` -> same.
    """

    def __init__(
        self,
        tendency: nnx.Module,
        *,
        solver: Any,
        dt: float,
        solver_spec: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        solver_dt = float(getattr(solver, "dt", dt))
        substeps = round(dt / solver_dt)
        if substeps < 1 or abs(substeps * solver_dt - dt) > 1e-6 * dt:
            raise ValueError(
                f"dt: the hybrid step {dt} must be a whole multiple of the solver's dt "
                f"{solver_dt}; use solver_dt = {dt} / n"
            )
        grid = getattr(solver, "grid", None)
        if grid is not None:
            kwargs.setdefault("dx", grid.dx)
            kwargs.setdefault("grid_shape", grid.shape)
            kwargs.setdefault("boundary", grid.boundary)
        super().__init__(tendency, dt=dt, integrator="euler", **kwargs)
        self.solver = solver
        self.substeps = int(substeps)
        self.solver_spec = dict(solver_spec or {})

    def classical(self, z: jax.Array) -> jax.Array:
        """The classical part ``S^m(z)`` alone, ``(batch, *spatial, C)``."""
        for _ in range(self.substeps):
            z = self.solver(z)
        return z

    def step(self, z: jax.Array) -> jax.Array:
        """``S^m(z) + dt C(S^m(z))``: ``(batch, *spatial, C)`` -> same."""
        self.check_state(z)
        zs = self.classical(z)
        return zs + self.dt * self.tendency_fn(zs)

    __call__ = step

    def with_integrator(self, integrator: str | None = None, dt: float | None = None):
        """Not available: the hybrid step is tied to its classical solver's time step."""
        raise ValueError(
            "with_integrator: a HybridStepper's step is the classical solver plus an Euler "
            "correction; rebuild it with make_hybrid_stepper(dt=..., solver_dt=...) instead"
        )

    def metadata(self) -> dict[str, Any]:
        meta = super().metadata()
        meta["integrator"] = "hybrid"
        meta["hybrid"] = {"substeps": self.substeps, "solver": self.solver_spec}
        return meta


def make_hybrid_stepper(
    *,
    equation: str,
    grid_shape: Sequence[int],
    length: Sequence[float] | float,
    dt: float,
    solver_dt: float | None = None,
    params: dict[str, Any] | None = None,
    variables: Sequence[str] | None = None,
    network: str = "tendency",
    network_kwargs: dict[str, Any] | None = None,
    units: dict[str, str] | None = None,
    normalisation: dict[str, Any] | Normalisation | None = None,
    stats_dir: str | None = None,
    rngs: nnx.Rngs,
    **legacy: Any,
) -> HybridStepper:
    """Build a :class:`HybridStepper` around the registered equation ``equation``.

    Args:
      equation: registry name (``"ks1d"``, ``"ns2d_kolmogorov"``...); its ``make_step`` builds S.
      grid_shape, length: the coarse periodic grid.
      dt: hybrid step; ``solver_dt`` (default ``dt``) the classical sub-step.
      params: equation parameters (validated by the registry).
      network, network_kwargs: the correction network (see ``build_tendency_network``).
      normalisation, stats_dir: as :func:`sciml.stepper.model.make_learned_stepper`
        (``tendency_mean/std`` describe the correction rate, :func:`correction_stats`).
    """
    unknown = sorted(set(legacy) - {*FIELDS, "data_hash"})
    if unknown:
        raise TypeError(f"make_hybrid_stepper: unexpected keyword arguments {unknown}")
    norm = resolve(normalisation, stats_dir, legacy)
    from sciml.solvers import Grid, get_equation

    spec = get_equation(equation)
    grid = Grid(tuple(grid_shape), tuple(np.broadcast_to(length, (len(grid_shape),))))
    solver_dt = float(dt if solver_dt is None else solver_dt)
    solver = spec.make_step(grid, solver_dt, **dict(params or {}))
    variables = tuple(variables or spec.channels)
    g = build_tendency_network(
        network, len(variables), ndim=grid.ndim, rngs=rngs, **dict(network_kwargs or {})
    )
    solver_spec = {
        "equation": equation,
        "grid": grid.to_dict(),
        "solver_dt": solver_dt,
        "params": dict(params or {}),
    }
    return HybridStepper(
        g,
        solver=solver,
        dt=dt,
        solver_spec=solver_spec,
        variables=variables,
        units=dict(units or spec.units),
        normalisation=norm,
    )


def correction_stats(
    coarse: np.ndarray, solver: Any, *, dt: float, substeps: int = 1
) -> dict[str, list[float]]:
    """Per-channel mean/std of the correction rate ``(z_{n+1} - S^m(z_n)) / dt`` on data.

    ``coarse``: ``(sample, time, *spatial, C)`` coarse trajectories ``dt`` apart.
    """
    z = np.asarray(coarse[:, :-1], np.float32)
    flat = z.reshape(-1, *z.shape[2:])
    zs = jax.numpy.asarray(flat)
    for _ in range(substeps):
        zs = solver(zs)
    target = np.asarray(coarse[:, 1:], np.float64).reshape(flat.shape)
    rate = (target - np.asarray(zs, np.float64)) / dt
    c = rate.shape[-1]
    return {
        "tendency_mean": rate.reshape(-1, c).mean(0).tolist(),
        "tendency_std": np.maximum(rate.reshape(-1, c).std(0), 1e-12).tolist(),
    }
