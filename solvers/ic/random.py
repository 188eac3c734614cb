"""Random initial conditions: Gaussian random fields and truncated random Fourier series.

Both return real, periodic, channels-last arrays ``(n_samples, *grid.shape, channels)`` drawn
with a keyword-only JAX PRNG ``key``; the same key gives the same fields on any backend.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid


@partial(jax.jit, static_argnums=(1, 2, 3))
def _flat_draw(key: jax.Array, size: int, dtype, normal: bool) -> jax.Array:
    if normal:
        return jax.random.normal(key, (size,), dtype)
    return jax.random.uniform(key, (size,), dtype)


def random_draw(
    key: jax.Array, shape: tuple[int, ...], dtype, *, normal: bool = False
) -> jax.Array:
    """Uniform [0, 1) (or standard normal) numbers of ``shape`` from ``key``.

    Drawn as a flat vector whose length is rounded up to a power of two and then cut, so the
    PRNG kernel (slow to compile on CPU) is compiled once per size class, not once per shape.
    Deterministic: the same key and shape give the same numbers.
    """
    size = int(np.prod(shape))
    bucket = 1 << max(10, (size - 1).bit_length())
    return _flat_draw(key, bucket, jnp.dtype(dtype), normal)[:size].reshape(shape)


def _check_count(n_samples: int, channels: int) -> None:
    if int(n_samples) < 1:
        raise ValueError(f"n_samples: expected an integer >= 1, found {n_samples}")
    if int(channels) < 1:
        raise ValueError(f"channels: expected an integer >= 1, found {channels}")


def power_law_spectrum(exponent: float, k0: float) -> Callable[[np.ndarray], np.ndarray]:
    """Power spectral density ``P(|k|) = (|k|^2 + k0^2)^(-exponent / 2)`` (Matern-like)."""

    def spectrum(kmag: np.ndarray) -> np.ndarray:
        return (kmag**2 + k0**2) ** (-exponent / 2)

    return spectrum


def gaussian_random_field(
    grid: Grid,
    n_samples: int,
    *,
    key: jax.Array,
    exponent: float = 4.0,
    k0: float | None = None,
    spectrum: Callable[[np.ndarray], np.ndarray] | None = None,
    max_wavenumber: float | None = None,
    amplitude: float = 1.0,
    channels: int = 1,
    dtype=jnp.float32,
) -> jax.Array:
    """Zero-mean stationary Gaussian random fields on a periodic grid.

    White noise is coloured in Fourier space by ``sqrt(P(|k|))``; ``P`` is ``spectrum`` if given,
    else :func:`power_law_spectrum` with ``exponent`` and ``k0`` (default: the lowest wavenumber
    ``2 pi / min(L)``). ``P`` is normalised so that the pointwise standard deviation is
    ``amplitude`` in expectation (each sample is NOT rescaled: the fields stay Gaussian).
    Modes with ``|k| > max_wavenumber`` are removed.

    Args:
      grid: periodic grid.
      n_samples: number of fields.
      key: JAX PRNG key.
      exponent, k0, spectrum, max_wavenumber: the spectrum (wavenumbers are angular, 1/length).
      amplitude: expected pointwise standard deviation.
      channels: independent fields per sample.

    Returns:
      ``(n_samples, *grid.shape, channels)`` array of ``dtype``.
    """
    _check_count(n_samples, channels)
    if not exponent >= 0:
        raise ValueError(f"exponent: expected a spectral exponent >= 0, found {exponent}")
    if k0 is None:
        k0 = 2 * np.pi / min(grid.length)
    if spectrum is None:
        spectrum = power_law_spectrum(exponent, k0)
    full = np.meshgrid(*grid.wavenumbers(), indexing="ij")
    kmag = np.sqrt(sum(k**2 for k in full))
    power = np.asarray(spectrum(np.where(kmag > 0, kmag, 1.0)), dtype=np.float64)
    power = np.where(kmag > 0, power, 0.0)
    if max_wavenumber is not None:
        power = np.where(kmag <= max_wavenumber, power, 0.0)
    if not power.any():
        raise ValueError(
            f"max_wavenumber: {max_wavenumber} removes every mode of this grid; pass a value "
            f">= {2 * np.pi / max(grid.length):.4g}"
        )
    power = power / power.mean()
    half = np.sqrt(power[..., : grid.shape[-1] // 2 + 1])[..., None] * amplitude
    noise = random_draw(key, (int(n_samples), *grid.shape, int(channels)), dtype, normal=True)
    return _colour_noise(noise, jnp.asarray(half, dtype))


@jax.jit
def _colour_noise(noise: jax.Array, filter_: jax.Array) -> jax.Array:
    shape = noise.shape
    axes = tuple(range(1, len(shape) - 1))
    coloured = jnp.fft.rfftn(noise, axes=axes) * filter_
    return jnp.fft.irfftn(coloured, s=shape[1:-1], axes=axes).astype(filter_.dtype)


def random_fourier_series(
    grid: Grid,
    n_samples: int,
    *,
    key: jax.Array,
    n_terms: int = 5,
    max_mode: int = 3,
    amplitude: float = 1.0,
    channels: int = 1,
    dtype=jnp.float32,
) -> jax.Array:
    """Truncated random Fourier series ``sum_j A_j cos(2 pi m_j . x / L + phi_j)``.

    Each term has an integer mode vector ``m_j`` with components uniform in
    ``[-max_mode, max_mode]`` (never all zero, so the fields have zero mean), an amplitude
    ``A_j`` uniform in ``[-amplitude, amplitude]`` and a phase uniform in ``[0, 2 pi)``. The fields
    are exactly periodic and band-limited to ``max_mode``.

    Returns:
      ``(n_samples, *grid.shape, channels)`` array of ``dtype``.
    """
    _check_count(n_samples, channels)
    if int(n_terms) < 1 or int(max_mode) < 1:
        raise ValueError(
            f"random_fourier_series: n_terms and max_mode must be >= 1, found {n_terms}, {max_mode}"
        )
    max_mode = int(max_mode)
    if 2 * max_mode >= min(grid.shape):
        raise ValueError(
            f"max_mode: {max_mode} is not resolved by a grid of {min(grid.shape)} points; "
            f"use max_mode <= {(min(grid.shape) - 1) // 2}"
        )
    shape = (int(n_samples), int(channels), int(n_terms))
    phases = np.stack([2 * np.pi * x / L for x, L in zip(grid.mesh(), grid.length)])
    draw = random_draw(key, (*shape, grid.ndim + 2), dtype)  # modes, amplitude, phase per term
    return _fourier_series(draw, jnp.asarray(phases, dtype), float(amplitude), max_mode)


@jax.jit
def _fourier_series(draw, phases, amplitude, max_mode) -> jax.Array:
    ndim, dtype = phases.shape[0], phases.dtype
    shape = draw.shape[:-1]
    modes = jnp.clip(
        jnp.floor(draw[..., :ndim] * (2 * max_mode + 1)) - max_mode, -max_mode, max_mode
    )
    zero = jnp.all(modes == 0, axis=-1, keepdims=True)
    first = jnp.zeros(ndim, dtype=dtype).at[0].set(1)
    modes = jnp.where(zero, first, modes)
    amp = (2 * draw[..., ndim] - 1) * amplitude
    phase = 2 * np.pi * draw[..., ndim + 1]
    # angle[s, c, j, *x] = m_j . (2 pi x / L) + phi_j
    angle = jnp.tensordot(modes, phases, axes=([3], [0]))
    angle = angle + phase.reshape(*shape, *([1] * ndim))
    fields = jnp.sum(amp.reshape(*shape, *([1] * ndim)) * jnp.cos(angle), axis=2)
    return jnp.moveaxis(fields, 1, -1)
