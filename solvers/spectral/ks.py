"""Kuramoto-Sivashinsky equation on a periodic domain (1D and 2D).

1D (derivative form, conservative)::

    du/dt + u du/dx + d^2u/dx^2 + d^4u/dx^4 = 0

2D (potential form)::

    du/dt + 1/2 |grad u|^2 + Laplacian(u) + Laplacian^2(u) = 0

Both are nondimensional (lengths in units of the most unstable wavelength / (2 pi sqrt(2)),
times accordingly); the only parameter is the domain length ``L`` (on the grid): the dynamics are
chaotic for ``L >~ 22`` in 1D. The linear operator ``L(k) = |k|^2 - |k|^4`` (anti-diffusion at
long waves, hyper-diffusion at short waves) is integrated exactly by ETDRK4, the quadratic term
explicitly with 2/3-rule de-aliasing. In 1D the mean of ``u`` is conserved; in 2D the mean of the
potential would drift with ``<|grad u|^2>/2``, so the ``k = 0`` component of the nonlinear term is
removed (the mean of ``u`` is then conserved as well).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, spectral_wavenumbers


def _ks_linear(grid: Grid) -> np.ndarray:
    k2 = sum(k**2 for k in spectral_wavenumbers(grid))
    return k2 - k2**2


class KuramotoSivashinsky(SpectralStep):
    """1D Kuramoto-Sivashinsky step (conservative form), state ``(batch, N, 1)``.

    Args:
      grid: periodic 1D :class:`Grid` (e.g. ``Grid((256,), (64.0,))``).
      dt: time step (0.1-0.25 is typical for ``dx ~ 0.25-0.8``).
    """

    def __init__(self, grid: Grid, dt: float) -> None:
        if grid.ndim != 1:
            raise ValueError(
                f"grid: KuramotoSivashinsky is 1D, found {grid.ndim} axes; "
                "use KuramotoSivashinsky2D for 2D"
            )
        super().__init__(grid, dt, _ks_linear(grid), {})

    def nonlinear(self, u_hat: jax.Array) -> jax.Array:
        u = self.ifft(self.dealias(u_hat))
        return -0.5 * self.ik(0, u_hat.dtype) * self.dealias(self.fft(u * u))

    def advective_speed(self, state: jax.Array) -> jax.Array:
        return jnp.max(jnp.abs(state))


class KuramotoSivashinsky2D(SpectralStep):
    """2D Kuramoto-Sivashinsky step (potential form), state ``(batch, Nx, Ny, 1)``.

    Args:
      grid: periodic 2D :class:`Grid`.
      dt: time step.
    """

    def __init__(self, grid: Grid, dt: float) -> None:
        if grid.ndim != 2:
            raise ValueError(f"grid: KuramotoSivashinsky2D is 2D, found {grid.ndim} axes")
        super().__init__(grid, dt, _ks_linear(grid), {})
        self._no_mean = np.ones_like(self.mask)
        self._no_mean.reshape(-1)[0] = 0.0

    def _gradient(self, u_hat: jax.Array) -> tuple[jax.Array, jax.Array]:
        u_hat = self.dealias(u_hat)
        return tuple(self.ifft(self.ik(axis, u_hat.dtype) * u_hat) for axis in range(2))

    def nonlinear(self, u_hat: jax.Array) -> jax.Array:
        ux, uy = self._gradient(u_hat)
        keep = self.const("no_mean", self._no_mean * self.mask, ux.dtype)
        return -0.5 * keep * self.fft(ux * ux + uy * uy)

    def advective_speed(self, state: jax.Array) -> jax.Array:
        state = jnp.asarray(state)
        ux, uy = self._gradient(self.fft(state))
        return jnp.max(jnp.sqrt(ux * ux + uy * uy))
