"""Gray-Scott reaction-diffusion system on a periodic box (2D; also 1D/3D grids).

    du/dt = D_u Laplacian(u) - u v^2 + F (1 - u)
    dv/dt = D_v Laplacian(v) + u v^2 - (F + k) v

``u`` is the substrate, ``v`` the autocatalyst (both concentrations, nondimensional), ``D_u, D_v``
diffusivities (length^2 / time), ``F`` the feed rate and ``k`` the kill rate (1 / time). Pearson
(1993) uses ``D_u = 2e-5, D_v = 1e-5`` on ``[0, 2.5]^2``; the default ``(F, k) = (0.03, 0.062)``
gives spots that replicate until they fill the box, ``(0.0367, 0.0649)`` isolated dividing spots
("mitosis") and ``(0.04, 0.06)`` labyrinths. Nondimensional numbers: ``D_u / D_v`` and the diffusion
lengths ``sqrt(D / F)`` relative to ``L``.

Diffusion and the linear decay ``-F u``, ``-(F + k) v`` are integrated exactly by ETDRK4, the
reaction ``-/+ u v^2`` and the feed ``F`` explicitly with 2/3-rule de-aliasing (exact for
quadratic products; for the cubic ``u v^2`` it removes the aliases of the truncated fields into
the retained modes only partially, which is harmless for these smooth, resolved patterns).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid
from sciml.solvers.spectral.base import SpectralStep, spectral_wavenumbers


class GrayScott(SpectralStep):
    """Gray-Scott step, state ``(batch, *grid.shape, 2)`` with channels ``(u, v)``.

    Args:
      grid: periodic :class:`Grid`.
      dt: time step (~1 for Pearson's parameters).
      feed: ``F`` (>= 0).
      kill: ``k`` (>= 0).
      diffusivity_u, diffusivity_v: ``D_u, D_v`` (>= 0).
    """

    channels = ("u", "v")

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        feed: float = 0.03,
        kill: float = 0.062,
        diffusivity_u: float = 2e-5,
        diffusivity_v: float = 1e-5,
    ) -> None:
        params = {
            "feed": float(feed),
            "kill": float(kill),
            "diffusivity_u": float(diffusivity_u),
            "diffusivity_v": float(diffusivity_v),
        }
        for name, value in params.items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: expected a finite value >= 0, found {value}")
        k2 = sum(k**2 for k in spectral_wavenumbers(grid))[..., 0]
        f, kill = params["feed"], params["kill"]
        linear = np.stack(
            [-params["diffusivity_u"] * k2 - f, -params["diffusivity_v"] * k2 - (f + kill)],
            axis=-1,
        )
        super().__init__(grid, dt, linear, params)
        feed_hat = np.zeros(self.linear.shape, dtype=np.complex128)
        feed_hat.reshape(-1, 2)[0, 0] = f * np.prod(grid.shape)  # rfftn of the constant F
        self._feed_hat = feed_hat

    def nonlinear(self, z_hat: jax.Array) -> jax.Array:
        z = self.ifft(self.dealias(z_hat))
        u, v = z[..., 0:1], z[..., 1:2]
        uvv = u * v * v
        reaction = self.dealias(self.fft(jnp.concatenate([-uvv, uvv], axis=-1)))
        return reaction + self.const("feed_hat", self._feed_hat, z_hat.dtype)

    def explicit_rate(self, state: jax.Array) -> jax.Array:
        """Spectral-radius bound of the reaction Jacobian ``[[-v^2, -2uv], [v^2, 2uv]]``."""
        u, v = state[..., 0], state[..., 1]
        return jnp.max(v * v + 2 * jnp.abs(u * v))
