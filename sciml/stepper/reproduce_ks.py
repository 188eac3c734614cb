"""``sciml reproduce learned-stepper``: a learned coarse integrator for 1-D Kuramoto-Sivashinsky.

    du/dt + u du/dx + d^2u/dx^2 + d^4u/dx^4 = 0,   x in [0, L) periodic, L = 64 (chaotic)

1. Fine reference trajectories: the built-in ETDRK4 pseudo-spectral solver (``ks1d``) at
   N = 256 (dx = 0.25), dt = 0.05, from random Fourier initial conditions, after a spin-up onto
   the attractor; frames every ``frame_dt`` = 0.5.
2. Coarse-graining by spectral truncation to N = 48 (dx = 1.33, 5.3x coarser), where the
   classical solver is badly under-resolved.
3. Training the conv -> f -> conv stepper ``u <- u + dt G(u)`` (dt = 0.5, forward Euler) through
   ``sciml.train.fit``: a curriculum from one-step teacher forcing to k-step unrolled training
   with back-propagation through the rollout.
4. Evaluation on held-out trajectories against the coarse-grained reference: nRMSE against
   time, correlation time (correlation < 0.8), energy spectra, blow-up horizon; the classical
   solver at the same grid and at finer grids (several dt each), wall time per simulated time
   unit of every candidate, and the speed-up at equal accuracy.

Writes into the run directory: ``summary.json``, ``learned_stepper.png``, the training run
(``config.yaml``, ``metrics.jsonl``, ``checkpoints/``: ``sciml export RUN_DIR`` exports it), and
the coarse data (``data/train.nc``, ``data/test.nc``).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sciml.stepper.report import prepare_out_dir, save_figure, stage, write_json


@dataclass(frozen=True)
class KSSetup:
    """Sizes of one reproduction run (``quick`` and full presets below)."""

    length: float = 64.0
    fine_n: int = 256
    fine_dt: float = 0.05
    coarse_n: int = 48
    frame_dt: float = 0.5
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
    classical_n: tuple[int, ...] = (48, 64, 96, 128, 256)
    classical_dt: tuple[float, ...] = (0.5, 0.25, 0.1)
    timing_repeats: int = 3
    notes: list[str] = field(default_factory=list)

    def curriculum(self) -> list[list[int]]:
        stages = [[0, 1]]
        k, s = 2, self.steps // 4
        while k <= self.unroll:
            stages.append([s, k])
            k, s = k * 2, s + self.steps // 4
        if stages[-1][1] != self.unroll:
            stages.append([s, self.unroll])
        return stages


QUICK = KSSetup()
FULL = KSSetup(
    n_train=128,
    n_val=16,
    n_test=32,
    train_frames=400,
    test_frames=200,
    unroll=8,
    steps=20000,
    batch_size=64,
    width=64,
    kernel_size=7,
)


def _generate(setup: KSSetup, n: int, frames: int, *, seed: int) -> tuple[np.ndarray, Any]:
    """Fine trajectories ``(n, frames + 1, fine_n, 1)`` on the attractor."""
    import jax

    from sciml.solvers import Grid, get_equation, rollout

    spec = get_equation("ks1d")
    grid = Grid((setup.fine_n,), (setup.length,))
    step = spec.make_step(grid, setup.fine_dt)
    u0 = spec.initial_condition(grid, n, key=jax.random.key(seed))
    n_spin = round(setup.spinup / setup.fine_dt)
    u = rollout(step, u0, n_spin, save_every=n_spin)[:, -1]
    step.check_dt(u)
    sub = round(setup.frame_dt / setup.fine_dt)
    traj = rollout(step, u, frames * sub, save_every=sub)
    return np.asarray(traj, np.float32), grid


def _make_config(setup: KSSetup, out: Path, model_kwargs: dict, seed: int):
    from sciml.train import TrainConfig

    return TrainConfig.from_dict(
        {
            "model": {"name": "sciml.stepper.model:make_learned_stepper", "kwargs": model_kwargs},
            "task": {
                "name": "sciml.stepper.tasks:RolloutTask",
                "kwargs": {"unroll": setup.unroll, "curriculum": setup.curriculum()},
            },
            "data": {
                "train": {
                    "kind": "windows",
                    "kwargs": {
                        "path_or_dataset": str(out / "data" / "train.nc"),
                        "variables": ["u"],
                        "n_target": setup.unroll,
                    },
                },
                "eval": {
                    "kind": "windows",
                    "kwargs": {
                        "path_or_dataset": str(out / "data" / "val.nc"),
                        "variables": ["u"],
                        "n_target": setup.unroll,
                        "stride": 4,
                    },
                },
            },
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
            "seed": seed,
            "run_dir": str(out),
        }
    )


def reproduce_learned_stepper(
    out_dir: str | os.PathLike,
    *,
    quick: bool = True,
    seed: int = 0,
    overwrite: bool = False,
    setup: KSSetup | None = None,
) -> dict[str, Any]:
    """Run the whole KS reproduction; returns the summary written to ``summary.json``."""
    import jax

    from sciml.datasets import ArraySource
    from sciml.datasets.trajectory_file import write_trajectories
    from sciml.solvers import Grid, get_equation
    from sciml.stepper.cost import measure, speedup_at_equal_accuracy
    from sciml.stepper.data import coarse_grain, data_hash, make_windows, normalisation_stats
    from sciml.stepper.evaluate import energy_spectrum
    from sciml.stepper.tasks import RolloutTask
    from sciml.train import fit, restore_model

    setup = setup or (QUICK if quick else FULL)
    t_start = time.perf_counter()
    out = prepare_out_dir(out_dir, name="learned-stepper", overwrite=overwrite)
    timings: dict[str, float] = {}

    # 1. fine reference data
    stage(
        f"generating {setup.n_train + setup.n_val + setup.n_test} fine KS trajectories (N={setup.fine_n})"
    )
    t0 = time.perf_counter()
    n_fit = setup.n_train + setup.n_val
    frames = max(setup.train_frames, setup.test_frames)
    fine, fine_grid = _generate(setup, n_fit + setup.n_test, frames, seed=seed)
    fine_fit = fine[:n_fit, : setup.train_frames + 1]
    fine_test = fine[n_fit:, : setup.test_frames + 1]
    del fine
    timings["generate_s"] = time.perf_counter() - t0

    # 2. coarse-graining
    nc = setup.coarse_n
    cgrid = Grid((nc,), (setup.length,))
    coarse_fit = coarse_grain(fine_fit, (nc,), ndim=1)
    coarse_test = coarse_grain(fine_test, (nc,), ndim=1)
    train, val = coarse_fit[: setup.n_train], coarse_fit[setup.n_train :]
    spec = get_equation("ks1d")
    units = dict(spec.units)
    attrs = {
        "equation": "ks1d",
        "seed": seed,
        "coarse_grained_from": [setup.fine_n],
        "coarse_graining": "spectral",
        "dt": setup.frame_dt,
    }
    for name, arr in (("train", train), ("val", val), ("test", coarse_test)):
        times = np.arange(arr.shape[1]) * setup.frame_dt
        write_trajectories(
            out / "data" / f"{name}.nc",
            arr,
            fields=("u",),
            grid=cgrid,
            times=times,
            units=units,
            attrs=attrs,
            overwrite=True,
        )

    # 3. the model and its training run
    stats = normalisation_stats(train, setup.frame_dt)
    model_kwargs = {
        "variables": ["u"],
        "units": {"u": units.get("u", "1"), "x": units.get("x", "1"), "t": units.get("t", "1")},
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
        "grid_shape": [nc],
        "data_hash": data_hash(train),
        **stats,
    }
    config = _make_config(setup, out, model_kwargs, seed)
    from sciml.train.registry import build_model

    model = build_model(config.model.name, dict(config.model.kwargs), seed=seed)
    task = RolloutTask(setup.unroll, curriculum=setup.curriculum())
    train_src = ArraySource(make_windows(train, n_target=setup.unroll))
    val_src = ArraySource(make_windows(val, n_target=setup.unroll, stride=4))
    stage(
        f"training the conv -> f -> conv stepper on N={nc} ({setup.steps} steps, unroll up to {setup.unroll})"
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
    common = dict(ndim=1, frame_dt=setup.frame_dt, horizon=horizon, repeats=setup.timing_repeats)
    learned, learned_res = measure(
        f"learned N={nc} dt={setup.frame_dt} {setup.integrator}",
        "learned",
        model,
        coarse_test[:, 0],
        coarse_test,
        dt=setup.frame_dt,
        **common,
    )
    # the learned G is a continuous-time tendency: swap the integrator / dt and measure
    swaps = []
    for integ, dt in (
        ("rk2", setup.frame_dt),
        ("rk4", setup.frame_dt),
        (setup.integrator, setup.frame_dt / 2),
    ):
        model.with_integrator(integ, dt)
        p, _ = measure(
            f"learned N={nc} dt={dt} {integ}",
            "learned",
            model,
            coarse_test[:, 0],
            coarse_test,
            dt=dt,
            **{**common, "repeats": 1},
        )
        swaps.append(p.to_json())
    model.with_integrator(setup.integrator, setup.frame_dt)

    classical, results = [], {}
    for n in setup.classical_n:
        g = Grid((n,), (setup.length,))
        z0 = coarse_grain(fine_test[:, 0], (n,), ndim=1) if n < setup.fine_n else fine_test[:, 0]
        project = None if n == nc else (lambda tr: coarse_grain(tr, (nc,), ndim=1))
        dts = setup.classical_dt + ((setup.fine_dt,) if n == setup.fine_n else ())
        for dt in dict.fromkeys(dts):
            name = f"classical N={n} dt={dt}"
            p, res = measure(
                name,
                "classical",
                spec.make_step(g, dt),
                z0,
                coarse_test,
                dt=dt,
                project=project,
                **common,
            )
            classical.append(p)
            results[(n, dt)] = res
    same = [p for p in classical if p.grid_shape == (nc,)]
    best_same = min(same, key=lambda p: (p.nrmse, -p.correlation_time))
    best_same_res = results[(nc, best_same.dt)]
    speed = speedup_at_equal_accuracy(learned, classical)
    timings["evaluate_s"] = time.perf_counter() - t0

    # 5. figure and summary
    k, e_ref = energy_spectrum(coarse_test[:, -1], ndim=1, length=setup.length)
    spectra = {"k": k, "reference": e_ref}
    for label, res in (("learned", learned_res), ("classical_same_grid", best_same_res)):
        last = res["prediction"][:, -1]
        spectra[label] = (
            energy_spectrum(last, ndim=1, length=setup.length)[1]
            if np.all(np.isfinite(last))
            else None
        )
    _figure(
        out / "learned_stepper.png",
        setup,
        coarse_test,
        learned_res,
        best_same_res,
        best_same.name,
        spectra,
    )

    ratio = learned.nrmse / best_same.nrmse if np.isfinite(best_same.nrmse) else 0.0
    summary = {
        "experiment": "learned-stepper: 1-D Kuramoto-Sivashinsky, L = 64",
        "quick": quick,
        "seed": seed,
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
        "classical_same_grid": best_same.name,
        "blowup_time_learned": learned.blowup_time,
        "setup": {
            **asdict(setup),
            "fine_dx": fine_grid.dx[0],
            "coarse_dx": cgrid.dx[0],
            "coarsening_factor": setup.fine_n / nc,
            "curriculum": setup.curriculum(),
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
        "timings_s": {**timings, "total_s": time.perf_counter() - t_start},
        "device": f"{jax.default_backend()} x{jax.device_count()}",
        "cost_measure": "wall seconds per simulated time unit, jitted lax.scan rollout of the "
        f"{setup.n_test} test trajectories, best of {setup.timing_repeats}",
        "figure": "learned_stepper.png",
        "export": f"sciml export {out} --out {out / 'ks_stepper.h5'}",
    }
    write_json(out / "summary.json", summary)
    stage(
        f"done in {summary['timings_s']['total_s']:.0f} s: nRMSE learned {learned.nrmse:.3f} vs "
        f"classical same grid {best_same.nrmse:.3f}; correlation time {learned.correlation_time:.1f} "
        f"vs {best_same.correlation_time:.1f}; speed-up at equal accuracy "
        + ("n/a" if speed["speedup"] is None else f"{speed['speedup']:.2f}x")
        + f" -> {out / 'summary.json'}"
    )
    return summary


def _figure(path, setup, ref, learned, classical, classical_name, spectra) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 7.5))
    gs = fig.add_gridspec(2, 3, height_ratios=[1.3, 1.0], hspace=0.35, wspace=0.25)
    t = learned["times"]
    extent = [0, setup.length, t[-1], 0]
    vmax = float(np.max(np.abs(ref[0])))
    panels = [
        ("reference (coarse-grained)", ref[0]),
        ("learned stepper", learned["prediction"][0]),
        (classical_name, classical["prediction"][0]),
    ]
    for i, (title, traj) in enumerate(panels):
        ax = fig.add_subplot(gs[0, i])
        im = ax.imshow(
            np.nan_to_num(traj[..., 0]),
            aspect="auto",
            extent=extent,
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x")
        if i == 0:
            ax.set_ylabel("t")
    fig.colorbar(im, ax=fig.axes[:3], shrink=0.8, label="u")
    ax = fig.add_subplot(gs[1, 0])
    ax.plot(t, learned["nrmse"], label="learned")
    ax.plot(t, np.minimum(classical["nrmse"], 10), label="classical, same grid")
    ax.axvline(setup.horizon, color="grey", ls=":", lw=1)
    ax.set_xlabel("t")
    ax.set_ylabel("nRMSE")
    ax.set_ylim(0, 1.6)
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[1, 1])
    ax.plot(t, learned["correlation"], label="learned")
    ax.plot(t, classical["correlation"], label="classical, same grid")
    ax.axhline(0.8, color="grey", ls=":", lw=1)
    ax.set_xlabel("t")
    ax.set_ylabel("correlation with reference")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[1, 2])
    k = spectra["k"][1:]
    ax.semilogy(k, spectra["reference"][1:], "k", label="reference")
    for label in ("learned", "classical_same_grid"):
        if spectra.get(label) is not None:
            ax.semilogy(k, spectra[label][1:], label=label.replace("_", " "))
    ax.set_xlabel("k")
    ax.set_ylabel("E(k), final frame")
    ax.legend(fontsize=8)
    save_figure(fig, path)
