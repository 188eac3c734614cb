"""``sciml reproduce fastmri``: zero-filled vs U-Net (and VarNet) on synthetic knee-like volumes.

The experiment follows the fastMRI baselines (Zbontar et al. 2018) on data that sciml can ship:

1. synthesise single-coil knee-like volumes (Shepp-Logan and random-ellipse phantoms with smooth
   textures and phase, :func:`sciml.mri.synthesize_dataset`), a training and a validation set;
2. train the current fastMRI U-Net (L1 on normalised images, RMSprop as the reference) through
   :func:`sciml.train.fit` with fresh random masks of both accelerations (4x with centre fraction
   0.08, 8x with 0.04, as the reference's knee configuration);
3. on the validation volumes, masks seeded by the file name, compute NMSE, PSNR and SSIM per
   volume (the reference evaluation) for the zero-filled baseline and the U-Net at 4x and 8x;
4. without ``quick``: also multi-coil volumes and an (smaller than published) end-to-end VarNet
   trained with ``1 - SSIM`` and Adam, against the zero-filled RSS baseline.

Outputs in ``out_dir``: ``summary.json`` (settings, per-method/acceleration mean and 2 std of
each metric, the U-Net's margins over zero-filled, timings), ``results.md`` (the table for the
README), ``fastmri_reconstructions.png`` (ground truth, masked k-space (log magnitude),
zero-filled and U-Net reconstruction of the middle slice of the first validation volume, for 4x
and 8x), the data under ``data/`` and the training runs under ``runs/``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from flax import nnx

from sciml.atomic import write_text
from sciml.experiments.runner import finish_out_dir, prepare_out_dir, save_figure, stage, write_json
from sciml.mri.evaluate import evaluate_volume
from sciml.mri.io import list_volumes
from sciml.mri.masks import FASTMRI_MASK_PAIRS, fastmri_mask_spec, mask_func, seed_from_name
from sciml.mri.reconstruct import (
    reconstruct_unet_volume,
    reconstruct_varnet_volume,
)
from sciml.mri.synthesize import synthesize_dataset
from sciml.mri.transforms import apply_mask, zero_filled

# (acceleration, centre fraction) of the evaluation: the fastMRI knee pairs (one place: masks.py)
ACCELERATIONS = tuple((a, cf) for cf, a in FASTMRI_MASK_PAIRS)
METRICS = ("NMSE", "PSNR", "SSIM")

QUICK = {
    "shape": (128, 128),
    "recon_size": (96, 96),
    "slices": 8,
    "train_volumes": 10,
    "val_volumes": 4,
    "unet_chans": 8,
    "unet_pools": 3,
    "unet_steps": 1000,
    "unet_lr": 1e-3,
    "batch_size": 4,
    "varnet": False,
    "cs_iters": 200,
}
FULL = {
    "shape": (160, 160),
    "recon_size": (128, 128),
    "slices": 12,
    "train_volumes": 24,
    "val_volumes": 6,
    "unet_chans": 32,
    "unet_pools": 4,
    "unet_steps": 3000,
    "unet_lr": 1e-3,
    "batch_size": 4,
    "varnet": True,
    "coils": 4,
    "varnet_cascades": 6,
    "varnet_chans": 12,
    "varnet_pools": 3,
    "varnet_sens_chans": 8,
    "varnet_sens_pools": 3,
    "varnet_steps": 1500,
    "varnet_lr": 3e-4,
    "varnet_batch_size": 1,
    "cs_iters": 200,
}


def _summarise(per_volume: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for name in METRICS:
        values = np.array([v[name] for v in per_volume], dtype=np.float64)
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[name] = {"mean": float(values.mean()), "two_std": 2.0 * std}
    return out


def _margins(method: dict, baseline: dict) -> dict[str, float]:
    """Positive = ``method`` better than ``baseline`` (lower NMSE, higher PSNR and SSIM)."""
    return {
        "NMSE": baseline["NMSE"]["mean"] - method["NMSE"]["mean"],
        "PSNR": method["PSNR"]["mean"] - baseline["PSNR"]["mean"],
        "SSIM": method["SSIM"]["mean"] - baseline["SSIM"]["mean"],
    }


def _train(model: str, s: dict, data: Path, run_dir: Path, seed: int) -> nnx.Module:
    """Train the ``"unet"`` (single-coil) or ``"varnet"`` (multi-coil) baseline through the loop.

    The run's ``config.yaml`` records everything: model, task, optimiser and the data pipeline
    (data kind ``fastmri``: challenge, mask kind, centre fractions and accelerations), and the
    model and data are built from it, as ``sciml.train.restore_model`` and ``sciml mri
    reconstruct`` rebuild them.
    """
    from sciml.mri.tasks import UNET_MODEL, VARNET_MODEL
    from sciml.train import TrainConfig, fit
    from sciml.train.registry import build_model, build_source, build_task

    if model == "unet":
        name, task, challenge = UNET_MODEL, "sciml.mri.tasks:UnetTask", "singlecoil"
        kwargs = {"chans": s["unet_chans"], "num_pool_layers": s["unet_pools"], "variant": "2020"}
        # RMSprop as the reference (PyTorch's alpha=0.99, eps added outside the square root).
        optim = {
            "name": "rmsprop",
            "learning_rate": s["unet_lr"],
            "kwargs": {"decay": 0.99, "eps": 1e-8, "eps_in_sqrt": False},
        }
        steps, batch_size = s["unet_steps"], s["batch_size"]
    else:
        name, task, challenge = VARNET_MODEL, "sciml.mri.tasks:VarNetTask", "multicoil"
        kwargs = {
            "num_cascades": s["varnet_cascades"],
            "sens_chans": s["varnet_sens_chans"],
            "sens_pools": s["varnet_sens_pools"],
            "chans": s["varnet_chans"],
            "pools": s["varnet_pools"],
        }
        optim = {"name": "adam", "learning_rate": s["varnet_lr"]}
        steps, batch_size = s["varnet_steps"], s["varnet_batch_size"]
    pipeline = {
        "root": str(data),
        "challenge": challenge,
        "model": model,
        "mask": fastmri_mask_spec("random"),
        "seed": seed,
    }
    config = TrainConfig.from_dict(
        {
            "model": {"name": name, "kwargs": kwargs},
            "task": {"name": task},
            "data": {"train": {"kind": "fastmri", "kwargs": pipeline}},
            "optim": optim,
            "mesh": {"data": 1, "space": 1},
            "steps": steps,
            "batch_size": batch_size,
            "log_every": max(steps // 20, 1),
            "checkpoint_every": 0,
            "keep_checkpoints": 1,
            "seed": seed,
            "run_dir": str(run_dir),
        }
    )
    net = build_model(config.model.name, dict(config.model.kwargs), seed=seed)
    source = build_source(config.data.train.kind, dict(config.data.train.kwargs))
    return fit(net, build_task(config.task.name, {}), source, config=config).model


def _evaluate(val: Path, recon_fn, *, multicoil: bool) -> tuple[dict, dict, dict]:
    """Per-acceleration zero-filled and model metrics, plus the first volume's figure panels."""
    zf_results, model_results, panels = {}, {}, {}
    key = "reconstruction_rss" if multicoil else "reconstruction_esc"
    for acc, cf in ACCELERATIONS:
        masker = mask_func("random", [cf], [acc])
        zf_vols, model_vols = [], []
        for i, path in enumerate(list_volumes(val)):
            with h5py.File(path, "r") as f:
                kspace = np.asarray(f["kspace"])
                target = np.asarray(f[key])
            masked, _, _ = apply_mask(kspace, masker, seed=seed_from_name(path.name))
            zf = np.asarray(zero_filled(masked, target.shape[-2:], multicoil=multicoil))
            recon = recon_fn(path, masker)
            zf_vols.append(evaluate_volume(target, zf, source=str(path)))
            model_vols.append(evaluate_volume(target, recon, source=str(path)))
            if i == 0:
                s = target.shape[0] // 2
                k = np.asarray(masked[s])
                k = np.sqrt(np.sum(np.abs(k) ** 2, axis=0)) if multicoil else np.abs(k)
                panels[acc] = {
                    "target": target[s],
                    "kspace": np.log(k + 1e-3 * k.max() + 1e-30),
                    "zero_filled": zf[s],
                    "model": recon[s],
                }
        zf_results[f"{acc}x"] = _summarise(zf_vols)
        model_results[f"{acc}x"] = _summarise(model_vols)
    return zf_results, model_results, panels


def _figure(panels: dict, path: Path, model_name: str) -> None:
    from matplotlib.figure import Figure

    titles = ["ground truth", "masked k-space (log |k|)", "zero-filled", model_name]
    keys = ["target", "kspace", "zero_filled", "model"]
    fig = Figure(figsize=(12, 3.2 * len(panels)))
    axes = fig.subplots(len(panels), 4, squeeze=False)
    for row, (acc, p) in enumerate(sorted(panels.items())):
        vmax = float(p["target"].max())
        for col, (k, t) in enumerate(zip(keys, titles, strict=True)):
            ax = axes[row, col]
            if k == "kspace":
                ax.imshow(p[k], cmap="gray")
            else:
                ax.imshow(p[k], cmap="gray", vmin=0.0, vmax=vmax)
            ax.set_title(f"{t} ({acc}x)" if col else f"{t}, {acc}x")
            ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def _markdown(rows: list[tuple[str, str, str, dict]]) -> str:
    lines = [
        "| data | acceleration | method | NMSE | PSNR (dB) | SSIM |",
        "|---|---|---|---|---|---|",
    ]
    for data, acc, method, r in rows:
        cells = [f"{r[m]['mean']:.4f} ± {r[m]['two_std']:.4f}" for m in ("NMSE",)]
        cells.append(f"{r['PSNR']['mean']:.2f} ± {r['PSNR']['two_std']:.2f}")
        cells.append(f"{r['SSIM']['mean']:.4f} ± {r['SSIM']['two_std']:.4f}")
        lines.append(f"| {data} | {acc} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _settings(quick: bool, settings: dict[str, Any] | None) -> dict[str, Any]:
    s = dict(QUICK if quick else FULL)
    if settings:
        unknown = sorted(set(settings) - set(QUICK) - set(FULL))
        if unknown:
            raise ValueError(
                f"settings: unknown keys {unknown}; valid keys: {sorted(set(QUICK) | set(FULL))}"
            )
        s.update(settings)
    return s


def _synthesize(s: dict, data: Path, *, seed: int, coils: int = 1) -> tuple[Path, Path]:
    """Training and validation volumes (disjoint anatomy: different seeds, no plain phantom
    in training); returns their directories."""
    kind = "singlecoil" if coils == 1 else "multicoil"
    common = {"shape": s["shape"], "recon_size": s["recon_size"], "slices": s["slices"]}
    offset = 0 if coils == 1 else 1
    train, val = data / f"{kind}_train", data / f"{kind}_val"
    synthesize_dataset(train, volumes=s["train_volumes"], seed=seed + offset, coils=coils, **common)
    synthesize_dataset(
        val,
        volumes=s["val_volumes"],
        seed=seed + 10_000 + offset,
        coils=coils,
        split="val",
        **common,
    )
    return train, val


_BASELINES = {  # model -> (data, label, zero-filled label, figure)
    "unet": ("singlecoil", "U-Net", "zero-filled", "fastmri_reconstructions.png"),
    "varnet": ("multicoil", "VarNet", "zero-filled (RSS)", "fastmri_varnet_reconstructions.png"),
}


def _baseline(model: str, s: dict, out: Path, seed: int, timings: dict) -> tuple[dict, dict, list]:
    """One baseline: synthesise its data, train it, evaluate it and zero-filled on validation.

    ``model``: ``"unet"`` (single-coil data) or ``"varnet"`` (``s["coils"]``-coil data).
    Returns the results, the margins over zero-filled and the table rows.
    """
    data, label, zf_label, figure = _BASELINES[model]
    t0 = time.perf_counter()
    coils = 1 if data == "singlecoil" else s["coils"]
    train, val = _synthesize(s, out / "data", seed=seed, coils=coils)
    timings["synthesize_s" if coils == 1 else "synthesize_multicoil_s"] = time.perf_counter() - t0
    stage(f"training the {label} ({s[model + '_steps']} steps)")
    t0 = time.perf_counter()
    net = _train(model, s, train, out / "runs" / model, seed)
    timings[f"train_{model}_s"] = time.perf_counter() - t0
    net.eval()
    if model == "unet":
        forward = nnx.jit(lambda m, x: m(x))

        def recon(path, masker):
            return reconstruct_unet_volume(
                net, path, challenge=data, masker=masker, batch_size=s["batch_size"],
                forward=forward,
            )["reconstruction"]  # fmt: skip
    else:
        forward = nnx.jit(lambda m, k, mask, n: m(k, mask, n))

        def recon(path, masker):
            return reconstruct_varnet_volume(
                net, path, masker=masker, batch_size=1, forward=forward
            )["reconstruction"]

    stage(f"evaluating zero-filled and {label} reconstructions")
    t0 = time.perf_counter()
    zf, res, panels = _evaluate(val, recon, multicoil=coils > 1)
    timings[f"evaluate_{model}_s"] = time.perf_counter() - t0
    _figure(panels, out / figure, label)
    rows = []
    for a in res:
        rows += [(data, a, zf_label, zf[a]), (data, a, label, res[a])]
    return {"zero_filled": zf, model: res}, {a: _margins(res[a], zf[a]) for a in res}, rows


def _cs_row(s: dict, out: Path, timings: dict) -> tuple[dict, list]:
    """Compressed sensing (total variation by Chambolle-Pock, the fastMRI paper's classical
    baseline) on the single-coil data: weight tuned on two training volumes, scored on the
    validation volumes like the networks."""
    from sciml.mri.cs import cs_baseline

    stage("total-variation compressed sensing: tuning the weight, then the validation volumes")
    t0 = time.perf_counter()
    data = out / "data"
    tv = cs_baseline(
        data / "singlecoil_train",
        data / "singlecoil_val",
        method="tv",
        accelerations=ACCELERATIONS,
        iters=s.get("cs_iters"),
    )
    timings["tv_cs_s"] = time.perf_counter() - t0
    rows = [("singlecoil", a, "TV (CS)", tv[a]) for a in tv]
    return {a: {m: tv[a][m] for m in (*METRICS, "weight")} for a in tv}, rows


def reproduce(
    out_dir: str | os.PathLike,
    *,
    quick: bool = True,
    seed: int = 0,
    overwrite: bool = False,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the fastMRI baseline experiment on synthetic data (see the module docstring).

    Args:
      out_dir: output directory (the rule of :func:`sciml.experiments.runner.prepare_out_dir`).
      quick: the small CPU variant (128x128 k-space, 96x96 images, an 8-channel 3-level U-Net,
        1000 steps; about 2 minutes on 2 idle CPU cores); otherwise larger images, the chans=32
        U-Net and a VarNet on 4-coil data.
      seed: seeds data synthesis, masks, model initialisation and data order.
      overwrite: replace the outputs of an earlier reproduction in ``out_dir``.
      settings: override entries of the quick/full settings (tests use tiny ones).

    Returns:
      The summary written to ``out_dir/summary.json``.
    """
    s = _settings(quick, settings)
    out = prepare_out_dir(out_dir, name="fastmri", overwrite=overwrite)
    timings: dict[str, float] = {}
    single, unet_margins, rows = _baseline("unet", s, out, seed, timings)
    results: dict[str, Any] = {"singlecoil": single}
    margins = {"unet_vs_zero_filled": unet_margins}
    if s.get("cs_iters"):
        tv, tv_rows = _cs_row(s, out, timings)
        results["singlecoil"]["tv"] = tv
        margins["tv_vs_zero_filled"] = {a: _margins(tv[a], single["zero_filled"][a]) for a in tv}
        rows += tv_rows
    if s.get("varnet"):
        multi, varnet_margins, vrows = _baseline("varnet", s, out, seed, timings)
        results["multicoil"] = multi
        margins["varnet_vs_zero_filled"] = varnet_margins
        rows += vrows

    beats = all(v > 0 for m in margins["unet_vs_zero_filled"].values() for v in m.values())
    summary = {
        "experiment": "fastmri",
        "quick": quick,
        "seed": seed,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()},
        "accelerations": {f"{a}x": {"center_fraction": cf} for a, cf in ACCELERATIONS},
        "metrics_note": "per volume as the fastMRI evaluation (centre crop to (w, w), data range "
        "= volume max), then mean and two sample standard deviations over validation volumes",
        "results": results,
        "margins": margins,
        "unet_beats_zero_filled_everywhere": beats,
        "timings_s": timings,
    }
    write_json(out / "summary.json", summary)
    write_text(out / "results.md", _markdown(rows))
    finish_out_dir(out)
    stage(f"done -> {out / 'summary.json'}")
    return summary


reproduce_fastmri = reproduce  # the name before the move to sciml.experiments
