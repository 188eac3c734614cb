"""fastMRI training objectives for :func:`sciml.train.fit`, and the slice-level inference helpers.

- :class:`UnetTask`: L1 loss between the U-Net output and the normalised target (the reference's
  U-Net training: ``F.l1_loss`` on images normalised by the input's mean and std). Batches come
  from :class:`sciml.mri.SliceDataset` with :class:`sciml.mri.UnetDataTransform`: ``image`` and
  ``target`` ``(batch, h, w, 1)``, ``mean``/``std`` ``(batch,)``.
- :class:`VarNetTask`: ``1 - SSIM`` of the centre-cropped VarNet output against the target with
  the volume maximum as data range (:func:`sciml.mri.ssim_loss`). Batches from
  :class:`sciml.mri.VarNetDataTransform`: ``masked_kspace`` complex ``(batch, coils, H, W)``,
  ``mask`` ``(batch, W)``, ``num_low_frequencies`` ``(batch,)``, ``target`` ``(batch, h, w)``,
  ``max_value`` ``(batch,)``.

Importing this module registers the models ``fastmri_unet`` and ``varnet`` and the tasks
``mri_unet`` and ``mri_varnet`` with :mod:`sciml.train`; configs written by sciml use the
importable names ``sciml.mri.models:fastmri_unet`` / ``sciml.mri.models:VarNet`` so that a run
directory restores without this import.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.metrics.image import ssim_jax
from sciml.mri.models import VarNet, fastmri_unet

UNET_MODEL = "sciml.mri.models:fastmri_unet"
VARNET_MODEL = "sciml.mri.models:VarNet"


def _require(batch: dict[str, jax.Array], keys: tuple[str, ...], task: str, transform: str):
    missing = [k for k in keys if k not in batch]
    if missing:
        raise ValueError(
            f"{task} task: batch has no key(s) {missing} (found {sorted(batch)}); build the data "
            f"with SliceDataset(..., transform={transform}(...))"
        )


class UnetTask:
    """L1 loss of a fastMRI U-Net on normalised magnitude images.

    Loss: ``mean(|model(image) - target|)`` over the batch and pixels. Aux metrics: ``l1``,
    ``mse`` (normalised units) and ``nmse`` of the de-normalised images
    (``x * std + mean``; per batch, as a monitoring figure; the reported metrics are per volume,
    see :func:`sciml.mri.reconstruct.reconstruct_volume`).
    """

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        _require(batch, ("image", "target"), "mri_unet", "UnetDataTransform")
        pred = model(batch["image"]).astype(jnp.float32)
        target = batch["target"].astype(jnp.float32)
        if pred.shape != target.shape:
            raise ValueError(
                f"mri_unet task: model output {tuple(pred.shape)} differs from target "
                f"{tuple(target.shape)}; use in_chans=1, out_chans=1"
            )
        l1 = jnp.mean(jnp.abs(pred - target))
        aux = {"l1": l1, "mse": jnp.mean((pred - target) ** 2)}
        if "mean" in batch and "std" in batch:
            shape = (-1,) + (1,) * (pred.ndim - 1)
            mean = batch["mean"].astype(jnp.float32).reshape(shape)
            std = batch["std"].astype(jnp.float32).reshape(shape)
            p, t = pred * std + mean, target * std + mean
            aux["nmse"] = jnp.sum((p - t) ** 2) / jnp.sum(t**2)
        return l1, aux


def varnet_output(model: nnx.Module, batch: dict[str, jax.Array], crop: tuple[int, int]):
    """The VarNet image ``(batch, h, w)``, centre-cropped to ``crop``."""
    image = model(batch["masked_kspace"], batch["mask"], batch.get("num_low_frequencies"))
    H, W = image.shape[-2:]
    h, w = crop
    top, left = (H - h) // 2, (W - w) // 2
    return image[..., top : top + h, left : left + w]


class VarNetTask:
    """``1 - SSIM`` of the centre-cropped VarNet reconstruction (data range = volume maximum).

    Aux metrics: ``ssim`` and ``nmse`` (per batch).
    """

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        keys = ("masked_kspace", "mask", "target", "max_value")
        _require(batch, keys, "mri_varnet", "VarNetDataTransform")
        target = batch["target"].astype(jnp.float32)
        pred = varnet_output(model, batch, target.shape[-2:]).astype(jnp.float32)
        # SSIM is unchanged when images and data range are divided by the same number; on
        # fastMRI's ~1e-4 scale the float32 gradient of its denominators overflows otherwise.
        scale = batch["max_value"].astype(jnp.float32).reshape(-1, 1, 1)
        ssim = jnp.mean(ssim_jax(pred / scale, target / scale, jnp.ones_like(scale[:, 0, 0])))
        nmse = jnp.sum((pred - target) ** 2) / jnp.sum(target**2)
        return 1.0 - ssim, {"ssim": ssim, "nmse": nmse}


def _unet_task(**kwargs: Any) -> UnetTask:
    if kwargs:
        raise ValueError(f"task mri_unet: takes no kwargs, found {sorted(kwargs)}")
    return UnetTask()


def _varnet_task(**kwargs: Any) -> VarNetTask:
    if kwargs:
        raise ValueError(f"task mri_varnet: takes no kwargs, found {sorted(kwargs)}")
    return VarNetTask()


def fastmri_slices(
    *,
    root: str,
    challenge: str,
    model: str,
    mask: dict[str, Any] | None = None,
    seed: int | None = None,
    acquisition: str | None = None,
) -> Any:
    """The training data pipeline of an MRI run, from plain config values (data kind ``fastmri``).

    Args:
      root: directory of fastMRI volumes; challenge: ``"singlecoil"`` or ``"multicoil"``.
      model: ``"unet"`` (images: mask -> zero-filled -> crop to the target -> normalise) or
        ``"varnet"`` (masked k-space and mask), the reference's transforms.
      mask: ``{"kind", "center_fractions", "accelerations"}`` (default: the fastMRI knee pairs,
        :func:`sciml.mri.masks.fastmri_mask_spec`); masks are drawn afresh every epoch, seeded
        by ``(seed, slice, read count)``.
      acquisition: keep only volumes of this acquisition.

    This is what a run's ``config.yaml`` (``data.train``) records and what
    ``sciml mri reconstruct`` reads back (challenge, mask).
    """
    from sciml.choices import check_choice
    from sciml.mri.io import SliceDataset
    from sciml.mri.masks import fastmri_mask_spec, mask_func
    from sciml.mri.transforms import UnetDataTransform, VarNetDataTransform

    check_choice(model, ("unet", "varnet"), name="data fastmri: model")
    m = dict(mask or fastmri_mask_spec())
    masker = mask_func(m["kind"], m["center_fractions"], m["accelerations"], seed=seed)
    if model == "unet":
        transform = UnetDataTransform(challenge, masker, False, training_seed=seed)
    else:
        transform = VarNetDataTransform(masker, use_seed=False, training_seed=seed)
    return SliceDataset(root, challenge, transform, acquisition=acquisition)


def _register() -> None:
    from sciml.train import register_data, register_model, register_task

    register_model("fastmri_unet", fastmri_unet)
    register_model("varnet", VarNet)
    register_task("mri_unet", _unet_task)
    register_task("mri_varnet", _varnet_task)
    register_data("fastmri", fastmri_slices)


_register()
