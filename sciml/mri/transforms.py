"""Centred FFTs, coil combination, crops, normalisation and the fastMRI data transforms.

Layout: complex k-space and complex images are ``(..., H, W)`` arrays (``(..., coils, H, W)``
for multi-coil), the fastMRI file layout, because the 2-D FFTs act on the last two axes;
``H`` is the read-out axis, ``W`` the phase-encode axis that masks act on. Real images handed
to networks are channels-last ``(H, W, 1)`` per slice (``(batch, H, W, 1)`` batched).

The centred FFTs live with the rest of the MRI forward model in :mod:`sciml.solvers.optim.sense`
(re-exported here). All numerical functions are JAX (jit- and grad-compatible) and follow the ``fastmri`` package
v0.3.0: ``fft2c(x) = fftshift(fft2(ifftshift(x), norm="ortho"))`` over the last two axes, so that
Parseval holds (``sum |x|^2 == sum |fft2c(x)|^2``) and the DC term sits at index ``(H//2, W//2)``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sciml.choices import check_choice
from sciml.mri.masks import MaskFunc, seed_from_name
from sciml.solvers.optim.sense import _require_complex
from sciml.solvers.optim.sense import fft2c as fft2c
from sciml.solvers.optim.sense import ifft2c as ifft2c

CHALLENGES = ("singlecoil", "multicoil")
_AXES = (-2, -1)


@jax.jit
def complex_abs(x: Any) -> jax.Array:
    """Magnitude ``|x|`` of a complex array (same shape, real dtype)."""
    return jnp.abs(_require_complex(x, "complex_abs"))


@functools.partial(jax.jit, static_argnames="axis")
def rss(x: Any, axis: int = -3) -> jax.Array:
    """Root-sum-of-squares ``sqrt(sum(x**2, axis))`` of real coil images ``(..., coils, H, W)``."""
    x = jnp.asarray(x)
    return jnp.sqrt(jnp.sum(x**2, axis=axis))


@functools.partial(jax.jit, static_argnames="axis")
def rss_complex(x: Any, axis: int = -3) -> jax.Array:
    """Root-sum-of-squares of complex coil images: ``sqrt(sum(|x|**2, axis))``."""
    x = _require_complex(x, "rss_complex")
    return jnp.sqrt(jnp.sum(jnp.real(x) ** 2 + jnp.imag(x) ** 2, axis=axis))


def center_crop(x: Any, shape: Sequence[int]) -> Any:
    """Crop the last two axes to ``shape = (h, w)`` starting at ``((H - h) // 2, (W - w) // 2)``.

    Works on NumPy and JAX arrays, real or complex (a complex crop is the reference's
    ``complex_center_crop``). Refuses a target larger than the input.
    """
    h, w = (int(s) for s in shape)
    H, W = x.shape[-2], x.shape[-1]
    if not (0 < h <= H and 0 < w <= W):
        raise ValueError(
            f"center_crop: expected a crop size (h, w) with 0 < h <= {H} and 0 < w <= {W} "
            f"(the input's last two axes), found ({h}, {w}); crop to at most the input size"
        )
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top : top + h, left : left + w]


def normalize(x: Any, mean: Any, std: Any, eps: float = 0.0) -> jax.Array:
    """``(x - mean) / (std + eps)``."""
    return (jnp.asarray(x) - mean) / (std + eps)


@jax.jit
def normalize_instance(x: Any, eps: float = 0.0) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Normalise by the array's own mean and UNBIASED standard deviation (ddof=1).

    Returns ``(normalised, mean, std)``; invert with ``normalised * (std + eps) + mean``.
    """
    x = jnp.asarray(x)
    mean = jnp.mean(x)
    std = jnp.std(x, ddof=1)
    return normalize(x, mean, std, eps), mean, std


def _positive_zero(x: jax.Array) -> jax.Array:
    # A select, not ``x + 0.0``: XLA folds the addition away, which would keep -0.0.
    return jnp.where(x == 0, jnp.zeros_like(x), x)


@jax.jit
def mask_kspace(kspace: Any, mask: Any) -> jax.Array:
    """Zero the unsampled columns: the reference's ``kspace * mask + 0.0``, under jit too.

    Args:
      kspace: complex ``(..., H, W)``.
      mask: ``(W,)``, broadcastable to ``(..., 1, W)``, or the reference's ``[1, ..., W, 1]``
        (as returned by ``MaskFunc.__call__``), with 1/True on sampled columns.

    Returns:
      complex ``(..., H, W)`` with unsampled columns and every zero set to +0.0 (no negative
      zeros, whose sign once leaked the sampling pattern of a released test set).
    """
    kspace = _require_complex(kspace, "mask_kspace")
    mask = jnp.asarray(mask)
    if mask.ndim >= 2 and mask.shape[-1] == 1 and mask.shape[-2] == kspace.shape[-1]:
        mask = mask.reshape(-1)  # the reference's real-pair layout [1, ..., 1, W, 1]
    if mask.shape[-1] != kspace.shape[-1]:
        raise ValueError(
            f"mask: expected length {kspace.shape[-1]} (the phase-encode axis W of k-space "
            f"{tuple(kspace.shape)}), found mask shape {tuple(mask.shape)}; draw the mask for "
            "this k-space width"
        )
    if mask.ndim == 1:
        mask = mask[None, :]
    clean = jax.lax.complex(_positive_zero(jnp.real(kspace)), _positive_zero(jnp.imag(kspace)))
    return jnp.where(mask != 0, clean, jnp.zeros_like(clean))


def apply_mask(
    kspace: Any,
    mask_func: MaskFunc,
    *,
    offset: int | None = None,
    seed: int | tuple[int, ...] | None = None,
    padding: tuple[int, int] | None = None,
) -> tuple[jax.Array, np.ndarray, int]:
    """Draw a mask for ``kspace`` ``(..., H, W)`` with ``mask_func`` and apply it.

    ``padding = (left, right)`` zeroes the mask outside the acquired columns
    ``[left, right)`` (fastMRI files zero-pad k-space; the header gives the range).

    Returns:
      ``(masked_kspace, mask, num_low_frequencies)`` with ``mask`` float32 ``(W,)``.
    """
    kspace = _require_complex(kspace, "apply_mask")
    mask, nlf = mask_func.sample(kspace.shape[-1], offset=offset, seed=seed)
    if padding is not None:
        mask = mask.copy()
        mask[: padding[0]] = 0.0
        mask[padding[1] :] = 0.0
    return mask_kspace(kspace, mask), mask, nlf


def unet_crop_size(image_hw: Sequence[int], reference_hw: Sequence[int]) -> tuple[int, int]:
    """Crop size of the U-Net transform: the target's (or recon) size, or ``(W, W)`` when the
    image is narrower than that (the reference's rule for narrow brain FLAIR volumes)."""
    crop = (int(reference_hw[0]), int(reference_hw[1]))
    if image_hw[-1] < crop[1]:
        crop = (int(image_hw[-1]), int(image_hw[-1]))
    return crop


def zero_filled(masked_kspace: Any, crop_size: Sequence[int], *, multicoil: bool) -> jax.Array:
    """Zero-filled reconstruction: ``ifft2c`` -> centre crop -> ``|.|`` -> RSS over coils.

    Args:
      masked_kspace: complex ``(..., H, W)`` single-coil or ``(..., coils, H, W)`` multi-coil.
      crop_size: ``(h, w)`` output size.
    Returns:
      real ``(..., h, w)`` magnitude image.
    """
    image = center_crop(ifft2c(masked_kspace), crop_size)
    image = complex_abs(image)
    return rss(image, axis=-3) if multicoil else image


def _unet_input(masked_kspace: jax.Array, crop_size: tuple[int, int], multicoil: bool):
    image = zero_filled(masked_kspace, crop_size, multicoil=multicoil)
    image, mean, std = normalize_instance(image, eps=1e-11)
    return jnp.clip(image, -6.0, 6.0), mean, std


_unet_input_jit = jax.jit(_unet_input, static_argnums=(1, 2))


def _check_challenge(challenge: str) -> str:
    return check_choice(challenge, CHALLENGES, name="challenge")


def _check_kspace(kspace: np.ndarray, multicoil: bool, fname: str) -> None:
    expected = 3 if multicoil else 2
    if kspace.ndim != expected:
        layout = "(coils, H, W)" if multicoil else "(H, W)"
        other = "singlecoil" if multicoil else "multicoil"
        raise ValueError(
            f"{fname}: expected a k-space slice {layout} of rank {expected}, found shape "
            f"{kspace.shape}; use challenge={other!r} for this data"
        )


class _TrainingMaskSeeds:
    """Fresh training masks that do not depend on the order reader threads run in.

    With ``seed=None`` masks come from the mask function's own stream (the reference's
    behaviour: the draw order, and so the masks, follow thread scheduling). With a seed, the
    ``n``-th read of slice ``s`` of file ``f`` draws with the seed tuple
    ``(seed, s, n, *char codes of f)``: a new mask every epoch, the same masks in every run.
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self._reads: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def __call__(self, fname: str, slice_num: int) -> tuple[int, ...] | None:
        if self.seed is None:
            return None
        key = (str(fname), int(slice_num))
        with self._lock:
            n = self._reads.get(key, 0)
            self._reads[key] = n + 1
        return (int(self.seed), key[1], n, *seed_from_name(key[0]))

    def __getstate__(self) -> dict:
        return {"seed": self.seed, "_reads": dict(self._reads)}

    def __setstate__(self, state: dict) -> None:
        self.seed, self._reads = state["seed"], state["_reads"]
        self._lock = threading.Lock()


class UnetDataTransform:
    """The reference's U-Net data transform for one slice.

    Order: mask (seeded by the file name when ``use_seed``) -> ``ifft2c`` -> complex centre
    crop to the target's size (or the header's recon size without a target; ``(W, W)`` if the
    image is narrower) -> ``|.|`` -> RSS over coils (multi-coil) ->
    ``normalize_instance(eps=1e-11)`` -> clamp to [-6, 6]. The target is cropped the same way,
    normalised with the INPUT's mean and std and clamped to [-6, 6].

    Args:
      challenge: ``"singlecoil"`` (k-space ``(H, W)``) or ``"multicoil"`` (``(coils, H, W)``).
      mask_func: mask drawn per slice; ``None`` uses the k-space as is (test files are already
        under-sampled).
      use_seed: seed the mask with the file name (validation); ``False`` draws fresh masks.

    Returns (``__call__``): dict of NumPy arrays ``image`` and (when there is a target)
    ``target``, float32 ``(h, w, 1)`` channels-last; ``mean``, ``std``, ``max_value`` float32
    scalars (de-normalise with ``image * std + mean``).
    """

    def __init__(
        self,
        challenge: str,
        mask_func: MaskFunc | None = None,
        use_seed: bool = True,
        *,
        training_seed: int | None = None,
    ) -> None:
        self.challenge = _check_challenge(challenge)
        self.mask_func = mask_func
        self.use_seed = use_seed
        self._seeds = _TrainingMaskSeeds(training_seed)

    def __call__(
        self,
        kspace: np.ndarray,
        mask: np.ndarray | None,
        target: np.ndarray | None,
        attrs: dict,
        fname: str,
        slice_num: int,
    ) -> dict[str, np.ndarray]:
        multicoil = self.challenge == "multicoil"
        _check_kspace(np.asarray(kspace), multicoil, fname)
        kspace = jnp.asarray(kspace)
        if self.mask_func is not None:
            seed = seed_from_name(fname) if self.use_seed else self._seeds(fname, slice_num)
            kspace, _, _ = apply_mask(kspace, self.mask_func, seed=seed)
        if target is not None:
            reference = target.shape[-2:]
        elif "recon_size" in attrs:
            reference = tuple(attrs["recon_size"])[:2]
        else:
            raise ValueError(
                f"{fname}: no target and no recon_size in the attributes; cannot choose the crop "
                "size (read the volume through SliceDataset, which adds the header's recon size)"
            )
        crop = unet_crop_size(kspace.shape[-2:], reference)
        image, mean, std = _unet_input_jit(kspace, crop, multicoil)
        out = {
            "image": np.asarray(image, dtype=np.float32)[..., None],
            "mean": np.asarray(mean, dtype=np.float32),
            "std": np.asarray(std, dtype=np.float32),
            "max_value": np.asarray(attrs.get("max", 0.0), dtype=np.float32),
        }
        if target is not None:
            t = center_crop(np.asarray(target, dtype=np.float32), crop)
            t = (t - out["mean"]) / (out["std"] + np.float32(1e-11))
            out["target"] = np.clip(t, -6.0, 6.0).astype(np.float32)[..., None]
        return out


class VarNetDataTransform:
    """The reference's VarNet data transform for one slice.

    The mask (drawn, or the file's own ``mask`` for test data) is zeroed outside the acquired
    columns ``[padding_left, padding_right)`` from the header before it is applied.

    Returns (``__call__``): dict of NumPy arrays ``masked_kspace`` complex64
    ``(coils, H, W)`` (``coils = 1`` for single-coil data), ``mask`` bool ``(W,)``,
    ``num_low_frequencies`` int32 scalar (0 when the file's mask is used), ``target`` float32
    ``(h, w)`` when present, ``max_value`` float32 scalar, ``crop_size`` int32 ``(2,)``.
    """

    def __init__(
        self,
        mask_func: MaskFunc | None = None,
        use_seed: bool = True,
        *,
        training_seed: int | None = None,
    ) -> None:
        self._seeds = _TrainingMaskSeeds(training_seed)
        self.mask_func = mask_func
        self.use_seed = use_seed

    def __call__(
        self,
        kspace: np.ndarray,
        mask: np.ndarray | None,
        target: np.ndarray | None,
        attrs: dict,
        fname: str,
        slice_num: int,
    ) -> dict[str, np.ndarray]:
        kspace = np.asarray(kspace)
        if kspace.ndim == 2:
            kspace = kspace[None]
        _check_kspace(kspace, True, fname)
        for key in ("padding_left", "padding_right", "recon_size"):
            if key not in attrs:
                raise ValueError(
                    f"{fname}: attribute {key!r} missing; read volumes through SliceDataset, "
                    "which adds the ismrmrd_header fields"
                )
        padding = (int(attrs["padding_left"]), int(attrs["padding_right"]))
        if self.mask_func is not None:
            seed = seed_from_name(fname) if self.use_seed else self._seeds(fname, slice_num)
            masked, mask_1d, nlf = apply_mask(kspace, self.mask_func, seed=seed, padding=padding)
        else:
            if mask is None:
                raise ValueError(
                    f"{fname}: no mask function and no 'mask' in the file; pass a mask_func "
                    "(training/validation data) or use test files that carry their mask"
                )
            mask_1d = np.asarray(mask, dtype=np.float32).reshape(-1).copy()
            mask_1d[: padding[0]] = 0.0
            mask_1d[padding[1] :] = 0.0
            masked, nlf = mask_kspace(kspace, mask_1d), 0
        out = {
            "masked_kspace": np.asarray(masked, dtype=np.complex64),
            "mask": np.asarray(mask_1d) != 0,
            "num_low_frequencies": np.asarray(nlf, dtype=np.int32),
            "max_value": np.asarray(
                attrs.get("max", 0.0) if target is not None else 0.0, np.float32
            ),
            "crop_size": np.asarray(tuple(attrs["recon_size"])[:2], dtype=np.int32),
        }
        if target is not None:
            out["target"] = np.asarray(target, dtype=np.float32)
        return out


Transform = Callable[[np.ndarray, "np.ndarray | None", "np.ndarray | None", dict, str, int], dict]
