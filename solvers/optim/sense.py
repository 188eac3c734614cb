"""The MRI forward model: centred FFTs, coil sensitivities and Cartesian sampling (SENSE).

For an image ``x`` ``(..., H, W)`` (complex), coil sensitivities ``S`` ``(coils, H, W)`` and a
phase-encode mask ``M`` (``(W,)`` or ``(..., W)``, 1 on sampled columns)::

    E x    = F(S_c x)                           sens_expand: image -> coil k-space
    R k    = sum_c conj(S_c) F^H(k_c)           sens_reduce: coil k-space -> image (= E^H)
    A x    = M E x                              sense_forward (masked, the acquisition)
    A^H k  = E^H (M k)                          sense_adjoint

``F`` is the centred orthonormal 2-D FFT over the last two axes (``fft2c``:
``fftshift(fft2(ifftshift(x), norm="ortho"))``, the fastMRI convention; Parseval holds and the DC
term sits at ``(H // 2, W // 2)``). With ``sum_c |S_c|^2 = 1`` the operator has ``||A|| <= 1``.
Single-coil data is the case ``S = 1`` with one coil. Layouts follow the fastMRI files:
k-space ``(..., coils, H, W)``, ``W`` the phase-encode axis the mask acts on.

:func:`estimate_sensitivities` gives classical maps from the fully sampled centre lines (the
auto-calibration signal): low-resolution coil images divided by their root-sum-of-squares.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import Partial
from sciml.solvers.optim.operators import LinearOperator

_AXES = (-2, -1)


def _require_complex(x: Any, name: str) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.iscomplexobj(x):
        raise ValueError(
            f"{name}: expected a complex array (..., H, W), found dtype {x.dtype}; "
            "convert a real-pair (..., H, W, 2) array with x[..., 0] + 1j * x[..., 1]"
        )
    if x.ndim < 2:
        raise ValueError(f"{name}: expected at least 2 axes (..., H, W), found shape {x.shape}")
    return x


@jax.jit
def fft2c(x: Any) -> jax.Array:
    """Centred orthonormal 2-D FFT over the last two axes: image ``(..., H, W)`` -> k-space."""
    x = _require_complex(x, "fft2c")
    return jnp.fft.fftshift(
        jnp.fft.fft2(jnp.fft.ifftshift(x, axes=_AXES), axes=_AXES, norm="ortho"), axes=_AXES
    )


@jax.jit
def ifft2c(x: Any) -> jax.Array:
    """Centred orthonormal inverse 2-D FFT over the last two axes: k-space -> image."""
    x = _require_complex(x, "ifft2c")
    return jnp.fft.fftshift(
        jnp.fft.ifft2(jnp.fft.ifftshift(x, axes=_AXES), axes=_AXES, norm="ortho"), axes=_AXES
    )


def sens_expand(x: jax.Array, maps: jax.Array) -> jax.Array:
    """``E x``: image ``(..., H, W)`` -> coil k-space ``(..., coils, H, W)``, ``F(S_c x)``."""
    return fft2c(x[..., None, :, :] * maps)


def sens_reduce(k: jax.Array, maps: jax.Array) -> jax.Array:
    """``E^H k``: coil k-space ``(..., coils, H, W)`` -> image ``sum_c conj(S_c) F^H(k_c)``."""
    return jnp.sum(ifft2c(k) * jnp.conj(maps), axis=-3)


def _column_mask(mask: jax.Array) -> jax.Array:
    # (..., W) -> (..., 1, 1, W): broadcast over coils and read-out rows.
    return (mask != 0)[..., None, None, :]


def sense_forward(x: jax.Array, maps: jax.Array, mask: jax.Array) -> jax.Array:
    """``A x = M F(S_c x)``: image ``(..., H, W)`` -> masked coil k-space ``(..., coils, H, W)``."""
    k = sens_expand(x, maps)
    return jnp.where(_column_mask(mask), k, jnp.zeros_like(k))


def sense_adjoint(k: jax.Array, maps: jax.Array, mask: jax.Array) -> jax.Array:
    """``A^H k = sum_c conj(S_c) F^H(M k_c)``: masked coil k-space -> image ``(..., H, W)``."""
    k = jnp.where(_column_mask(mask), k, jnp.zeros_like(k))
    return sens_reduce(k, maps)


def sense_operator(mask: Any, maps: Any = None, *, shape: tuple[int, int] | None = None):
    """The SENSE acquisition as a :class:`~sciml.solvers.optim.LinearOperator`.

    Args:
      mask: ``(W,)`` sampling mask of the phase-encode columns (nonzero = sampled).
      maps: complex coil sensitivities ``(coils, H, W)``, or ``(*batch, coils, H, W)`` for one set
        of maps per slice (then images carry the same batch axes); None for single-coil data
        (one coil of sensitivity 1; then ``shape = (H, W)`` is required).
      shape: ``(H, W)`` when ``maps`` is None.

    Returns:
      ``A``: complex images ``(..., H, W)`` -> k-space ``(..., coils, H, W)``.
    """
    mask = jnp.asarray(mask)
    if maps is None:
        if shape is None:
            raise ValueError(
                "sense_operator: shape: expected (H, W) for single-coil data (maps=None), "
                "found None"
            )
        maps = jnp.ones((1, *shape), jnp.complex64)
    maps = _require_complex(maps, "sense_operator maps")
    if maps.ndim < 3:
        raise ValueError(
            f"sense_operator: maps: expected complex (..., coils, H, W), found shape "
            f"{tuple(maps.shape)}"
        )
    C, H, W = maps.shape[-3:]
    if mask.shape != (W,):
        raise ValueError(
            f"sense_operator: mask: expected shape ({W},) (the phase-encode axis of the maps "
            f"{(C, H, W)}), found {tuple(mask.shape)}"
        )
    return LinearOperator(
        Partial(_forward, maps, mask),
        Partial(_adjoint, maps, mask),
        (H, W),
        (C, H, W),
        dtype=maps.dtype,
        # The name is static data of the pytree: keep it free of the mask so that a new mask
        # reuses the compiled solver.
        name=f"SENSE {C}-coil {H}x{W}",
    )


def _forward(maps, mask, x):
    return sense_forward(x, maps, mask)


def _adjoint(maps, mask, k):
    return sense_adjoint(k, maps, mask)


def estimate_sensitivities(
    masked_kspace: Any, num_low_frequencies: int, *, eps: float = 1e-6
) -> jax.Array:
    """Coil maps from the fully sampled centre columns (auto-calibration signal).

    Keeps the central ``num_low_frequencies`` phase-encode columns of each coil, transforms to
    image space (low-resolution coil images ``l_c``) and returns ``l_c / sqrt(sum_c |l_c|^2)``
    (``sum_c |S_c|^2 = 1`` wherever the signal exceeds ``eps`` times its maximum; 0 elsewhere).

    Args:
      masked_kspace: complex ``(..., coils, H, W)``.
      num_low_frequencies: width of the fully sampled centre block, >= 1.

    Returns:
      complex ``(..., coils, H, W)``.
    """
    k = _require_complex(masked_kspace, "estimate_sensitivities")
    n = int(num_low_frequencies)
    W = k.shape[-1]
    if not 1 <= n <= W:
        raise ValueError(
            f"estimate_sensitivities: num_low_frequencies: expected 1 <= n <= {W}, found {n}"
        )
    start = (W - n + 1) // 2
    cols = jnp.arange(W)
    keep = (cols >= start) & (cols < start + n)
    low = ifft2c(jnp.where(keep, k, 0))
    rss = jnp.sqrt(jnp.sum(jnp.abs(low) ** 2, axis=-3, keepdims=True))
    floor = eps * jnp.max(rss, axis=(-2, -1), keepdims=True)
    return jnp.where(rss > floor, low / jnp.where(rss > floor, rss, 1.0), 0.0)
