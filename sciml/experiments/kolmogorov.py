"""``sciml reproduce kolmogorov``: a learned coarse stepper for 2-D Kolmogorov flow, in miniature.

    d(omega)/dt + u . grad(omega) = nu Laplacian(omega) - drag omega - A k_f cos(k_f y)

on the periodic box [0, 2 pi)^2 (the registry's ``ns2d_kolmogorov``: forcing mode 4, A = 1,
drag 0.1) at nu = 0.01 (Re = 1/nu = 100, a miniature of the Re = 1000 jax-cfd benchmark that a
2-core CPU can afford):

1. reference: the ETDRK4 pseudo-spectral vorticity solver on 64^2 (dt = 0.01), after a spin-up;
2. spectral coarse-graining to 16^2 (4x);
3. a conv -> f -> conv -> f -> conv -> f -> conv stepper (depth 4, so that its 17-cell receptive
   field spans the 16-cell box: the velocity is a non-local function of the vorticity; dt = 0.1,
   10 reference steps per step) trained through
   ``sciml.train.fit`` with a curriculum up to 4-step unrolls;
4. vorticity correlation against time, nRMSE, spectra, and the classical solver at 16^2, 24^2,
   32^2 and 64^2 with their costs (speed-up at equal accuracy).

Writes ``summary.json``, ``kolmogorov.png`` and the training run (``sciml export`` works on it).
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
from sciml.experiments.stepper_experiment import ExperimentSetup, run_experiment

TWO_PI = 2 * np.pi
QUICK = ExperimentSetup(
    equation="ns2d_kolmogorov",
    params={"nu": 0.01},
    length=(TWO_PI, TWO_PI),
    fine_shape=(64, 64),
    fine_dt=0.01,
    coarse_shape=(16, 16),
    frame_dt=0.1,
    spinup=10.0,
    n_train=24,
    n_val=4,
    n_test=8,
    train_frames=80,
    test_frames=60,
    horizon=4.0,
    width=32,
    kernel_size=5,
    depth=4,
    unroll=4,
    steps=2000,
    batch_size=16,
    classical_shapes=((16, 16), (24, 24), (32, 32)),
    classical_dt=(0.1, 0.05),
)
FULL = ExperimentSetup(
    **{
        **QUICK.__dict__,
        "fine_shape": (128, 128),
        "fine_dt": 0.005,
        "coarse_shape": (32, 32),
        "spinup": 20.0,
        "n_train": 64,
        "n_val": 8,
        "n_test": 16,
        "train_frames": 200,
        "test_frames": 100,
        "horizon": 6.0,
        "width": 64,
        "unroll": 8,
        "steps": 10000,
        "batch_size": 32,
        "classical_shapes": ((32, 32), (48, 48), (64, 64)),
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
    """Run the Kolmogorov-flow reproduction into ``out_dir``; returns the ``summary.json`` content."""
    t_start = time.perf_counter()
    setup = setup or (QUICK if quick else FULL)
    out = prepare_out_dir(out_dir, name="kolmogorov", overwrite=overwrite)
    res = run_experiment(setup, out, seed=seed)
    summary = {
        "experiment": "kolmogorov: 2-D Navier-Stokes with Kolmogorov forcing, nu = "
        f"{setup.params.get('nu')}, drag 0.1, forcing mode 4",
        "quick": quick,
        "seed": seed,
        **res["summary"],
        "vorticity_correlation_learned": res["summary"]["curves"]["correlation_learned"],
        "vorticity_correlation_classical_same_grid": res["summary"]["curves"][
            "correlation_classical_same_grid"
        ],
        "figure": "kolmogorov.png",
    }
    _figure(out / "kolmogorov.png", res)
    summary["timings_s"]["total_s"] = time.perf_counter() - t_start
    write_json(out / "summary.json", summary)
    finish_out_dir(out)
    stage(
        f"done in {summary['timings_s']['total_s']:.0f} s: vorticity correlation time learned "
        f"{summary['correlation_time_learned']:.2f} vs classical same grid "
        f"{summary['correlation_time_classical_same_grid']:.2f} (interpolated, threshold 0.8); "
        f"Kochkov et al. 2021 convention (first frame below 0.95): learned "
        f"{summary['correlation_time_kochkov2021_learned']:.2f} vs "
        f"{summary['correlation_time_kochkov2021_classical_same_grid']:.2f}; nRMSE "
        f"{summary['nrmse_learned']:.3f} vs {summary['nrmse_classical_same_grid']:.3f} -> "
        f"{out / 'summary.json'}"
    )
    return summary


def _figure(path, res) -> None:
    from matplotlib.figure import Figure

    ref = res["reference"]
    learned, classical = res["learned_result"], res["classical_result"]
    t = learned["times"]
    frames = [0, len(t) // 4, len(t) // 2, len(t) - 1]
    rows = [
        ("reference", ref[0]),
        ("learned", learned["prediction"][0]),
        (res["classical_name"], classical["prediction"][0]),
    ]
    fig = Figure(figsize=(3.0 * len(frames) + 4, 9))
    gs = fig.add_gridspec(3, len(frames) + 1, wspace=0.15, hspace=0.3)
    vmax = float(np.max(np.abs(ref[0])))
    for r, (label, traj) in enumerate(rows):
        for c, f in enumerate(frames):
            ax = fig.add_subplot(gs[r, c])
            ax.imshow(
                np.nan_to_num(traj[f, ..., 0]).T,
                origin="lower",
                cmap="RdBu_r",
                vmin=-vmax,
                vmax=vmax,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {t[f]:.1f}", fontsize=10)
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    ax = fig.add_subplot(gs[0:2, len(frames)])
    ax.plot(t, learned["correlation"], label="learned")
    ax.plot(t, classical["correlation"], label="classical, same grid")
    ax.axhline(0.8, color="grey", ls=":", lw=1)
    ax.axhline(0.95, color="grey", ls="--", lw=1)
    ax.set_xlabel("t")
    ax.set_ylabel("vorticity correlation (0.95: Kochkov et al. 2021)")
    ax.yaxis.set_label_position("right")
    ax.yaxis.tick_right()
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[2, len(frames)])
    ax.plot(t, learned["nrmse"], label="learned")
    ax.plot(t, np.minimum(classical["nrmse"], 10), label="classical, same grid")
    ax.set_ylim(0, 1.6)
    ax.set_xlabel("t")
    ax.set_ylabel("nRMSE")
    ax.yaxis.set_label_position("right")
    ax.yaxis.tick_right()
    save_figure(fig, path)


reproduce_kolmogorov = reproduce  # the name before the move to sciml.experiments
