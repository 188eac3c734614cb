"""Finite-difference stencils on uniform grids, applied along one axis of a ghost-padded field.

A stencil ``sum_k c_k u_{j+k} / dx^m`` approximates the ``m``-th derivative at cell ``j`` with
the declared order of accuracy. The same coefficients give the Fourier symbol used by
``solvers.stability`` for the time-step limit, so operator and limit cannot drift apart.

First derivatives come as upwind-biased families: :func:`first_derivative` picks the stencil
for the sign of the transport velocity (the mirror image ``c'_k = -c_{-k}`` for ``a < 0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.lax as lax
import numpy as np
from sciml.solvers.stability import symbol as _symbol


@dataclass(frozen=True)
class Stencil:
    """Coefficients ``c_k`` at ``offsets`` ``k`` of a derivative of order ``derivative``.

    Attributes:
      offsets: integer cell offsets.
      coeffs: weights multiplying ``u_{j+k}`` (the result is divided by ``dx**derivative``).
      derivative: which derivative (1 or 2).
      order: order of accuracy (truncation error ``O(dx^order)``).
    """

    offsets: tuple[int, ...]
    coeffs: tuple[float, ...]
    derivative: int
    order: int

    @property
    def halo(self) -> int:
        return max(abs(k) for k in self.offsets)

    def mirrored(self) -> Stencil:
        """The stencil reflected in space (upwind direction for negative velocities)."""
        sign = -1.0 if self.derivative % 2 else 1.0
        return Stencil(
            tuple(-k for k in self.offsets),
            tuple(sign * c for c in self.coeffs),
            self.derivative,
            self.order,
        )

    def apply(self, padded: jax.Array, axis: int, halo: int, dx: float) -> jax.Array:
        """Apply along ``axis`` of ``padded`` (which carries ``halo >= self.halo`` ghosts/side)."""
        n = padded.shape[axis] - 2 * halo
        out = None
        for k, c in zip(self.offsets, self.coeffs):
            term = c * lax.slice_in_dim(padded, halo + k, halo + k + n, axis=axis)
            out = term if out is None else out + term
        return out / dx**self.derivative

    def symbol(self, theta: np.ndarray, dx: float = 1.0) -> np.ndarray:
        """Fourier symbol divided by ``dx**derivative``."""
        return _symbol(self.offsets, self.coeffs, theta) / dx**self.derivative


SECOND_DERIVATIVE: dict[str, Stencil] = {
    "central2": Stencil((-1, 0, 1), (1.0, -2.0, 1.0), 2, 2),
    "central4": Stencil((-2, -1, 0, 1, 2), (-1 / 12, 16 / 12, -30 / 12, 16 / 12, -1 / 12), 2, 4),
}
"""Second-derivative stencils by scheme name."""

FIRST_DERIVATIVE_UPWIND: dict[str, Stencil] = {
    "upwind1": Stencil((-1, 0), (-1.0, 1.0), 1, 1),
    "central2": Stencil((-1, 1), (-0.5, 0.5), 1, 2),
    "upwind3": Stencil((-2, -1, 0, 1), (1 / 6, -1.0, 0.5, 1 / 3), 1, 3),
    "central4": Stencil((-2, -1, 1, 2), (1 / 12, -8 / 12, 8 / 12, -1 / 12), 1, 4),
}
"""First-derivative stencils for a positive velocity (upwind side = lower indices)."""


def first_derivative(scheme: str, velocity: float) -> Stencil:
    """The first-derivative stencil of ``scheme`` biased against the sign of ``velocity``."""
    stencil = FIRST_DERIVATIVE_UPWIND[scheme]
    return stencil if velocity >= 0 else stencil.mirrored()
