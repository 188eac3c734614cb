"""Evaluate a directory of reconstructions against fastMRI targets, as the reference does.

For every target file (``reconstruction_esc`` for single-coil, ``reconstruction_rss`` for
multi-coil) the reconstruction file of the same name (dataset ``reconstruction``) is read, both
volumes are centre-cropped to ``(w_t, w_t)`` (``w_t`` = the target's last dimension), and MSE,
NMSE, PSNR and SSIM are computed per volume (:mod:`sciml.metrics.image`). The summary is the mean
over volumes and two sample standard deviations (ddof = 1), printed as
``MSE = m +/- 2s NMSE = ... PSNR = ... SSIM = ...``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from sciml.atomic import write_text
from sciml.metrics.image import mse, nmse, psnr, ssim
from sciml.mri.io import RECONS_KEYS
from sciml.mri.transforms import center_crop

METRICS = {"MSE": mse, "NMSE": nmse, "PSNR": psnr, "SSIM": ssim}


def _attr(value):
    return value.decode() if isinstance(value, bytes) else value


def evaluate_volume(target: np.ndarray, recon: np.ndarray, *, source: str = "") -> dict[str, float]:
    """Metrics of one volume ``(slices, h, w)`` after the reference's ``(w_t, w_t)`` crop."""
    target = np.asarray(target)
    recon = np.asarray(recon)
    if target.ndim != 3 or recon.ndim != 3:
        raise ValueError(
            f"{source}: expected volumes (slices, h, w), found target {target.shape} and "
            f"reconstruction {recon.shape}"
        )
    if recon.shape[0] != target.shape[0]:
        raise ValueError(
            f"{source}: reconstruction has {recon.shape[0]} slices, target {target.shape[0]}"
        )
    size = (target.shape[-1], target.shape[-1])
    for name, volume in (("target", target), ("reconstruction", recon)):
        if volume.shape[-2] < size[0] or volume.shape[-1] < size[1]:
            raise ValueError(
                f"{source}: {name} {volume.shape[-2:]} is smaller than the {size} evaluation crop "
                "(the target width); write reconstructions of the target's size"
            )
    target = center_crop(target, size)
    recon = center_crop(recon, size)
    return {name: func(target, recon) for name, func in METRICS.items()}


def evaluate_directories(
    target_dir: str | os.PathLike,
    recon_dir: str | os.PathLike,
    *,
    challenge: str = "singlecoil",
    acquisition: str | Sequence[str] | None = None,
    acceleration: float | None = None,
) -> dict:
    """Evaluate every volume of ``target_dir`` against ``recon_dir``.

    Args:
      target_dir: fastMRI files with targets.
      recon_dir: one HDF5 per target file, same name, dataset ``reconstruction``.
      challenge: picks the target key (``reconstruction_esc`` / ``reconstruction_rss``).
      acquisition: evaluate only volumes with this ``acquisition`` attribute (or one of these).
      acceleration: evaluate only volumes whose ``acceleration`` attribute equals this.

    Returns:
      ``{"volumes": {name: {metric: value}}, "mean": {metric: ...}, "std": {metric: ...},
      "count": n}``; ``std`` is the sample standard deviation over volumes (nan for one volume).
    """
    if challenge not in RECONS_KEYS:
        raise ValueError(
            f"challenge: expected one of {', '.join(RECONS_KEYS)}, found {challenge!r}"
        )
    key = RECONS_KEYS[challenge]
    target_dir, recon_dir = Path(target_dir), Path(recon_dir)
    for name, d in (("target", target_dir), ("recon", recon_dir)):
        if not d.is_dir():
            raise FileNotFoundError(f"--{name} {d}: no such directory")
    targets = sorted(target_dir.glob("*.h5"))
    if not targets:
        raise ValueError(f"--target {target_dir}: no .h5 files found; expected fastMRI volumes")
    missing = [p.name for p in targets if not (recon_dir / p.name).is_file()]
    if missing:
        raise ValueError(
            f"--recon {recon_dir}: missing {len(missing)} of the {len(targets)} volumes of "
            f"{target_dir} (first: {', '.join(missing[:3])}); reconstruct every target volume"
        )
    if isinstance(acquisition, str):
        acquisition = (acquisition,)
    results: dict[str, dict[str, float]] = {}
    for path in targets:
        with h5py.File(path, "r") as f:
            attrs = {k: _attr(v) for k, v in f.attrs.items()}
            if acquisition is not None and attrs.get("acquisition") not in acquisition:
                continue
            if acceleration is not None and attrs.get("acceleration") != acceleration:
                continue
            if key not in f:
                raise ValueError(
                    f"{path}: no {key!r} dataset (found {sorted(f.keys())}); use --challenge "
                    f"{'multicoil' if key.endswith('esc') else 'singlecoil'} or a directory with "
                    "targets (validation data)"
                )
            target = f[key][()]
        recon_path = recon_dir / path.name
        with h5py.File(recon_path, "r") as f:
            if "reconstruction" not in f:
                raise ValueError(
                    f"{recon_path}: no 'reconstruction' dataset (found {sorted(f.keys())})"
                )
            recon = f["reconstruction"][()]
        results[path.name] = evaluate_volume(target, recon, source=str(recon_path))
    if not results:
        raise ValueError(
            f"--target {target_dir}: no volume matches acquisition={acquisition} "
            f"acceleration={acceleration}"
        )
    values = {m: np.array([r[m] for r in results.values()]) for m in METRICS}
    n = len(results)
    return {
        "volumes": results,
        "mean": {m: float(v.mean()) for m, v in values.items()},
        "std": {m: float(v.std(ddof=1)) if n > 1 else float("nan") for m, v in values.items()},
        "count": n,
    }


SPREAD = (
    "std: sample standard deviation over volumes (ddof=1, 1 sigma); the printed table shows "
    "mean +/- 2 std, as the fastMRI reference evaluation prints"
)


def format_metrics(result: dict) -> str:
    """``MSE = m +/- 2s NMSE = ... PSNR = ... SSIM = ... (+/- 2 std over volumes)``: the
    reference's print-out, with its spread named (``result["std"]`` is 1 sigma)."""
    return (
        " ".join(
            f"{name} = {result['mean'][name]:.4g} +/- {2 * result['std'][name]:.4g}"
            for name in sorted(result["mean"])
        )
        + " (+/- 2 std over volumes)"
    )


def save_results(path: str | os.PathLike, result: dict) -> Path:
    """Write :func:`evaluate_directories` output as standard JSON, atomically.

    Non-finite numbers (the undefined spread of a single volume) are written as ``null``.
    """

    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        return None if isinstance(v, float) and not math.isfinite(v) else v

    labelled = {**result, "spread": SPREAD}
    return write_text(path, json.dumps(plain(labelled), indent=2, allow_nan=False) + "\n")
