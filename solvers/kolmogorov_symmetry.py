"""The discrete symmetries of 2-D Kolmogorov flow, for data augmentation.

The vorticity equation of the registry's ``ns2d_kolmogorov`` on the periodic box
``[0, Lx) x [0, Ly)``,

    d(omega)/dt + u . grad(omega) = nu Laplacian(omega) - drag omega - A k cos(k y),
    k = 2 pi n_f / Ly,

is invariant, besides translations in x, under

- the rotation by 180 degrees ``R``: ``omega'(x, y) = omega(-x, -y)``;
- the shift-reflection ``S``: ``omega'(x, y) = -omega(-x, y - Ly / (2 n_f))`` (mirror in x, half a
  forcing wavelength in y, sign flip; ``S^2`` is a translation by one forcing wavelength).

Modulo grid translations (to which a convolutional network is equivariant anyway) they generate
four distinct images ``{1, R, S, RS}`` of every trajectory: four times the training data of a
learned closure for free. Both act on the cell-centred grid (centres ``i h``) by index maps
``i -> -i mod N`` and a shift of ``Ny / (2 n_f)`` cells, so they commute exactly with every
solver in this package that is itself mirror-symmetric (the spectral solver and the
finite-volume solver with its upwind MUSCL scheme; ``tests/test_kolmogorov_symmetry.py``).
"""

from __future__ import annotations

import numpy as np

X_AXIS, Y_AXIS = -3, -2  # spatial axes of a (..., Nx, Ny, 1) state


def _mirror(w: np.ndarray, axis: int) -> np.ndarray:
    """``w[i] -> w[-i mod N]`` along ``axis`` (the mirror image through the cell centre 0)."""
    return np.roll(np.flip(w, axis), 1, axis)


def rotate_180(omega: np.ndarray) -> np.ndarray:
    """``R``: ``omega(-x, -y)``, ``(..., Nx, Ny, 1)`` -> same."""
    return _mirror(_mirror(omega, X_AXIS), Y_AXIS)


def shift_reflect(omega: np.ndarray, forcing_wavenumber: int) -> np.ndarray:
    """``S``: ``-omega(-x, y - Ly / (2 n_f))``, ``(..., Nx, Ny, 1)`` -> same.

    Raises ``ValueError`` unless ``Ny`` is a multiple of ``2 n_f`` (the half-wavelength shift
    must be a whole number of cells).
    """
    n_y, n_f = omega.shape[Y_AXIS], int(forcing_wavenumber)
    if n_f < 1 or n_y % (2 * n_f):
        raise ValueError(
            f"forcing_wavenumber: the shift-reflection needs Ny = {n_y} to be a multiple of "
            f"2 n_f = {2 * n_f}; use a grid with Ny divisible by {2 * max(n_f, 1)} or skip it"
        )
    return -np.roll(_mirror(omega, X_AXIS), n_y // (2 * n_f), Y_AXIS)


def kolmogorov_images(omega: np.ndarray, forcing_wavenumber: int, *, axis: int = 0) -> np.ndarray:
    """The four images ``{1, R, S, RS}`` of ``omega`` ``(..., Nx, Ny, 1)`` stacked along ``axis``
    (e.g. trajectories ``(sample, time, Nx, Ny, 1)`` -> ``(4 sample, time, Nx, Ny, 1)``)."""
    s = shift_reflect(omega, forcing_wavenumber)
    return np.concatenate([omega, rotate_180(omega), s, rotate_180(s)], axis=axis)
