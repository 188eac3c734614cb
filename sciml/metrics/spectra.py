"""Isotropic spectra of periodic fields on uniform grids (1-D, 2-D, 3-D): energy and enstrophy.

Fields are channels last, ``(..., *spatial, C)``, on a periodic box of side ``length``. With the
normalised transform ``u_hat(m) = fft(u)(m) / N`` (N the number of grid points), Parseval reads
``sum_m |u_hat(m)|^2 = <u^2>``, the spatial mean. A spectrum sums ``1/2 |u_hat(m)|^2`` over the
channels and over integer-wavenumber shells ``s - 1/2 <= |m| < s + 1/2``, ``s = 0 .. min(N)/2``
(in 1-D a shell holds ``+m`` and ``-m``), so that the shells sum to ``1/2 <|u|^2>`` up to the
corner modes beyond the last full shell. Wavenumbers are angular, ``k = 2 pi s / L`` (units of
1/length), ``L`` the first axis's length.

- :func:`energy_spectrum` of a velocity (or any) field: ``E(k)``, ``sum_k E = 1/2 <|u|^2>``;
- :func:`enstrophy_spectrum` of a vorticity field: ``Z(k)``, ``sum_k Z = 1/2 <omega^2>``; in 2-D
  incompressible flow ``E(k) = Z(k) / k^2`` (:func:`energy_spectrum_from_vorticity`).

Power and cross spectra of 3-D density fields (cosmology conventions: ``P(k)`` in
``(Mpc/h)^3``, shell averages rather than sums, shot noise) are a different normalisation and live
in their own module of this package (``sciml.metrics`` holds them beside these).
NumPy only; imports no area.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shell_spectrum(
    u: np.ndarray, *, ndim: int, length: float | Sequence[float] = 2 * np.pi
) -> tuple[np.ndarray, np.ndarray]:
    """``(k, S)``: ``S(k_s) = sum over shell s and channels of 1/2 |u_hat|^2``, mean over leading axes.

    Args:
      u: ``(..., *spatial, C)`` real or complex field, ``ndim`` spatial axes (1, 2 or 3).
      length: box side per axis (a scalar for a cube); the first axis's sets ``k``.

    Returns:
      ``k`` and ``S``, both ``(min(spatial) // 2 + 1,)`` float64.
    """
    u = np.asarray(u)
    if ndim not in (1, 2, 3) or u.ndim < ndim + 1:
        raise ValueError(
            f"spectrum: expected ndim in 1..3 and a field (..., <{ndim} spatial axes>, channels), "
            f"found ndim={ndim} and shape {u.shape}"
        )
    spatial = u.shape[-1 - ndim : -1]
    lengths = np.broadcast_to(np.asarray(length, np.float64), (ndim,))
    axes = tuple(range(u.ndim - 1 - ndim, u.ndim - 1))
    uh = np.fft.fftn(u.astype(np.complex128 if np.iscomplexobj(u) else np.float64), axes=axes)
    e = 0.5 * np.sum(np.abs(uh / np.prod(spatial)) ** 2, axis=-1)
    e = e.reshape(-1, *spatial).mean(axis=0)
    ms = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in spatial], indexing="ij")
    shells = np.rint(np.sqrt(sum(m**2 for m in ms))).astype(int)
    n_shells = min(spatial) // 2 + 1
    spectrum = np.bincount(shells.ravel(), weights=e.ravel(), minlength=n_shells)[:n_shells]
    k = 2 * np.pi * np.arange(n_shells) / lengths[0]
    return k, spectrum


def energy_spectrum(
    u: np.ndarray, *, ndim: int, length: float | Sequence[float] = 2 * np.pi
) -> tuple[np.ndarray, np.ndarray]:
    """Kinetic-energy spectrum ``(k, E(k))`` of fields ``(..., *spatial, C)``, ``sum E = 1/2 <|u|^2>``.

    1-D: ``E(k_m) = sum_c 1/2 |u_hat_m|^2`` over ``m = 0..N/2`` (both signs folded). 2-D/3-D: the
    same energies summed over shells of the integer wavenumber vector (see the module docstring).
    """
    return shell_spectrum(u, ndim=ndim, length=length)


def enstrophy_spectrum(
    omega: np.ndarray, *, ndim: int, length: float | Sequence[float] = 2 * np.pi
) -> tuple[np.ndarray, np.ndarray]:
    """Enstrophy spectrum ``(k, Z(k))`` of vorticity fields ``(..., *spatial, C)``.

    ``sum_k Z(k) = 1/2 <|omega|^2>`` (the enstrophy per unit volume, up to corner modes); ``C`` is
    1 for 2-D vorticity, 3 for a 3-D vorticity vector.
    """
    return shell_spectrum(omega, ndim=ndim, length=length)


def energy_spectrum_from_vorticity(
    omega: np.ndarray, *, length: float | Sequence[float] = 2 * np.pi
) -> tuple[np.ndarray, np.ndarray]:
    """2-D incompressible flow: ``E(k) = Z(k) / k^2`` from the vorticity ``(..., nx, ny, 1)``.

    The mean mode (``k = 0``) carries no energy of the rotational velocity and gets ``E = 0``.
    """
    k, z = enstrophy_spectrum(omega, ndim=2, length=length)
    e = np.zeros_like(z)
    e[1:] = z[1:] / k[1:] ** 2
    return k, e
