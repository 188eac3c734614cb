"""Train a fastMRI U-Net or VarNet on a directory of fastMRI volumes (licensed or synthesized).

``sciml mri train --data DIR --model unet|varnet --challenge singlecoil|multicoil`` builds a
:class:`sciml.train.TrainConfig` whose data section is the registered data kind ``fastmri``
(:func:`sciml.mri.tasks.fastmri_slices`: the reference data transform), so the run's
``config.yaml`` re-runs with ``sciml train --config RUN/config.yaml`` and ``sciml mri
reconstruct --model RUN`` reads challenge and mask from it.

Defaults are the published fastMRI baselines (Zbontar et al. 2018; Sriram et al. 2020; see
/work/shared/reference/fastmri.md):

- U-Net: chans 32, 4 pooling levels, dropout 0, L1 loss on normalised images, RMSprop
  (lr 1e-3, alpha 0.99, eps 1e-8), batch 1 slice, 50 epochs; random masks with centre fractions
  (0.08, 0.04) at 4x and 8x. The reference's lr x0.1 at epoch 40 is not a schedule of the loop:
  the default here is a constant rate (``--set optim.schedule=...`` in a re-run changes it).
- VarNet: 12 cascades, U-Nets of 18 channels and 4 pools, sensitivity U-Net 8 channels and 4
  pools, 1 - SSIM loss, Adam lr 3e-4, batch 1, 50 epochs; equispaced masks, same pairs.

``steps`` defaults to 50 epochs of the data (slices x 50); ``--steps`` overrides it for small runs.
"""

from __future__ import annotations

import os
from typing import Any

from sciml.mri.masks import fastmri_mask_spec

DEFAULTS: dict[str, dict[str, Any]] = {
    "unet": {
        "model": "sciml.mri.models:fastmri_unet",
        "model_kwargs": {
            "in_chans": 1,
            "out_chans": 1,
            "chans": 32,
            "num_pool_layers": 4,
            "variant": "2020",
        },
        "task": "sciml.mri.tasks:UnetTask",
        "optim": {
            "name": "rmsprop",
            "learning_rate": 1e-3,
            "kwargs": {"decay": 0.99, "eps": 1e-8, "eps_in_sqrt": False},
        },
        "mask": fastmri_mask_spec("random"),
        "batch_size": 1,
        "epochs": 50,
    },
    "varnet": {
        "model": "sciml.mri.models:VarNet",
        "model_kwargs": {
            "num_cascades": 12,
            "sens_chans": 8,
            "sens_pools": 4,
            "chans": 18,
            "pools": 4,
        },
        "task": "sciml.mri.tasks:VarNetTask",
        "optim": {"name": "adam", "learning_rate": 3e-4},
        "mask": fastmri_mask_spec("equispaced"),
        "batch_size": 1,
        "epochs": 50,
    },
}


def _check_data(data: str, challenge: str) -> int:
    """Slices in ``data``; refuses a missing directory or volumes of the other challenge."""
    import h5py

    from sciml.mri.io import list_volumes

    if not os.path.exists(data):
        raise FileNotFoundError(f"--data {data}: no such directory; pass fastMRI .h5 volumes")
    volumes = list_volumes(data)
    if not volumes:
        raise ValueError(f"--data {data}: no .h5 volumes found")
    rank = 4 if challenge == "multicoil" else 3
    slices = 0
    for p in volumes:
        with h5py.File(p, "r") as f:
            if "kspace" not in f:
                raise ValueError(f"{p}: no 'kspace' dataset; pass fastMRI volumes")
            shape = f["kspace"].shape
        if len(shape) != rank:
            raise ValueError(
                f"{p}: kspace shape {shape} is not {challenge} "
                f"({'(slices, coils, H, W)' if rank == 4 else '(slices, H, W)'}); pass "
                f"--challenge {'singlecoil' if rank == 4 else 'multicoil'} or other data"
            )
        slices += shape[0]
    return slices


def mri_train_config(
    data: str | os.PathLike,
    *,
    model: str = "unet",
    challenge: str = "singlecoil",
    run_dir: str | os.PathLike,
    val: str | os.PathLike | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    model_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The config (plain dict) ``sciml mri train`` runs, with the fastMRI defaults above.

    ``model_kwargs`` override entries of the default architecture (e.g. ``{"chans": 8}``).
    """
    if model not in DEFAULTS:
        raise ValueError(f"--model: expected one of {sorted(DEFAULTS)}, found {model!r}")
    if model == "varnet" and challenge != "multicoil":
        raise ValueError("--model varnet: needs --challenge multicoil (it estimates coil maps)")
    d = DEFAULTS[model]
    data = os.fspath(data)
    n_slices = _check_data(data, challenge)
    batch = int(batch_size or d["batch_size"])
    steps = int(steps) if steps is not None else max(1, d["epochs"] * n_slices // batch)
    optim = {**d["optim"]}
    if learning_rate is not None:
        optim["learning_rate"] = float(learning_rate)

    def source(path: str) -> dict[str, Any]:
        return {
            "kind": "fastmri",
            "kwargs": {
                "root": os.path.abspath(path),
                "challenge": challenge,
                "model": model,
                "mask": d["mask"],
                "seed": seed,
            },
        }

    config = {
        "model": {"name": d["model"], "kwargs": {**d["model_kwargs"], **(model_kwargs or {})}},
        "task": {"name": d["task"]},
        "data": {"train": source(data)},
        "optim": optim,
        "mesh": {"data": 1, "space": 1},
        "steps": steps,
        "batch_size": batch,
        "log_every": max(1, steps // 20),
        "checkpoint_every": 0,
        "keep_checkpoints": 1,
        "seed": int(seed),
        "run_dir": os.fspath(run_dir),
    }
    if val is not None:
        _check_data(os.fspath(val), challenge)
        config["data"]["eval"] = source(os.fspath(val))
        config["eval_every"] = max(1, steps // 4)
    return config


def train_mri(config: dict[str, Any]) -> Any:
    """Train ``config`` (from :func:`mri_train_config`) through :func:`sciml.train.train`."""
    from sciml.train import TrainConfig, train

    return train(TrainConfig.from_dict(config))
