"""Uniform grids: points per axis, domain length, boundary condition."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOUNDARY_KINDS = ("periodic", "dirichlet", "neumann")


@dataclass(frozen=True)
class Grid:
    """A uniform Cartesian grid on ``[0, L_1) x ... x [0, L_d)``.

    Attributes:
      shape: points per spatial axis ``(N_x[, N_y[, N_z]])``.
      length: domain length per axis (same units as ``dx``).
      boundary: ``"periodic"``, ``"dirichlet"`` or ``"neumann"`` (all axes).
      boundary_value: value imposed by the Dirichlet ghost cells, or the normal derivative for
        Neumann (0.0 for homogeneous conditions).

    Periodic grids are cell-centred-free: ``x_i = i * dx`` with ``dx = L / N``. Non-periodic grids
    are cell-centred: ``x_i = (i + 1/2) dx`` with ``dx = L / N`` and the boundary on the faces at
    ``0`` and ``L`` (ghost cells mirror across the face).
    """

    shape: tuple[int, ...]
    length: tuple[float, ...]
    boundary: str = "periodic"
    boundary_value: float = 0.0

    def __post_init__(self):
        shape = tuple(int(n) for n in np.atleast_1d(self.shape))
        length = tuple(float(v) for v in np.atleast_1d(self.length))
        if len(length) == 1 and len(shape) > 1:
            length = length * len(shape)
        if len(shape) != len(length):
            raise ValueError(
                f"Grid: shape has {len(shape)} axes but length has {len(length)}; give one length per axis"
            )
        if len(shape) not in (1, 2, 3) or min(shape) < 2:
            raise ValueError(f"Grid.shape: expected 1-3 axes of >= 2 points, found {shape}")
        if min(length) <= 0:
            raise ValueError(f"Grid.length: expected positive lengths, found {length}")
        if self.boundary not in BOUNDARY_KINDS:
            raise ValueError(
                f"Grid.boundary: expected one of {list(BOUNDARY_KINDS)}, found {self.boundary!r}"
            )
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "length", length)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dx(self) -> tuple[float, ...]:
        return tuple(L / n for L, n in zip(self.length, self.shape))

    def coords(self) -> tuple[np.ndarray, ...]:
        """1-D coordinate arrays, one per axis (float64)."""
        offset = 0.0 if self.boundary == "periodic" else 0.5
        return tuple((np.arange(n) + offset) * d for n, d in zip(self.shape, self.dx))

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Coordinate arrays broadcast to the grid shape (``indexing="ij"``)."""
        return tuple(np.meshgrid(*self.coords(), indexing="ij"))

    def wavenumbers(self) -> tuple[np.ndarray, ...]:
        """Angular wavenumbers ``k = 2 pi m / L`` per axis, FFT order (last axis full, not rfft)."""
        return tuple(
            2 * np.pi * np.fft.fftfreq(n, d=L / n) for n, L in zip(self.shape, self.length)
        )

    def to_dict(self) -> dict:
        return {
            "shape": list(self.shape),
            "length": list(self.length),
            "boundary": self.boundary,
            "boundary_value": self.boundary_value,
        }
