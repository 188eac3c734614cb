"""Reconstruct fastMRI volumes with a trained U-Net or VarNet and write submission files.

One HDF5 file per input volume, named like the input, with the float32 dataset
``reconstruction`` ``(slices, h, w)`` (``(h, w)`` = the header's recon size, e.g. 320 x 320 for
knee), the layout the fastMRI leaderboard and ``sciml mri evaluate`` read. Files are written to a
temporary name in the output directory and renamed, so a crash never leaves a partial file.

U-Net volumes go through :class:`sciml.mri.UnetDataTransform` slice by slice and are
de-normalised (``output * std + mean``); VarNet volumes through
:class:`sciml.mri.VarNetDataTransform`, the output centre-cropped to the recon size. Under-sampled
test files use their own ``mask``; fully sampled files are masked with the run's mask function
(``mri.json`` in the run directory) seeded by the file name, as the reference's validation.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from flax import nnx
from tqdm import tqdm

from sciml.atomic import atomic_path, ensure_free_space, write_text
from sciml.mri.io import SliceDataset, inspect_volume, list_volumes
from sciml.mri.masks import MaskFunc, fastmri_mask_spec, mask_func
from sciml.mri.transforms import UnetDataTransform, VarNetDataTransform, center_crop

MRI_META = "mri.json"
KINDS = ("unet", "varnet")
DEFAULT_MASK = fastmri_mask_spec(pairs=1)  # random, 4x, centre fraction 0.08


def write_meta(run_dir: str | os.PathLike, *, kind: str, challenge: str, mask: dict) -> None:
    """Deprecated: a run's ``config.yaml`` records its data pipeline (data kind ``fastmri``)."""
    warnings.warn(
        "write_meta/mri.json is deprecated: record the data pipeline in the run's config "
        "(data.train.kind='fastmri', see sciml.mri.tasks.fastmri_slices)",
        DeprecationWarning,
        stacklevel=2,
    )
    path = Path(run_dir) / MRI_META
    write_text(path, json.dumps({"kind": kind, "challenge": challenge, "mask": mask}, indent=2))


def read_meta(run_dir: str | os.PathLike) -> dict[str, Any]:
    """What reconstruction needs about a run: model kind, challenge and the mask to apply.

    From the run's ``config.yaml`` (``data.train`` of kind ``fastmri``: its challenge, model and
    mask; reconstruction of fully sampled files uses the first (centre fraction, acceleration)
    pair of the training mask); runs of earlier releases: their ``mri.json``, else defaults
    inferred from the model name.
    """
    from sciml.train import run_config

    config = run_config(run_dir)
    train = config.data.train
    if train.kind == "fastmri":
        kw = dict(train.kwargs)
        mask = dict(kw.get("mask") or fastmri_mask_spec())
        return {
            "kind": kw["model"],
            "challenge": kw["challenge"],
            "mask": {
                "kind": mask["kind"],
                "center_fractions": list(mask["center_fractions"][:1]),
                "accelerations": list(mask["accelerations"][:1]),
            },
        }
    path = Path(run_dir) / MRI_META
    if path.is_file():
        return json.loads(path.read_text())
    name = config.model.name.lower()
    kind = "varnet" if "varnet" in name else "unet"
    return {
        "kind": kind,
        "challenge": "multicoil" if kind == "varnet" else "singlecoil",
        "mask": DEFAULT_MASK,
    }


def _chunks(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def _stack(items: list[dict[str, np.ndarray]], keys: Sequence[str], size: int) -> dict:
    # Pad the last chunk by repeating its first item so every call has the same shape (one
    # compilation); the extra outputs are dropped.
    padded = items + [items[0]] * (size - len(items))
    return {k: np.stack([it[k] for it in padded]) for k in keys}


def reconstruct_unet_volume(
    model: nnx.Module,
    path: str | os.PathLike,
    *,
    challenge: str,
    masker: MaskFunc | None,
    batch_size: int = 4,
    forward=None,
) -> dict[str, np.ndarray]:
    """Reconstruct one volume with a fastMRI U-Net.

    Returns ``reconstruction`` float32 ``(slices, h, w)`` (de-normalised) and, when the file has
    a target, ``target`` ``(slices, h, w)``.
    """
    info = inspect_volume(path)
    use_mask = None if info.has_mask else masker
    ds = SliceDataset(path, challenge, UnetDataTransform(challenge, use_mask, use_seed=True))
    forward = forward or nnx.jit(lambda m, x: m(x))
    recon, has_target = [], False
    for chunk in _chunks(len(ds), batch_size):
        items = [ds[i] for i in chunk]
        batch = _stack(items, ("image", "mean", "std"), batch_size)
        out = np.asarray(forward(model, batch["image"]))[: len(chunk), ..., 0]
        out = out * batch["std"][: len(chunk), None, None] + batch["mean"][: len(chunk), None, None]
        recon.append(out.astype(np.float32))
        has_target = has_target or "target" in items[0]
    result = {"reconstruction": np.concatenate(recon)}
    if has_target:
        with h5py.File(path, "r") as f:
            key = "reconstruction_esc" if challenge == "singlecoil" else "reconstruction_rss"
            result["target"] = center_crop(np.asarray(f[key]), result["reconstruction"].shape[-2:])
    return result


def reconstruct_varnet_volume(
    model: nnx.Module,
    path: str | os.PathLike,
    *,
    masker: MaskFunc | None,
    batch_size: int = 1,
    forward=None,
) -> dict[str, np.ndarray]:
    """Reconstruct one volume with a VarNet; ``reconstruction`` float32 ``(slices, h, w)``."""
    info = inspect_volume(path)
    challenge = "multicoil" if info.multicoil else "singlecoil"
    use_mask = None if info.has_mask else masker
    ds = SliceDataset(path, challenge, VarNetDataTransform(use_mask, use_seed=True))
    forward = forward or nnx.jit(lambda m, k, mask, n: m(k, mask, n))
    recon = []
    for chunk in _chunks(len(ds), batch_size):
        items = [ds[i] for i in chunk]
        batch = _stack(items, ("masked_kspace", "mask", "num_low_frequencies"), batch_size)
        out = forward(model, batch["masked_kspace"], batch["mask"], batch["num_low_frequencies"])
        crop = tuple(int(c) for c in items[0]["crop_size"])
        if "target" in items[0]:
            crop = items[0]["target"].shape[-2:]
        recon.append(np.asarray(center_crop(np.asarray(out), crop))[: len(chunk)])
    return {"reconstruction": np.concatenate(recon).astype(np.float32)}


def write_reconstruction(path: str | os.PathLike, reconstruction: np.ndarray) -> Path:
    """Write ``reconstruction`` ``(slices, h, w)`` to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    reconstruction = np.asarray(reconstruction, np.float32)
    ensure_free_space(path, reconstruction.nbytes)
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("reconstruction", data=reconstruction)
    return path


def _check_volumes(volumes: Sequence[Path], *, multicoil: bool) -> None:
    """Check every volume's k-space before the (slow) model restore: present, complex, and of
    the run's challenge (single-coil ``(slices, H, W)``, multi-coil ``(slices, coils, H, W)``)."""
    rank, what = (
        (4, "multicoil (slices, coils, H, W)") if multicoil else (3, "singlecoil (slices, H, W)")
    )
    for path in volumes:
        try:
            with h5py.File(path, "r") as f:
                if "kspace" not in f:
                    raise ValueError(
                        f"{path}: no 'kspace' dataset (found {sorted(f.keys())}); pass fastMRI "
                        "volumes (sciml mri synthesize writes them)"
                    )
                shape, dtype = f["kspace"].shape, f["kspace"].dtype
        except OSError as err:
            raise ValueError(f"{path}: not a readable HDF5 file ({err})") from None
        if len(shape) != rank or dtype.kind != "c":
            raise ValueError(
                f"{path}: kspace has shape {shape} and dtype {dtype}, but the model was trained "
                f"on {what} complex k-space; pass volumes of that challenge"
            )


def reconstruct_directory(
    model_run_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    which: str = "best",
    mask: dict | None = None,
    batch_size: int = 4,
    overwrite: bool = False,
    model: nnx.Module | None = None,
) -> list[Path]:
    """Reconstruct every ``.h5`` volume of ``data_dir`` with the model of ``model_run_dir``.

    Args:
      model_run_dir: a training run directory (``config.yaml`` with its data pipeline,
        ``checkpoints/``).
      data_dir: directory (or one file) of fastMRI volumes.
      out_dir: where ``<name>.h5`` files with dataset ``reconstruction`` are written.
      which: ``"best"`` or ``"latest"`` checkpoint.
      mask: ``{"kind", "center_fractions", "accelerations"}`` for fully sampled files (default:
        the run's config, :func:`read_meta`, else random 4x with centre fraction 0.08); files that carry a
        ``mask`` (test data) always use their own.
      batch_size: slices per forward pass.
      overwrite: replace existing output files.
      model: an already restored model (skips loading the checkpoint).

    Returns:
      The written paths, in input order.
    """
    run_dir = Path(model_run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"model_run_dir {str(run_dir)!r}: not a directory; pass a training run directory"
        )
    meta = read_meta(run_dir)
    kind = meta.get("kind")
    if kind not in KINDS:
        raise ValueError(
            f"{run_dir / 'config.yaml'}: data.train.kwargs.model: expected one of {list(KINDS)}, "
            f"found {kind!r}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, found {batch_size}")
    volumes = list_volumes(data_dir)
    if not volumes:
        raise ValueError(f"data_dir {os.fspath(data_dir)!r}: no .h5 volumes found")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        existing = [p.name for p in volumes if (out_dir / p.name).exists()]
        if existing:
            raise FileExistsError(
                f"{out_dir / existing[0]}: exists ({len(existing)} of {len(volumes)} outputs); "
                "pass overwrite=True (--overwrite) or choose another output directory"
            )
    m = mask or meta.get("mask") or DEFAULT_MASK
    masker = mask_func(m["kind"], m["center_fractions"], m["accelerations"])
    _check_volumes(volumes, multicoil=kind == "varnet" or meta.get("challenge") == "multicoil")
    if model is None:
        from sciml.train import restore_model

        model = restore_model(run_dir, which=which)
    model.eval()
    if kind == "unet":
        forward = nnx.jit(lambda mdl, x: mdl(x))
    else:
        forward = nnx.jit(lambda mdl, k, msk, n: mdl(k, msk, n))
    written = []
    for path in tqdm(volumes, desc="reconstruct", disable=not sys.stderr.isatty()):
        if kind == "unet":
            result = reconstruct_unet_volume(
                model,
                path,
                challenge=meta.get("challenge", "singlecoil"),
                masker=masker,
                batch_size=batch_size,
                forward=forward,
            )
        else:
            result = reconstruct_varnet_volume(
                model, path, masker=masker, batch_size=batch_size, forward=forward
            )
        written.append(write_reconstruction(out_dir / path.name, result["reconstruction"]))
    return written
