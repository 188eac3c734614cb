"""``sciml reproduce learned-stepper``: a learned coarse integrator for 1-D Kuramoto-Sivashinsky.

    du/dt + u du/dx + d^2u/dx^2 + d^4u/dx^4 = 0,   x in [0, L) periodic, L = 64 (chaotic)

1. Fine reference trajectories: the built-in ETDRK4 pseudo-spectral solver (``ks1d``) at
   N = 256 (dx = 0.25), dt = 0.05, from random Fourier initial conditions, after a spin-up onto
   the attractor; frames every ``frame_dt`` = 1.
2. Coarse-graining by spectral truncation to N = 48 (dx = 1.33, 5.3x coarser), where the
   classical solver is badly under-resolved.
3. Training the conv -> f -> conv stepper ``u <- u + dt G(u)`` (dt = 1, forward Euler) through
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
from typing import Any

import numpy as np

from sciml.experiments.runner import (
    finish_out_dir,
    prepare_out_dir,
    save_figure,
    stage,
    write_json,
)
from sciml.experiments.setups import write_setup
from sciml.experiments.stepper_experiment import ExperimentSetup, run_experiment

QUICK = ExperimentSetup(
    equation="ks1d",
    length=(64.0,),
    fine_shape=(256,),
    fine_dt=0.05,
    coarse_shape=(48,),
    frame_dt=1.0,
    spinup=100.0,
    n_train=64,
    n_val=8,
    n_test=16,
    train_frames=100,
    test_frames=50,
    horizon=20.0,
    width=32,
    kernel_size=5,
    unroll=4,
    steps=5000,
    batch_size=32,
    classical_shapes=((48,), (64,), (96,), (128,)),
    classical_dt=(1.0, 0.5, 0.25),
    noise_std=0.05,
    long_frames=1000,
    long_burn_in=100,
    long_val=16,
    long_test=64,
    long_exclude_settled=True,
    candidates=3,
)
FULL = ExperimentSetup(
    **{
        **QUICK.__dict__,
        "n_train": 128,
        "n_val": 16,
        "n_test": 32,
        "train_frames": 200,
        "test_frames": 100,
        "width": 64,
        "kernel_size": 7,
        "unroll": 8,
        "steps": 20000,
        "batch_size": 64,
    }
)


def reproduce(
    out_dir: str | os.PathLike,
    *,
    quick: bool = True,
    seed: int = 0,
    overwrite: bool = False,
    setup: ExperimentSetup | None = None,
) -> dict[str, Any]:
    """Run the whole KS reproduction into ``out_dir``; returns the ``summary.json`` content.

    Args:
      out_dir: run directory (created; an earlier reproduction is replaced with ``overwrite``).
      quick: the small preset (a few minutes on 2 CPU cores) instead of the full-size run.
      seed: seeds the initial conditions, the model and the training order.
      setup: override the preset (tests use a tiny one).
    """
    t_start = time.perf_counter()
    setup = setup or (QUICK if quick else FULL)
    out = prepare_out_dir(out_dir, name="learned-stepper", overwrite=overwrite)
    write_setup(out, experiment="learned-stepper", quick=quick, seed=seed, setup=setup)
    res = run_experiment(setup, out, seed=seed)
    summary = {
        "experiment": "learned-stepper: 1-D Kuramoto-Sivashinsky, L = 64",
        "quick": quick,
        "seed": seed,
        **res["summary"],
        "figure": "learned_stepper.png",
    }
    summary.update(verdict(summary))
    _figure(
        out / "learned_stepper.png",
        setup,
        res["reference"],
        res["learned_result"],
        res["classical_result"],
        res["classical_name"],
        res["spectra"],
        res.get("long_rollout"),
    )
    summary["timings_s"]["total_s"] = time.perf_counter() - t_start
    write_json(out / "summary.json", summary)
    finish_out_dir(out)
    speed = summary["speedup_at_equal_accuracy"]
    stage(
        f"done in {summary['timings_s']['total_s']:.0f} s: nRMSE learned "
        f"{summary['nrmse_learned']:.3f} vs classical same grid "
        f"{summary['nrmse_classical_same_grid']:.3f}; correlation time "
        f"{summary['correlation_time_learned']:.1f} vs "
        f"{summary['correlation_time_classical_same_grid']:.1f}; speed-up at equal accuracy "
        + ("n/a" if speed is None else f"{speed:.2f}x")
        + f" -> {out / 'summary.json'}"
    )
    return summary


# Why the spectral solver wins on this problem (measured; README "sciml reproduce learned-stepper").
SPECTRAL_WINS_WHY = (
    "1-D KS at L = 64 is smooth: the pseudo-spectral ETDRK4 solver converges exponentially, so a "
    "grid a third finer (N = 64) already resolves the dynamics the learned stepper has to model on "
    "N = 48, and one of its steps (a few length-N FFTs) costs about as much as the per-call "
    "overhead of two small convolutions; there is little left under-resolved for a closure to "
    "learn. The learned steppers win where the classical method of the field is finite-volume and "
    "the solution has under-resolved features: sciml reproduce burgers (5.4x resolution, 7.9x "
    "speed-up against WENO5 in the full run) and kolmogorov."
)


def verdict(summary: dict[str, Any]) -> dict[str, str]:
    """``verdict`` (which method is cheaper at equal accuracy, from the run's own numbers) and,
    when the classical solver wins, ``verdict_why``."""
    speed = summary["speedup_at_equal_accuracy"]
    learned = summary["learned"]
    if speed is None:
        return {
            "verdict": f"the learned stepper wins: nRMSE {learned['nrmse']:.3g} on N = "
            f"{learned['grid_shape'][0]}, more accurate than every classical run measured"
        }
    matched = next(
        c for c in summary["classical"] if c["name"] == summary["speedup_matched_classical"]
    )
    if speed >= 1:
        return {
            "verdict": f"the learned stepper wins: {speed:.2f}x cheaper than {matched['name']}, "
            f"the cheapest classical run at least as accurate (nRMSE {matched['nrmse']:.3g} "
            f"against {learned['nrmse']:.3g})"
        }
    return {
        "verdict": f"the spectral method wins on this problem: {matched['name']} is as accurate "
        f"as the learned stepper (nRMSE {matched['nrmse']:.3g} against {learned['nrmse']:.3g}) "
        f"at {1 / speed:.1f}x less cost per simulated time unit (speed-up at equal accuracy "
        f"{speed:.2f}x)",
        "verdict_why": SPECTRAL_WINS_WHY,
    }


def _figure(path, setup, ref, learned, classical, classical_name, spectra, long=None) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 7.5))
    gs = fig.add_gridspec(2, 3, height_ratios=[1.3, 1.0], hspace=0.35, wspace=0.25)
    t = learned["times"]
    extent = [0, setup.length[0], t[-1], 0]
    vmax = float(np.max(np.abs(ref[0])))
    panels = [
        ("reference (coarse-grained), test trajectory 0", ref[0]),
        ("learned stepper, test trajectory 0", learned["prediction"][0]),
        (f"{classical_name}, test trajectory 0", classical["prediction"][0]),
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
    ax.text(setup.horizon, 1.5, " nRMSE time-mean\n up to here", fontsize=7, va="top", color="grey")
    ax.set_xlabel("t")
    ax.set_ylabel("nRMSE (mean over test trajectories)")
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
    if long is not None and long.get("spectrum_reference") is not None:
        k, e_ref = np.asarray(long["spectrum_k"]), np.asarray(long["spectrum_reference"])
        ax.semilogy(k, e_ref, "k", label="reference")
        ax.semilogy(k, long["spectrum_learned"], label="learned")
        ax.set_title(
            f"long-time spectrum (t = {setup.long_burn_in}..{long['horizon']:g}, "
            f"{long['bounded_fraction']:.0%} bounded)",
            fontsize=9,
        )
        ax.set_ylabel("time-averaged E(k)")
    else:
        k, e_ref = spectra["k"][1:], spectra["reference"][1:]
        ax.semilogy(k, e_ref, "k", label="reference")
        for label in ("learned", "classical_same_grid"):
            if spectra.get(label) is not None:
                ax.semilogy(k, spectra[label][1:], label=label.replace("_", " "))
        ax.set_ylabel("E(k), final frame")
    ax.set_ylim(float(np.min(e_ref)) / 10, float(np.max(e_ref)) * 3)  # the decades that matter
    ax.set_xlabel("k")
    ax.legend(fontsize=8)
    save_figure(fig, path)


reproduce_learned_stepper = reproduce  # the name before the move to sciml.experiments
