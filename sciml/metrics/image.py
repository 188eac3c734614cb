"""Image-quality metrics as the fastMRI evaluation: NMSE, PSNR, SSIM per volume; SSIM loss (JAX).

Conventions of the reference evaluation (``fastmri`` v0.3.0), for a volume ``gt``, ``pred`` of
shape ``(slices, h, w)``:

- ``NMSE = ||gt - pred||^2 / ||gt||^2`` over the whole volume;
- ``PSNR = 10 log10(max(gt)^2 / MSE)``, data range = the volume maximum;
- ``SSIM`` = mean over slices of the 2-D SSIM with data range = the volume maximum, a 7 x 7
  uniform window, ``K1 = 0.01``, ``K2 = 0.03``, sample covariances (``N / (N - 1)``), averaged over
  the valid window positions (scikit-image's ``structural_similarity`` defaults).

The NumPy metrics compute in float64. :func:`ssim_jax`/:func:`ssim_loss` are the JAX versions for
training (``1 - SSIM``, the end-to-end VarNet loss), usable under ``jax.grad`` and ``jit``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

K1, K2, WIN_SIZE = 0.01, 0.03, 7


def _pair(gt: Any, pred: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if gt.shape != pred.shape:
        raise ValueError(
            f"{name}: ground truth and prediction shapes differ: {gt.shape} vs {pred.shape}; "
            "centre-crop both to the same size first"
        )
    return gt, pred


def mse(gt: Any, pred: Any) -> float:
    """Mean squared error over all elements."""
    gt, pred = _pair(gt, pred, "mse")
    return float(np.mean((gt - pred) ** 2))


def nmse(gt: Any, pred: Any) -> float:
    """Normalised MSE ``||gt - pred||^2 / ||gt||^2`` over the whole array (a volume)."""
    gt, pred = _pair(gt, pred, "nmse")
    return float(np.sum((gt - pred) ** 2) / np.sum(gt**2))


def psnr(gt: Any, pred: Any, maxval: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(maxval^2 / MSE)``; ``maxval`` defaults to
    ``gt.max()`` (the volume maximum)."""
    gt, pred = _pair(gt, pred, "psnr")
    maxval = float(gt.max()) if maxval is None else float(maxval)
    return float(10.0 * np.log10(maxval**2 / np.mean((gt - pred) ** 2)))


def _box_mean(x: np.ndarray, win: int) -> np.ndarray:
    # Mean over every valid win x win window of the last two axes (no padding).
    x = sliding_window_view(x, win, axis=-1).sum(axis=-1)
    return sliding_window_view(x, win, axis=-2).sum(axis=-1) / win**2


def ssim_slices(gt: Any, pred: Any, data_range: float, *, win_size: int = WIN_SIZE) -> np.ndarray:
    """2-D SSIM of each image of ``(..., h, w)`` arrays, averaged over valid windows.

    Returns an array of the leading shape (one value per image), float64.
    """
    gt, pred = _pair(gt, pred, "ssim")
    if min(gt.shape[-2:]) < win_size:
        raise ValueError(
            f"ssim: images must be at least {win_size} x {win_size}, found {gt.shape[-2:]}"
        )
    n = win_size**2
    cov_norm = n / (n - 1)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    ux, uy = _box_mean(gt, win_size), _box_mean(pred, win_size)
    vx = cov_norm * (_box_mean(gt * gt, win_size) - ux * ux)
    vy = cov_norm * (_box_mean(pred * pred, win_size) - uy * uy)
    vxy = cov_norm * (_box_mean(gt * pred, win_size) - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.mean(axis=(-2, -1))


def ssim(gt: Any, pred: Any, maxval: float | None = None) -> float:
    """Volume SSIM: mean over slices of the 2-D SSIM of ``(slices, h, w)`` arrays, with data
    range ``maxval`` (default ``gt.max()``, the volume maximum)."""
    gt, pred = _pair(gt, pred, "ssim")
    if gt.ndim != 3:
        raise ValueError(
            f"ssim: expected volumes (slices, h, w), found shape {gt.shape}; add a slice axis "
            "with x[None] for a single image"
        )
    maxval = float(gt.max()) if maxval is None else float(maxval)
    return float(np.mean(ssim_slices(gt, pred, maxval)))


def _box_mean_jax(x: jax.Array, win: int) -> jax.Array:
    window = (1,) * (x.ndim - 2) + (win, win)
    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, (1,) * x.ndim, "VALID")
    return total / win**2


def _as_images(x: Any) -> jax.Array:
    x = jnp.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:  # channels-last (batch, h, w, 1)
        x = x[..., 0]
    return x


def ssim_jax(
    pred: Any,
    target: Any,
    data_range: Any,
    *,
    win_size: int = WIN_SIZE,
    k1: float = K1,
    k2: float = K2,
) -> jax.Array:
    """Differentiable SSIM per image.

    Args:
      pred, target: ``(batch, h, w)`` or channels-last ``(batch, h, w, 1)`` real images.
      data_range: scalar or ``(batch,)`` (per-sample volume maximum, as in fastMRI training).

    Returns:
      ``(batch,)`` SSIM of each image, averaged over the valid 7 x 7 windows (sample
      covariances), the same numbers as :func:`ssim_slices`.
    """
    x, y = _as_images(pred), _as_images(target)
    if x.shape != y.shape:
        raise ValueError(f"ssim_loss: pred and target shapes differ: {x.shape} vs {y.shape}")
    if x.ndim != 3:
        raise ValueError(
            f"ssim_loss: expected images (batch, h, w) or (batch, h, w, 1), found {x.shape}"
        )
    data_range = jnp.asarray(data_range, dtype=x.dtype).reshape(-1, 1, 1)
    n = win_size**2
    cov_norm = n / (n - 1)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ux, uy = _box_mean_jax(x, win_size), _box_mean_jax(y, win_size)
    vx = cov_norm * (_box_mean_jax(x * x, win_size) - ux * ux)
    vy = cov_norm * (_box_mean_jax(y * y, win_size) - uy * uy)
    vxy = cov_norm * (_box_mean_jax(x * y, win_size) - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return jnp.mean(s, axis=(-2, -1))


def ssim_loss(pred: Any, target: Any, data_range: Any, **kwargs: Any) -> jax.Array:
    """``1 - mean SSIM`` over the batch (the reference's ``SSIMLoss``); see :func:`ssim_jax`.

    SSIM is unchanged when both images and the data range are scaled by the same factor, so the
    images are divided by their data range first: at fastMRI's ~1e-4 intensities the squared
    denominators otherwise underflow in float32 and the gradient becomes NaN.
    """
    scale = jnp.asarray(data_range, dtype=jnp.result_type(pred)).reshape(-1, 1, 1)
    if jnp.ndim(pred) == 4:
        scale = scale[..., None]
    return 1.0 - jnp.mean(ssim_jax(pred / scale, target / scale, 1.0, **kwargs))
