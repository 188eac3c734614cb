"""The learned-stepper experiment shared by the reproductions (KS 1-D, Kolmogorov 2-D).

    fine data (classical solver) -> coarse-graining -> training through sciml.train.fit
    -> rollouts against the coarse-grained reference: learned stepper, learned stepper with other
       integrators / dt, classical solver at the same and finer grids (several dt each)
    -> nRMSE against time, correlation time, spectra, blow-up horizon, cost, speed-up

:func:`run_experiment` does the work for an :class:`ExperimentSetup` and returns everything the
reproduction modules need to draw their figures and write ``summary.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sciml.experiments.runner import stage
from sciml.metrics.field import KOCHKOV2021_THRESHOLD, NRMSE_DEFINITION


@dataclass(frozen=True)
class ExperimentSetup:
    """Sizes and choices of one learned-stepper experiment.

    Attributes:
      equation, params: registry equation and its parameters (``sciml.solvers.get_equation``).
      length: domain length per axis; fine_shape / fine_dt: the reference solver.
      coarse_shape: the learned stepper's grid (spectral coarse-graining of the fine data).
      frame_dt: saved-frame spacing = the learned stepper's dt.
      spinup: time discarded before saving (onto the attractor).
      n_train / n_val / n_test: trajectories; train_frames / test_frames: frames each.
      horizon: time over which nRMSE is averaged.
      width, kernel_size, depth, activation, integrator: the conv -> f -> conv stepper.
      unroll, steps, batch_size, learning_rate: training (curriculum 1, 2, 4, ... up to unroll).
      classical_shapes / classical_dt: the classical candidates (the fine grid at ``fine_dt`` is
        always added, so one candidate reproduces the reference).
      timing_repeats: timed runs per candidate (the best counts).
      integrator_swaps: also roll the trained G out with RK2, RK4 and dt / 2 and report them.
    """

    equation: str
    length: tuple[float, ...]
    fine_shape: tuple[int, ...]
    fine_dt: float
    coarse_shape: tuple[int, ...]
    frame_dt: float
    params: dict[str, Any] = field(default_factory=dict)
    spinup: float = 100.0
    n_train: int = 48
    n_val: int = 8
    n_test: int = 16
    train_frames: int = 200
    test_frames: int = 100
    horizon: float = 20.0
    width: int = 32
    kernel_size: int = 5
    depth: int = 2
    activation: str = "gelu"
    integrator: str = "euler"
    unroll: int = 4
    steps: int = 3000
    batch_size: int = 32
    learning_rate: float = 1e-3
    classical_shapes: tuple[tuple[int, ...], ...] = ()
    classical_dt: tuple[float, ...] = ()
    timing_repeats: int = 5
    integrator_swaps: bool = True

    @property
    def ndim(self) -> int:
        return len(self.fine_shape)

    def curriculum(self) -> list[list[int]]:
        """``[[start_step, unroll], ...]``: 1, then doubling every quarter of the run."""
        stages = [[0, 1]]
        k, s = 2, self.steps // 4
        while k <= self.unroll:
            stages.append([s, k])
            k, s = k * 2, s + self.steps // 4
        if stages[-1][1] != self.unroll:
            stages.append([s, self.unroll])
        return stages

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["curriculum"] = self.curriculum()
        return d


def _label(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _generate(setup: ExperimentSetup, n: int, frames: int, *, seed: int) -> np.ndarray:
    """Fine trajectories ``(n, frames + 1, *fine_shape, C)`` after the spin-up."""
    import jax

    from sciml.solvers import Grid, rollout

    spec = _spec(setup)
    grid = Grid(setup.fine_shape, setup.length)
    step = spec.make_step(grid, setup.fine_dt, **setup.params)
    u0 = spec.initial_condition(grid, n, key=jax.random.key(seed), **setup.params)
    n_spin = max(1, round(setup.spinup / setup.fine_dt))
    u = rollout(step, u0, n_spin, save_every=n_spin)[:, -1]
    if hasattr(step, "check_dt"):
        step.check_dt(u)
    sub = round(setup.frame_dt / setup.fine_dt)
    return np.asarray(rollout(step, u, frames * sub, save_every=sub), np.float32)


def _spec(setup: ExperimentSetup):
    from sciml.solvers import get_equation

    return get_equation(setup.equation)


def _config(setup: ExperimentSetup, out: Path, model_kwargs: dict, variables, seed: int):
    from sciml.train import TrainConfig

    def windows(split: str, stride: int) -> dict:
        return {
            "kind": "windows",
            "kwargs": {
                "path_or_dataset": str(out / "data" / f"{split}.nc"),
                "variables": list(variables),
                "n_target": setup.unroll,
                "stride": stride,
            },
        }

    return TrainConfig.from_dict(
        {
            "model": {"name": "sciml.stepper.model:make_learned_stepper", "kwargs": model_kwargs},
            "task": {
                "name": "sciml.stepper.tasks:RolloutTask",
                "kwargs": {"unroll": setup.unroll, "curriculum": setup.curriculum()},
            },
            "data": {"train": windows("train", 1), "eval": windows("val", 4)},
            "optim": {
                "name": "adam",
                "learning_rate": setup.learning_rate,
                "schedule": "cosine",
                "warmup_steps": min(100, setup.steps // 10),
                "end_factor": 0.02,
                "clip_norm": 1.0,
            },
            "mesh": {"data": 1, "space": 1},
            "steps": setup.steps,
            "batch_size": setup.batch_size,
            "eval_every": max(1, setup.steps // 4),
            "log_every": max(1, setup.steps // 50),
            "checkpoint_every": 0,
            "keep_checkpoints": 1,
            "best_metric": "mse_unrolled",
            "seed": seed,
            "run_dir": str(out),
        }
    )


def run_experiment(setup: ExperimentSetup, out: Path, *, seed: int) -> dict[str, Any]:
    """Generate, coarse-grain, train, evaluate. ``out`` must exist (see ``prepare_out_dir``).

    Returns a dict with the summary fields (``summary``), the evaluation results of the learned
    stepper and of the best classical solver on the same grid (``learned_result``,
    ``classical_result``: curves and predictions), the coarse test reference (``reference``)
    and the trained model (``model``).
    """
    import jax

    from sciml.datasets import ArraySource
    from sciml.datasets.trajectory_file import write_trajectories
    from sciml.metrics.field import correlation_time_definition, correlation_time_kochkov2021
    from sciml.metrics.spectra import energy_spectrum
    from sciml.solvers import Grid
    from sciml.stepper.cost import measure, speedup_at_equal_accuracy
    from sciml.stepper.data import coarse_grain, data_hash, make_windows, normalisation_stats
    from sciml.stepper.tasks import RolloutTask
    from sciml.train import fit, restore_model
    from sciml.train.registry import build_model

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    spec = _spec(setup)
    variables = tuple(spec.channels)
    nd = setup.ndim
    cs = tuple(setup.coarse_shape)

    # 1. fine reference data (one batch: one compilation)
    n_fit = setup.n_train + setup.n_val
    stage(
        f"generating {n_fit + setup.n_test} fine {setup.equation} trajectories on "
        f"{_label(setup.fine_shape)}"
    )
    t0 = time.perf_counter()
    fine = _generate(
        setup, n_fit + setup.n_test, max(setup.train_frames, setup.test_frames), seed=seed
    )
    fine_fit = fine[:n_fit, : setup.train_frames + 1]
    fine_test = fine[n_fit:, : setup.test_frames + 1]
    del fine
    timings["generate_s"] = time.perf_counter() - t0

    # 2. coarse-graining, data files
    cgrid = Grid(cs, setup.length)
    coarse_fit = coarse_grain(fine_fit, cs, ndim=nd)
    ref = coarse_grain(fine_test, cs, ndim=nd)
    train, val = coarse_fit[: setup.n_train], coarse_fit[setup.n_train :]
    units = dict(spec.units)
    attrs = {
        "equation": setup.equation,
        "params": dict(setup.params),
        "seed": seed,
        "coarse_grained_from": list(setup.fine_shape),
        "coarse_graining": "spectral",
        "dt": setup.frame_dt,
    }
    for name, arr in (("train", train), ("val", val), ("test", ref)):
        write_trajectories(
            out / "data" / f"{name}.nc",
            arr,
            fields=variables,
            grid=cgrid,
            times=np.arange(arr.shape[1]) * setup.frame_dt,
            units=units,
            attrs=attrs,
            overwrite=True,
        )

    # 3. the model and its training run through the backbone's loop
    model_kwargs = {
        "variables": list(variables),
        "units": units,
        "dx": list(cgrid.dx),
        "dt": setup.frame_dt,
        "integrator": setup.integrator,
        "boundary": "periodic",
        "network": "tendency",
        "network_kwargs": {
            "width": setup.width,
            "kernel_size": setup.kernel_size,
            "depth": setup.depth,
            "activation": setup.activation,
        },
        "grid_shape": list(cs),
        "data_hash": data_hash(train),
        **normalisation_stats(train, setup.frame_dt),
    }
    config = _config(setup, out, model_kwargs, variables, seed)
    model = build_model(config.model.name, dict(config.model.kwargs), seed=seed)
    task = RolloutTask(setup.unroll, curriculum=setup.curriculum())
    train_src = ArraySource(make_windows(train, n_target=setup.unroll))
    val_src = ArraySource(make_windows(val, n_target=setup.unroll, stride=4))
    stage(
        f"training the conv -> f -> conv stepper on {_label(cs)} ({setup.steps} steps, "
        f"unroll up to {setup.unroll})"
    )
    t0 = time.perf_counter()
    result = fit(model, task, train_src, config=config, eval_source=val_src)
    timings["train_s"] = time.perf_counter() - t0
    model = restore_model(out, model, which="best")
    evals = [r for r in result.history if r.get("split") == "eval"]

    # 4. evaluation against the coarse-grained reference
    stage("evaluating the learned stepper and the classical solver at several resolutions")
    t0 = time.perf_counter()
    horizon = min(setup.horizon, setup.test_frames * setup.frame_dt)
    common = dict(ndim=nd, frame_dt=setup.frame_dt, horizon=horizon, repeats=setup.timing_repeats)
    z0 = ref[:, 0]
    learned, learned_res = measure(
        f"learned {_label(cs)} dt={setup.frame_dt} {setup.integrator}",
        "learned",
        model,
        z0,
        ref,
        dt=setup.frame_dt,
        **common,
    )
    swaps = []  # G is a continuous-time tendency: other integrators / dt, measured
    for integ, dt in (
        (
            ("rk2", setup.frame_dt),
            ("rk4", setup.frame_dt),
            (setup.integrator, setup.frame_dt / 2),
        )
        if setup.integrator_swaps
        else ()
    ):
        model.with_integrator(integ, dt)
        p, _ = measure(
            f"learned {_label(cs)} dt={dt} {integ}",
            "learned",
            model,
            z0,
            ref,
            dt=dt,
            **{**common, "repeats": 1},
        )
        swaps.append(p.to_json())
    model.with_integrator(setup.integrator, setup.frame_dt)

    classical, results = [], {}
    shapes = list(dict.fromkeys([cs, *map(tuple, setup.classical_shapes), setup.fine_shape]))
    for shape in shapes:
        grid = Grid(shape, setup.length)
        start = (
            fine_test[:, 0]
            if shape == setup.fine_shape
            else coarse_grain(fine_test[:, 0], shape, ndim=nd)
        )
        project = None if shape == cs else (lambda tr: coarse_grain(tr, cs, ndim=nd))
        dts = setup.classical_dt + ((setup.fine_dt,) if shape == setup.fine_shape else ())
        for dt in dict.fromkeys(dts):
            p, res = measure(
                f"classical {_label(shape)} dt={dt}",
                "classical",
                spec.make_step(grid, dt, **setup.params),
                start,
                ref,
                dt=dt,
                project=project,
                **common,
            )
            classical.append(p)
            results[(shape, dt)] = res
    same = [p for p in classical if p.grid_shape == cs]
    best_same = min(same, key=lambda p: (p.nrmse, -p.correlation_time))
    best_same_res = results[(cs, best_same.dt)]
    speed = speedup_at_equal_accuracy(learned, classical)
    timings["evaluate_s"] = time.perf_counter() - t0

    # 5. spectra of the last frame
    k, e_ref = energy_spectrum(ref[:, -1], ndim=nd, length=setup.length[0])
    spectra: dict[str, Any] = {"k": k, "reference": e_ref}
    for label, res in (("learned", learned_res), ("classical_same_grid", best_same_res)):
        last = res["prediction"][:, -1]
        ok = np.all(np.isfinite(last))
        spectra[label] = energy_spectrum(last, ndim=nd, length=setup.length[0])[1] if ok else None

    ratio = learned.nrmse / best_same.nrmse if np.isfinite(best_same.nrmse) else 0.0
    summary = {
        "nrmse_learned": learned.nrmse,
        "nrmse_classical_same_grid": best_same.nrmse,
        "nrmse_ratio_learned_over_classical": ratio,
        "correlation_time_learned": learned.correlation_time,
        "correlation_time_classical_same_grid": best_same.correlation_time,
        "speedup_at_equal_accuracy": speed["speedup"],
        "speedup_matched_classical": speed["matched"],
        "targets": {
            "nrmse_at_most_half_of_classical_same_grid": bool(ratio <= 0.5),
            "speedup_at_least_10x": bool(speed["speedup"] is not None and speed["speedup"] >= 10),
        },
        "evaluation_horizon": horizon,
        "correlation_threshold": 0.8,
        "correlation_time_definition": learned_res["correlation_time_definition"],
        "nrmse_definition": NRMSE_DEFINITION,
        "correlation_time_kochkov2021_learned": correlation_time_kochkov2021(
            learned_res["correlation"], learned_res["times"]
        ),
        "correlation_time_kochkov2021_classical_same_grid": correlation_time_kochkov2021(
            best_same_res["correlation"], best_same_res["times"]
        ),
        "correlation_time_kochkov2021_definition": correlation_time_definition(
            "kochkov2021", KOCHKOV2021_THRESHOLD
        ),
        "classical_same_grid": best_same.name,
        "blowup_time_learned": learned.blowup_time,
        "setup": {
            **setup.to_json(),
            "fine_dx": list(Grid(setup.fine_shape, setup.length).dx),
            "coarse_dx": list(cgrid.dx),
            "coarsening_factor": setup.fine_shape[0] / cs[0],
        },
        "learned": learned.to_json(),
        "learned_integrator_swaps": swaps,
        "classical": [p.to_json() for p in classical],
        "curves": {
            "time": learned_res["times"],
            "nrmse_learned": learned_res["nrmse"],
            "nrmse_classical_same_grid": best_same_res["nrmse"],
            "correlation_learned": learned_res["correlation"],
            "correlation_classical_same_grid": best_same_res["correlation"],
        },
        "spectra_final_frame": spectra,
        "training": {
            "final_step": result.final_step,
            "best_step": result.best_step,
            "eval": evals[-1] if evals else None,
        },
        "timings_s": {**timings, "experiment_s": time.perf_counter() - t_start},
        "device": f"{jax.default_backend()} x{jax.device_count()}",
        "cost_measure": "wall seconds per simulated time unit of a jitted lax.scan rollout of "
        f"the {setup.n_test} test trajectories, best of {setup.timing_repeats} (compile excluded)",
        "export": f"sciml export {out} --out {out / 'stepper.h5'}",
    }
    return {
        "summary": summary,
        "learned_result": learned_res,
        "classical_result": best_same_res,
        "classical_name": best_same.name,
        "reference": ref,
        "spectra": spectra,
        "model": model,
    }
