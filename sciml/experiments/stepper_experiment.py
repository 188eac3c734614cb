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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sciml.experiments.runner import stage
from sciml.experiments.stepper_setup import ExperimentSetup
from sciml.metrics.field import KOCHKOV2021_THRESHOLD, NRMSE_DEFINITION


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


def _config(
    setup: ExperimentSetup,
    out: Path,
    model_kwargs: dict,
    variables,
    seed: int,
    run_dir: Path | None = None,
):
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
                "kwargs": {
                    "unroll": setup.unroll,
                    "curriculum": setup.curriculum(),
                    "noise_std": setup.noise_std,
                },
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
            "run_dir": str(run_dir or out),
        }
    )


@dataclass
class _Data:
    """The experiment's data: fine test starts, coarse train/val/test (reference) on ``grid``."""

    fine_test: np.ndarray
    train: np.ndarray
    val: np.ndarray
    reference: np.ndarray
    grid: Any
    variables: tuple[str, ...]
    units: dict[str, str]


def make_data(setup: ExperimentSetup, out: Path, *, seed: int) -> _Data:
    """Phase 1: fine reference trajectories (one batch, one compilation), spectral
    coarse-graining, and the coarse splits written to ``out/data/{train,val,test}.nc``."""
    from sciml.datasets.trajectory_file import write_trajectories
    from sciml.solvers import Grid, coarsen_array

    spec = _spec(setup)
    n_fit = setup.n_train + setup.n_val
    stage(
        f"generating {n_fit + setup.n_test} fine {setup.equation} trajectories on "
        f"{_label(setup.fine_shape)}"
    )
    fine = _generate(
        setup, n_fit + setup.n_test, max(setup.train_frames, setup.test_frames), seed=seed
    )
    cs, nd = tuple(setup.coarse_shape), setup.ndim
    coarse_fit = coarsen_array(fine[:n_fit, : setup.train_frames + 1], cs, ndim=nd)
    data = _Data(
        fine_test=fine[n_fit:, : setup.test_frames + 1],
        train=coarse_fit[: setup.n_train],
        val=coarse_fit[setup.n_train :],
        reference=coarsen_array(fine[n_fit:, : setup.test_frames + 1], cs, ndim=nd),
        grid=Grid(cs, setup.length),
        variables=tuple(spec.channels),
        units=dict(spec.units),
    )
    attrs = {
        "equation": setup.equation,
        "params": dict(setup.params),
        "seed": seed,
        "coarse_grained_from": list(setup.fine_shape),
        "coarse_graining": "spectral",
        "dt": setup.frame_dt,
    }
    for name, arr in (("train", data.train), ("val", data.val), ("test", data.reference)):
        write_trajectories(
            out / "data" / f"{name}.nc",
            arr,
            fields=data.variables,
            grid=data.grid,
            times=np.arange(arr.shape[1]) * setup.frame_dt,
            units=data.units,
            attrs=attrs,
            overwrite=True,
        )
    return data


def train_stepper(
    setup: ExperimentSetup, data: _Data, out: Path, *, seed: int, run_dir: Path | None = None
) -> tuple[Any, Any]:
    """Phase 2: the conv -> f -> conv stepper trained through ``sciml.train.fit`` in ``run_dir``
    (default ``out``; the data files are ``out/data``).

    The normalisation statistics are written to ``run_dir/stats`` in the loop's format and the
    run's config names them; returns the best checkpoint's model and the fit result.
    """
    from sciml.datasets import ArraySource
    from sciml.stepper.data import data_hash, make_windows
    from sciml.stepper.normalisation import Normalisation
    from sciml.stepper.tasks import RolloutTask
    from sciml.train import fit, restore_model
    from sciml.train.lock import MARKER_FILE, check_run_dir_owner
    from sciml.train.registry import build_model

    run_dir = run_dir or out
    # The statistics go into the run directory before fit starts: claim it as a run first
    # (a folder of the user's holding a stats/ is refused, as fit would refuse it).
    check_run_dir_owner(str(run_dir))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / MARKER_FILE).touch()
    norm = Normalisation.from_trajectories(
        data.train, setup.frame_dt, data_hash=data_hash(data.train)
    )
    model_kwargs = {
        "variables": list(data.variables),
        "units": data.units,
        "dx": list(data.grid.dx),
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
        "grid_shape": list(data.grid.shape),
        "stats_dir": str(norm.save(run_dir / "stats", count=int(data.train[..., 0].size))),
    }
    config = _config(setup, out, model_kwargs, data.variables, seed, run_dir)
    model = build_model(config.model.name, dict(config.model.kwargs), seed=seed)
    task = RolloutTask(setup.unroll, curriculum=setup.curriculum(), noise_std=setup.noise_std)
    # the windows of the config's data section (data/train.nc, data/val.nc), held in memory
    train_src = ArraySource(make_windows(data.train, n_target=setup.unroll))
    val_src = ArraySource(make_windows(data.val, n_target=setup.unroll, stride=4))
    stage(
        f"training the conv -> f -> conv stepper on {_label(data.grid.shape)} ({setup.steps} "
        f"steps, unroll up to {setup.unroll})"
    )
    result = fit(model, task, train_src, config=config, eval_source=val_src)
    return restore_model(run_dir, model, which="best"), result


@dataclass
class _Evaluation:
    learned: Any
    learned_res: dict
    swaps: list
    classical: list
    best_same: Any
    best_same_res: dict
    speed: dict
    horizon: float


def evaluate(setup: ExperimentSetup, data: _Data, model: Any) -> _Evaluation:
    """Phase 3: the learned stepper (and its integrator / dt swaps) and the classical solver at
    the same and finer grids against the coarse-grained reference, with their costs."""
    from sciml.solvers import Grid, coarsen_array
    from sciml.stepper.cost import measure, speedup_at_equal_accuracy

    stage("evaluating the learned stepper and the classical solver at several resolutions")
    spec, nd, cs, ref = _spec(setup), setup.ndim, tuple(setup.coarse_shape), data.reference
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
    # G is a continuous-time tendency: other integrators / dt, each a new stepper
    variants = (("rk2", setup.frame_dt), ("rk4", setup.frame_dt))
    variants += ((setup.integrator, setup.frame_dt / 2),)
    swaps = [
        measure(
            f"learned {_label(cs)} dt={dt} {integ}",
            "learned",
            model.with_integrator(integ, dt),
            z0,
            ref,
            dt=dt,
            **{**common, "repeats": 1},
        )[0].to_json()
        for integ, dt in (variants if setup.integrator_swaps else ())
    ]
    classical, results = [], {}
    for shape in dict.fromkeys([cs, *map(tuple, setup.classical_shapes), setup.fine_shape]):
        grid = Grid(shape, setup.length)
        fine = shape == setup.fine_shape
        start = (
            data.fine_test[:, 0] if fine else coarsen_array(data.fine_test[:, 0], shape, ndim=nd)
        )
        project = None if shape == cs else (lambda tr: coarsen_array(tr, cs, ndim=nd))
        for dt in dict.fromkeys(setup.classical_dt + ((setup.fine_dt,) if fine else ())):
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
    best_same = min(
        (p for p in classical if p.grid_shape == cs), key=lambda p: (p.nrmse, -p.correlation_time)
    )
    return _Evaluation(
        learned,
        learned_res,
        swaps,
        classical,
        best_same,
        results[(cs, best_same.dt)],
        speedup_at_equal_accuracy(learned, classical),
        horizon,
    )


def final_spectra(setup: ExperimentSetup, data: _Data, ev: _Evaluation) -> dict[str, Any]:
    """Phase 4: energy spectra of the last frame (reference, learned, classical same grid)."""
    from sciml.metrics.spectra import energy_spectrum

    nd, length = setup.ndim, setup.length[0]
    k, e_ref = energy_spectrum(data.reference[:, -1], ndim=nd, length=length)
    spectra: dict[str, Any] = {"k": k, "reference": e_ref}
    for label, res in (("learned", ev.learned_res), ("classical_same_grid", ev.best_same_res)):
        last = res["prediction"][:, -1]
        ok = np.all(np.isfinite(last))
        spectra[label] = energy_spectrum(last, ndim=nd, length=length)[1] if ok else None
    return spectra


def summarise(
    setup: ExperimentSetup,
    data: _Data,
    ev: _Evaluation,
    spectra: dict[str, Any],
    result: Any,
    out: Path,
) -> dict[str, Any]:
    """Phase 5: the ``summary.json`` fields (definitions of every metric named)."""
    import jax

    from sciml.metrics.field import correlation_time_definition, correlation_time_kochkov2021
    from sciml.solvers import Grid

    learned, best_same, speed = ev.learned, ev.best_same, ev.speed
    ratio = learned.nrmse / best_same.nrmse if np.isfinite(best_same.nrmse) else 0.0
    evals = [r for r in result.history if r.get("split") == "eval"]
    return {
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
        "evaluation_horizon": ev.horizon,
        "correlation_threshold": 0.8,
        "correlation_time_definition": ev.learned_res["correlation_time_definition"],
        "nrmse_definition": NRMSE_DEFINITION,
        "correlation_time_kochkov2021_learned": correlation_time_kochkov2021(
            ev.learned_res["correlation"], ev.learned_res["times"]
        ),
        "correlation_time_kochkov2021_classical_same_grid": correlation_time_kochkov2021(
            ev.best_same_res["correlation"], ev.best_same_res["times"]
        ),
        "correlation_time_kochkov2021_definition": correlation_time_definition(
            "kochkov2021", KOCHKOV2021_THRESHOLD
        ),
        "classical_same_grid": best_same.name,
        "blowup_time_learned": learned.blowup_time,
        "setup": {
            **setup.to_json(),
            "fine_dx": list(Grid(setup.fine_shape, setup.length).dx),
            "coarse_dx": list(data.grid.dx),
            "coarsening_factor": setup.fine_shape[0] / setup.coarse_shape[0],
        },
        "learned": learned.to_json(),
        "learned_integrator_swaps": ev.swaps,
        "classical": [p.to_json() for p in ev.classical],
        "curves": {
            "time": ev.learned_res["times"],
            "nrmse_learned": ev.learned_res["nrmse"],
            "nrmse_classical_same_grid": ev.best_same_res["nrmse"],
            "correlation_learned": ev.learned_res["correlation"],
            "correlation_classical_same_grid": ev.best_same_res["correlation"],
        },
        "spectra_final_frame": spectra,
        "training": {
            "final_step": result.final_step,
            "best_step": result.best_step,
            "eval": evals[-1] if evals else None,
        },
        "device": f"{jax.default_backend()} x{jax.device_count()}",
        "cost_measure": "wall seconds per simulated time unit of a jitted lax.scan rollout of "
        f"the {setup.n_test} test trajectories, best of {setup.timing_repeats} (compile excluded)",
        "export": f"sciml export {out} --out {out / 'stepper.h5'}",
    }


def run_experiment(setup: ExperimentSetup, out: Path, *, seed: int) -> dict[str, Any]:
    """Generate, coarse-grain, train, evaluate. ``out`` must exist (see ``prepare_out_dir``).

    The phases: :func:`make_data`, :func:`train_stepper`, :func:`evaluate`,
    :func:`final_spectra`, :func:`summarise`. Returns a dict with the summary fields
    (``summary``), the evaluation results of the learned stepper and of the best classical
    solver on the same grid (``learned_result``, ``classical_result``: curves and predictions),
    the coarse test reference (``reference``) and the trained model (``model``).
    """
    timings: dict[str, float] = {}
    t_start = t0 = time.perf_counter()
    data = make_data(setup, out, seed=seed)
    timings["generate_s"] = time.perf_counter() - t0
    from sciml.experiments.stepper_long import (
        long_rollout,
        long_rollout_summary,
        make_long_reference,
        reference_noise_floor,
        train_candidates,
    )

    long_val = long_test = None
    if setup.long_frames > 0:
        t0 = time.perf_counter()
        long_val, long_test = make_long_reference(setup, seed=seed)
        timings["generate_long_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model, result, candidates = train_candidates(setup, data, long_val, out, seed=seed)
    timings["train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ev = evaluate(setup, data, model)
    timings["evaluate_s"] = time.perf_counter() - t0
    spectra = final_spectra(setup, data, ev)
    summary = summarise(setup, data, ev, spectra, result, out)
    long = None
    if long_test is not None:
        t0 = time.perf_counter()
        stage(f"long rollouts: {setup.long_frames} steps from {len(long_test)} test states")
        long = long_rollout(setup, model, long_test)
        half = len(long_test) // 2
        floor = reference_noise_floor(setup, long_test[:half], long_test[half:])
        summary.update(long_rollout_summary(setup, long, floor, candidates))
        timings["long_rollout_s"] = time.perf_counter() - t0
    summary["timings_s"] = {**timings, "experiment_s": time.perf_counter() - t_start}
    return {
        "summary": summary,
        "learned_result": ev.learned_res,
        "classical_result": ev.best_same_res,
        "classical_name": ev.best_same.name,
        "reference": data.reference,
        "spectra": spectra,
        "long_rollout": long,
        "model": model,
    }
