"""``sciml reproduce d3m``: the D3M emulator against ZA and 2LPT (He et al., PNAS 2019).

1. Simulate (``sciml.solvers.pm``): Gaussian initial conditions at the D3M fiducial cosmology,
   32^3 particles in a 128 Mpc/h box, ZA, 2LPT and FastPM (force mesh 2x) displacements at
   ``a = 1``; training and held-out test seeds in separate files.
2. Train D3M (ZA -> PM displacement, MSE, flips + axis permutations) through
   :func:`sciml.train.train` from a config, as ``sciml train`` does (run in ``out/run``).
3. On the test seeds: mean relative point-wise displacement error of ZA, 2LPT and D3M against
   PM; T(k) and r(k) of the CIC density (on the 32^3 particle grid, no deconvolution, as the
   paper's code) and of the displacement (summed over components), at k = 0.11 and 0.50 h/Mpc.
4. The same model on a box 4x larger (512 Mpc/h, 128^3 particles, same cell size) and on
   cosmologies it was not trained on: A_s x0.2 and x1.8, Omega_m 0.1 and 0.5.

Outputs: ``summary.json`` (``displacement_error_za``, ``displacement_error_2lpt``,
``displacement_error_d3m`` and the spectra at the table's k; the same for the large box and each
cosmology; curves; settings; timings), ``results.md`` (the table), ``d3m_slices.png`` (density
slices of PM, 2LPT, D3M and their differences from PM), ``d3m_spectra.png`` (T(k), r(k)).

``quick`` trains a smaller net (width 4 instead of 64, residual: the net predicts PM - ZA) on
fewer simulations for fewer steps; the full run is the paper's network and is sized for a GPU.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml.atomic import write_text
from sciml.experiments.runner import prepare_out_dir, save_figure, stage, write_json

TABLE_K = (0.11, 0.50)
PAPER = {
    "displacement_error_2lpt": 0.093,
    "displacement_error_d3m": 0.028,
    "density": {
        "2lpt": {"T": (0.96, 0.74), "r": (1.00, 0.94)},
        "d3m": {"T": (1.00, 0.99), "r": (1.00, 1.00)},
    },
    "displacement": {
        "2lpt": {"T": (0.96, 1.04), "r": (1.00, 0.90)},
        "d3m": {"T": (1.00, 0.99), "r": (1.00, 1.00)},
    },
}

QUICK = {
    "n": 32,
    "box": 128.0,
    "pm_steps": 10,
    "train_sims": 24,
    "test_sims": 4,
    "width": 4,
    "residual": True,
    "steps": 200,
    "batch_size": 2,
    "learning_rate": 3e-3,
    "weight_decay": 1e-4,
    "big_factor": 4,
    "big_sims": 1,
    "cosmo_sims": 2,
}
FULL = {
    "n": 32,
    "box": 128.0,
    "pm_steps": 10,
    "train_sims": 800,
    "test_sims": 100,
    "width": 64,
    "residual": False,
    "steps": 20000,
    "batch_size": 8,
    "learning_rate": 1e-4,
    "weight_decay": 1e-4,
    "big_factor": 4,
    "big_sims": 2,
    "cosmo_sims": 20,
}
COSMOLOGIES = {
    "A_s_x0.2": {"A_s_factor": 0.2},
    "A_s_x1.8": {"A_s_factor": 1.8},
    "Omega_m_0.1": {"Omega_m": 0.1},
    "Omega_m_0.5": {"Omega_m": 0.5},
}


# ------------------------------------------------------------------------------------------
# data


def _cosmology(variant: dict[str, float] | None):
    from sciml.solvers.pm import Cosmology

    base = Cosmology()
    if not variant:
        return base
    if "A_s_factor" in variant:
        return base.replace(A_s=base.A_s * variant["A_s_factor"])
    return base.replace(**variant)


def simulate_file(path: Path, cosmo, *, n: int, box: float, steps: int, samples: int, seed: int):
    """``samples`` PM runs written as ``sciml simulate nbody`` does (datasets ``za``, ``lpt2``,
    ``pm`` ``(sample, n, n, n, 3)`` float32 Mpc/h; layout ``docs/nbody_layout.md``)."""
    from sciml.datasets.nbody_file import simulate_nbody_to_file

    return simulate_nbody_to_file(
        path, n=n, box=box, samples=samples, steps=steps, seed=seed, cosmology=cosmo
    )


def _read(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][...] for k in ("za", "lpt2", "pm")}


# ------------------------------------------------------------------------------------------
# evaluation


def evaluate(fields: dict[str, np.ndarray], pred: np.ndarray, box: float) -> dict[str, Any]:
    """Displacement errors of ZA, 2LPT, D3M against PM and spectra at :data:`TABLE_K`."""
    from sciml.metrics.spectra3d import displacement_density, displacement_error, spectra

    true = fields["pm"]
    methods = {"za": fields["za"], "2lpt": fields["lpt2"], "d3m": pred}
    result: dict[str, Any] = {}
    for name, disp in methods.items():
        result[f"displacement_error_{name}"] = displacement_error(disp, true)
        result[f"displacement_error_ratio_{name}"] = displacement_error(disp, true, kind="ratio")
    dens_true = [displacement_density(d, box) for d in true]
    curves: dict[str, Any] = {}
    for kind in ("density", "displacement"):
        curves[kind] = {}
        for name, disp in methods.items():
            if kind == "density":
                pairs = [(displacement_density(d, box), t) for d, t in zip(disp, dens_true)]
            else:
                pairs = list(zip(disp, true))
            parts = [spectra(a, b, box) for a, b in pairs]
            k = parts[0].k
            pp = np.mean([s.p_pred for s in parts], 0)
            pt = np.mean([s.p_true for s in parts], 0)
            px = np.mean([s.p_cross for s in parts], 0)
            t, r = np.sqrt(pp / pt), px / np.sqrt(pp * pt)
            curves[kind][name] = {"k": k, "T": t, "r": r}
            for kk in TABLE_K:
                result[f"{kind}_T_{name}_k{kk:.2f}"] = float(np.interp(kk, k, t))
                result[f"{kind}_r_{name}_k{kk:.2f}"] = float(np.interp(kk, k, r))
    result["curves"] = curves
    return result


# ------------------------------------------------------------------------------------------
# figures and table


def _figures(out: Path, fields, pred, ev, box: float) -> None:
    from matplotlib.figure import Figure

    from sciml.metrics.spectra3d import displacement_density

    n = fields["pm"].shape[1]
    z = n // 2
    dens = {
        "PM": displacement_density(fields["pm"][0], box)[:, :, z],
        "2LPT": displacement_density(fields["lpt2"][0], box)[:, :, z],
        "D3M": displacement_density(pred[0], box)[:, :, z],
    }
    fig = Figure(figsize=(15, 6))
    axes = fig.subplots(2, 3)
    vmax = np.percentile(np.log10(2 + dens["PM"]), 99.5)
    for ax, (name, d) in zip(axes[0], dens.items()):
        im = ax.imshow(np.log10(2 + d).T, origin="lower", cmap="magma", vmax=vmax)
        ax.set_title(f"{name}: log10(2 + delta), slice z = {z}")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    lim = np.percentile(np.abs(dens["2LPT"] - dens["PM"]), 99)
    for ax, name in zip(axes[1][1:], ("2LPT", "D3M")):
        im = ax.imshow(
            (dens[name] - dens["PM"]).T, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim
        )
        ax.set_title(f"{name} - PM (density contrast)")
    fig.colorbar(im, ax=axes[1].tolist(), shrink=0.8)
    axes[1][0].axis("off")
    save_figure(fig, out / "d3m_slices.png")

    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    style = {"za": ("ZA", ":"), "2lpt": ("2LPT", "--"), "d3m": ("D3M", "-")}
    for col, kind in enumerate(("density", "displacement")):
        for row, q in enumerate(("T", "r")):
            ax = axes[row][col]
            for name, (label, ls) in style.items():
                c = ev["curves"][kind][name]
                ax.plot(c["k"], c[q], ls, label=label)
            ax.axhline(1.0, color="k", lw=0.5)
            for kk in TABLE_K:
                ax.axvline(kk, color="grey", lw=0.5)
            ax.set_xscale("log")
            ax.set_xlabel("k [h/Mpc]")
            ax.set_ylabel(f"{q}(k)")
            ax.set_title(f"{kind}: {'T = sqrt(P_pred/P_PM)' if q == 'T' else 'r = P_x/sqrt(P P)'}")
            ax.legend()
    save_figure(fig, out / "d3m_spectra.png")


def _table(summary: dict[str, Any]) -> str:
    main = summary["test"]
    lines = [
        "| | ZA | 2LPT | D3M | paper 2LPT | paper D3M |",
        "|---|---|---|---|---|---|",
        "| displacement error (mean point-wise relative) | "
        f"{main['displacement_error_za']:.3f} | {main['displacement_error_2lpt']:.3f} | "
        f"{main['displacement_error_d3m']:.3f} | 0.093 | 0.028 |",
    ]
    for kind in ("density", "displacement"):
        for q in ("T", "r"):
            for i, kk in enumerate(TABLE_K):
                vals = [main[f"{kind}_{q}_{m}_k{kk:.2f}"] for m in ("za", "2lpt", "d3m")]
                paper = [PAPER[kind][m][q][i] for m in ("2lpt", "d3m")]
                lines.append(
                    f"| {kind} {q}(k={kk:.2f}) | "
                    + " | ".join(f"{v:.3f}" for v in vals)
                    + f" | {paper[0]:.2f} | {paper[1]:.2f} |"
                )
    lines += ["", "| test set | ZA | 2LPT | D3M |", "|---|---|---|---|"]
    for name, ev in [
        (f"box {summary['settings']['big_factor']}x larger", summary["large_box"]),
        *summary["cosmologies"].items(),
    ]:
        lines.append(
            f"| {name} | {ev['displacement_error_za']:.3f} | {ev['displacement_error_2lpt']:.3f} "
            f"| {ev['displacement_error_d3m']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def _strip(ev: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ev.items() if k != "curves"}


# ------------------------------------------------------------------------------------------
# the experiment


def _config(s: dict[str, Any], train_path: Path, run_dir: Path, seed: int):
    from sciml.train import TrainConfig

    return TrainConfig.from_dict(
        {
            "model": {
                "name": "sciml.cosmo.model:d3m",
                "kwargs": {
                    "width": s["width"],
                    "depth": 2,
                    "residual": s["residual"],
                    "length_scale": s["box"] / s["n"],
                },
            },
            "task": {
                "name": "sciml.cosmo.task:D3MTask",
                "kwargs": {"input_key": "za", "target_key": "pm", "augment": True},
            },
            "data": {
                "train": {
                    "kind": "h5",
                    "kwargs": {"path": str(train_path), "fields": ["za", "pm"]},
                },
            },
            "optim": {
                "name": "adamw",
                "learning_rate": s["learning_rate"],
                "weight_decay": s["weight_decay"],
                "schedule": "cosine",
                "warmup_steps": max(1, s["steps"] // 20),
                "end_factor": 0.05,
            },
            "mesh": {"data": 1, "space": 1},
            "steps": s["steps"],
            "batch_size": s["batch_size"],
            "log_every": 10,
            "checkpoint_every": max(1, s["steps"] // 4),
            "keep_checkpoints": 1,
            "seed": seed,
            "run_dir": str(run_dir),
        }
    )


def reproduce(out: str | Path, *, quick: bool, seed: int = 0, overwrite: bool = False) -> dict:
    """Run the D3M reproduction into ``out``; returns the summary (also ``summary.json``)."""
    import sciml.cosmo  # noqa: F401  (registers d3m)
    from sciml.cosmo.inference import predict
    from sciml.train import restore_model, train

    s = QUICK if quick else FULL
    out = prepare_out_dir(out, name="d3m", overwrite=overwrite)
    data = out / "data"
    times: dict[str, float] = {}
    n, box, steps = s["n"], s["box"], s["pm_steps"]
    fid = _cosmology(None)
    base = 100 * seed

    t0 = time.perf_counter()
    stage(
        f"simulating {s['train_sims']} training and {s['test_sims']} test boxes (PM, {steps} steps)"
    )
    sim = {"n": n, "box": box, "steps": steps}
    train_path = simulate_file(data / "train.h5", fid, **sim, samples=s["train_sims"], seed=base)
    test_path = simulate_file(data / "test.h5", fid, **sim, samples=s["test_sims"], seed=base + 1)
    times["simulate_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    stage(f"training D3M (width {s['width']}, {s['steps']} steps, batch {s['batch_size']})")
    config = _config(s, train_path, out / "run", seed)
    result = train(config)
    times["train_s"] = time.perf_counter() - t0
    history = [r for r in result.history if r.get("split") == "train"]

    t0 = time.perf_counter()
    stage("evaluating on the held-out seeds")
    model = restore_model(out / "run", which="latest")
    test = _read(test_path)
    pred = predict(model, test["za"])
    ev_test = evaluate(test, pred, box)
    _figures(out, test, pred, ev_test, box)

    f = s["big_factor"]
    stage(f"the same model on a {f}x larger box ({f * n}^3 particles, {f * box:.0f} Mpc/h)")
    big_path = simulate_file(
        data / "big.h5",
        fid,
        n=f * n,
        box=f * box,
        steps=steps,
        samples=s["big_sims"],
        seed=base + 2,
    )
    big = _read(big_path)
    ev_big = evaluate(big, predict(model, big["za"]), f * box)

    ev_cosmo = {}
    for i, (name, variant) in enumerate(COSMOLOGIES.items()):
        stage(f"cosmology not trained on: {name}")
        c = _cosmology(variant)
        path = simulate_file(
            data / f"test_{name}.h5",
            c,
            n=n,
            box=box,
            steps=steps,
            samples=s["cosmo_sims"],
            seed=base + 3 + i,
        )
        fields = _read(path)
        ev_cosmo[name] = _strip(evaluate(fields, predict(model, fields["za"]), box))
    times["evaluate_s"] = time.perf_counter() - t0

    summary = {
        **{
            k: ev_test[k]
            for k in ("displacement_error_za", "displacement_error_2lpt", "displacement_error_d3m")
        },
        "test": _strip(ev_test),
        "large_box": _strip(ev_big),
        "cosmologies": ev_cosmo,
        "curves": ev_test["curves"],
        "paper": PAPER,
        "ranking_ok": bool(
            ev_test["displacement_error_d3m"]
            < ev_test["displacement_error_2lpt"]
            < ev_test["displacement_error_za"]
        ),
        "settings": {**s, "quick": quick, "seed": seed, "cosmology": fid.to_dict()},
        "train_loss_first_last": [history[0]["loss"], history[-1]["loss"]] if history else None,
        "timings": times,
    }
    write_json(out / "summary.json", summary)
    write_text(out / "results.md", _table(summary))
    stage(
        f"displacement error vs PM: ZA {summary['displacement_error_za']:.3f}, 2LPT "
        f"{summary['displacement_error_2lpt']:.3f}, D3M {summary['displacement_error_d3m']:.3f}"
    )
    return summary
