"""Hybrid models on the finite-volume Navier-Stokes base, and their unrolled training.

Two models of Kochkov et al. (PNAS 2021) on the coarse finite-volume vorticity solver
:class:`sciml.solvers.fvns.FiniteVolumeNS2D`:

- learned correction: ``omega_{n+1} = S^m(omega_n) + dt C(S^m(omega_n))``, a
  :class:`sciml.stepper.hybrid.HybridStepper` whose classical step ``S`` is the FV solver and
  ``C`` a conv -> f -> conv tendency (:func:`make_fv_correction`);
- learned interpolation: the FV step with network-predicted, consistency-constrained face
  interpolation (:class:`sciml.stepper.learned_interpolation.LearnedInterpolationStepper`).

Both are trained by :func:`train_unrolled`: k-step rollouts through the solver
(:class:`sciml.stepper.tasks.RolloutTask`, a curriculum up to ``unroll`` steps) in the one
training loop ``sciml.train.fit``.
"""

from __future__ import annotations

import os
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.stepper.hybrid import HybridStepper, correction_stats
from sciml.stepper.learned_interpolation import LearnedInterpolationStepper

NO_FUSION = {"xla_disable_hlo_passes": "fusion"}
FUSION_MIN_STEPS = 100


def cpu_compiler_options(steps: int) -> dict[str, str]:
    """XLA options of the CPU training steps of a run of ``steps`` steps.

    XLA's default passes from :data:`FUSION_MIN_STEPS` steps on; below, no fusion pass, whose
    compile time there outweighs what it saves per step. Measured on one core of the 2-core VM
    (``benchmarks/bench_fv_hybrid_step.py``):

    - the 16-step unrolled gradient at 16^2, width 64, depth 5, batch 8 compiles in 31 s
      (correction) and 44 s (interpolation) with fusion, 32 s and 42 s without, and each step runs
      1.37x and 1.30x faster with it (0.352 s against 0.482 s; 0.433 s against 0.564 s): without
      fusion every elementwise operation of the network, the exact GELU's erf above all, is a
      separate pass over memory;
    - at toy sizes the steps cost the same and fusion only adds compile time (the end-to-end toy
      reproduction test: 26 s without, 86 s with it).

    The hybrids run each model step's sub-steps in one ``lax.fori_loop`` (:class:`SubstepSolver`),
    over which the fusion pass is cheap; FV steps chained in Python are not (two steps at 16^2:
    44 s to compile their gradient with fusion, 2 s without).
    """
    return {} if steps >= FUSION_MIN_STEPS else dict(NO_FUSION)


class SubstepSolver:
    """``m`` solver steps as one step of ``m * solver.dt`` (a ``lax.fori_loop``: one traced step,
    so unrolled training compiles in time independent of ``m``)."""

    def __init__(self, solver: Any, substeps: int):
        self.solver, self.substeps = solver, int(substeps)
        self.grid, self.dt = solver.grid, solver.dt * self.substeps
        self.params = solver.params

    def __call__(self, omega):
        import jax

        return jax.lax.fori_loop(0, self.substeps, lambda _, w: self.solver.step(w), omega)


def make_fv_correction(
    solver: Any,
    *,
    dt: float,
    train: np.ndarray,
    width: int = 32,
    kernel_size: int = 3,
    depth: int = 3,
    rngs: nnx.Rngs,
) -> HybridStepper:
    """Learned correction on the FV solver, normalised on ``train`` ``(sample, time, Nx, Ny, 1)``.

    The correction network's output is scaled by the std of the correction rate
    ``(omega_{n+1} - S^m(omega_n)) / dt`` measured on the training data, so that an untrained
    model starts near the solver and the loss is well scaled.
    """
    from sciml.nn import Tendency

    substeps = round(dt / solver.dt)
    stats = correction_stats(train, solver, dt=dt, substeps=substeps)
    g = Tendency(1, width=width, kernel_size=kernel_size, depth=depth, ndim=2, rngs=rngs)
    # start from the solver itself: a zero last layer gives C = tendency_mean, and the mean is 0
    last = g.convs[-1].conv.kernel
    last[...] = jnp.zeros_like(last[...])
    return HybridStepper(
        g,
        solver=SubstepSolver(solver, substeps),
        dt=dt,
        solver_spec={
            "solver": "sciml.solvers.fvns.FiniteVolumeNS2D",
            "grid": solver.grid.to_dict(),
            "solver_dt": solver.dt,
            "params": dict(solver.params),
        },
        variables=("omega",),
        units={"omega": "1", "x": "1", "t": "1"},
        state_mean=[float(np.mean(train))],
        state_std=[float(np.std(train))],
        tendency_mean=[0.0],
        tendency_std=stats["tendency_std"],
    )


def make_fv_interpolation(
    solver: Any,
    *,
    dt: float,
    train: np.ndarray,
    width: int = 32,
    kernel_size: int = 3,
    depth: int = 3,
    rngs: nnx.Rngs,
) -> LearnedInterpolationStepper:
    """Learned interpolation on the FV solver, input normalised on ``train``."""
    model = LearnedInterpolationStepper(
        solver,
        dt=dt,
        state_mean=float(np.mean(train)),
        state_std=float(np.std(train)),
        width=width,
        kernel_size=kernel_size,
        depth=depth,
        rngs=rngs,
    )
    last = model.net.convs[-1].conv.kernel  # start from the FV solver itself
    last[...] = jnp.zeros_like(last[...])
    return model


def train_unrolled(
    model: nnx.Module,
    train: np.ndarray,
    *,
    unroll: int,
    steps: int,
    batch_size: int,
    learning_rate: float = 1e-3,
    seed: int = 0,
    run_dir: str | os.PathLike | None = None,
    val: np.ndarray | None = None,
    data_devices: int = 1,
    noise_std: float = 0.0,
    pushforward: int = 0,
) -> Any:
    """Train ``model`` (``state -> next frame``) on trajectories ``(sample, time, Nx, Ny, 1)``.

    k-step unrolled MSE (normalised by the model's ``state_std``) with a curriculum
    1 -> 2 -> ... -> ``unroll`` over the first half of the run; Adam with a cosine schedule and
    global-norm clipping; ``data_devices`` devices split the batch. ``noise_std`` (in units of the
    state std) perturbs each window's initial state and ``pushforward`` steps are rolled out
    without gradient before the trained ones (:class:`sciml.stepper.tasks.RolloutTask`): both
    train the model on states off the data, like those of its own rollouts.
    Returns :class:`sciml.train.TrainResult`; ``model`` is updated in place.
    """
    from sciml.datasets import ArraySource
    from sciml.stepper.data import make_windows
    from sciml.stepper.tasks import RolloutTask
    from sciml.train import MeshConfig, OptimConfig, TrainConfig, fit

    if train.ndim != 5 or train.shape[1] <= unroll + pushforward:
        raise ValueError(
            f"train: expected (sample, time > pushforward + unroll = {pushforward + unroll}, "
            f"Nx, Ny, 1), found {train.shape}"
        )
    ks = sorted({1, *[k for k in (2, 4, 8, 16, 32) if k < unroll], unroll})
    curriculum: list[tuple[int, int]] = []
    for i, k in enumerate(ks):
        start = int(i * steps / (2 * len(ks)))
        if curriculum and start <= curriculum[-1][0]:
            curriculum[-1] = (curriculum[-1][0], k)  # too few steps: skip the shorter stage
        else:
            curriculum.append((start, k))
    task = RolloutTask(unroll, curriculum=curriculum, noise_std=noise_std, pushforward=pushforward)
    task.cpu_compiler_options = cpu_compiler_options(steps)
    src = ArraySource(make_windows(train, n_target=task.n_target))
    val_src = (
        None if val is None else ArraySource(make_windows(val, n_target=task.n_target, stride=4))
    )
    config = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        log_every=max(steps // 20, 1),
        eval_every=0,
        seed=seed,
        run_dir=None if run_dir is None else str(run_dir),
        mesh=MeshConfig(data=data_devices),
        optim=OptimConfig(
            name="adam", learning_rate=learning_rate, schedule="cosine", clip_norm=1.0
        ),
    )
    return fit(model, task, src, config=config, eval_source=val_src)


def export_fv_correction(model: HybridStepper, out_dir: str | os.PathLike) -> dict[str, str]:
    """Export a learned correction on the FV solver for use in the user's own FV code.

    Writes ``learned_correction.h5`` (the correction rate ``C`` as the ``tendency`` of a standard
    HDF5 stepper artifact, ``dt`` = the model step) and ``hybrid.json`` (sub-steps, solver dt,
    parameters, grid). The artifact's own ``step`` (Euler with ``C`` alone) is NOT the model:
    the model is ``omega <- S^m(omega); omega <- omega + dt C(omega)`` with the user's solver
    ``S`` (``examples/numpy_fv_kolmogorov_with_learned_correction.py``).
    """
    import json
    from pathlib import Path

    from sciml.atomic import write_text
    from sciml.stepper.artifact import export_stepper
    from sciml.stepper.model import LearnedStepper

    out = Path(out_dir)
    plain = LearnedStepper(
        model.tendency,
        dt=model.dt,
        integrator="euler",
        dx=model.dx,
        variables=model.variables,
        units=model.units,
        state_mean=model.state_mean[...],
        state_std=model.state_std[...],
        tendency_mean=model.tendency_mean[...],
        tendency_std=model.tendency_std[...],
        grid_shape=model.grid_shape,
    )
    h5 = export_stepper(plain, out / "learned_correction.h5", overwrite=True)
    spec = {
        "model": "omega <- S^substeps(omega); omega <- omega + dt * tendency(omega)",
        "dt": model.dt,
        "substeps": model.solver.substeps,
        "solver_dt": model.solver_spec["solver_dt"],
        "solver": model.solver_spec["solver"],
        "params": model.solver_spec["params"],
        "grid": model.solver_spec["grid"],
    }
    js = out / "hybrid.json"
    write_text(js, json.dumps(spec, indent=1, sort_keys=True))
    return {"artifact": str(h5), "hybrid": str(js)}
