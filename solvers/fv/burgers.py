"""Forced viscous Burgers by finite volumes on a periodic interval (1D), flux form.

    u_t + (u^2 / 2)_x = nu u_xx + f(x, t)

``u``: cell averages (velocity), ``nu > = 0`` the viscosity (length^2 / time), ``f`` an optional
:class:`~sciml.solvers.fv.Forcing` (cell-averaged exactly). The semi-discrete equation is

    du_i/dt = -(F_{i+1/2} - F_{i-1/2}) / dx + f_i(t),   F = G(u^-, u^+) - nu (u_x)_{i+1/2}

with the exact Godunov flux of the convex flux ``u^2/2``,
``G(a, b) = max(max(a, 0)^2, min(b, 0)^2) / 2``, on face states ``u^-`` (left) and ``u^+`` (right)
from the reconstruction ``scheme``:

- ``"upwind"``: piecewise constant (first-order Godunov), ``u_x`` by ``(u_{i+1} - u_i) / dx``;
- ``"muscl"``: piecewise linear with the van Leer limiter of :mod:`sciml.solvers.fd.burgers`
  (second order in smooth regions), same ``u_x``;
- ``"weno5"``: fifth-order WENO (:func:`~sciml.solvers.fv.weno5_faces`), with the fourth-order
  face derivative ``u_x = (u_{i-1} - 15 u_i + 15 u_{i+1} - u_{i+2}) / (12 dx)`` (exact on cell
  averages of quartics).

Flux form conserves ``sum(u) dx`` to round-off without forcing (the forcing has zero mean).
Time stepping: an integrator of :mod:`sciml.solvers.integrators` (SSP-RK3 by default) on the state
``(u, t)``, so the forcing is evaluated at every stage's time. Stability: ``dt <= cfl / (max|u| / dx
+ 2 nu / dx^2)`` with the SSP limit ``cfl`` of the scheme (:data:`CFL`); ``check_dt`` raises it.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.fd.base import positive
from sciml.solvers.fd.burgers import limited_slope
from sciml.solvers.fv.forcing import Forcing, forcing_cell_average
from sciml.solvers.fv.weno import weno5_faces
from sciml.solvers.grid import Grid
from sciml.solvers.integrators import INTEGRATORS

FV_SCHEMES = {"upwind": 1, "muscl": 2, "weno5": 5}
"""Scheme -> declared order of accuracy in smooth regions."""

CFL = {"upwind": 1.0, "muscl": 0.5, "weno5": 0.6}
"""Largest Courant number ``dt (max|u|/dx + 2 nu/dx^2)`` accepted per scheme (SSP-RK3)."""


def godunov_flux(ul: jax.Array, ur: jax.Array) -> jax.Array:
    """Exact Riemann (Godunov) flux of ``f(u) = u^2/2`` between face states ``ul`` and ``ur``."""
    return 0.5 * jnp.maximum(jnp.maximum(ul, 0.0) ** 2, jnp.minimum(ur, 0.0) ** 2)


def sine_cell_average(x: np.ndarray, dx: float, k: float = 1.0, phase: float = 0.0) -> np.ndarray:
    """Exact cell averages of ``sin(k x + phase)`` over cells centred at ``x`` of width ``dx``."""
    h = 0.5 * k * dx
    return np.sin(k * np.asarray(x) + phase) * np.sin(h) / h


class FVBurgers:
    """Finite-volume step of forced viscous Burgers (see the module docstring).

    Args:
      grid: periodic 1-D :class:`~sciml.solvers.Grid` of ``N`` cells.
      dt: time step (time units).
      nu: viscosity ``>= 0``.
      scheme: ``"upwind"``, ``"muscl"`` or ``"weno5"``.
      integrator: a name of :data:`sciml.solvers.integrators.INTEGRATORS` (default ``"ssprk3"``).

    Shapes: ``u`` ``(batch, N, 1)``, ``t`` ``(batch,)``, forcing arrays ``(batch, M)``.
    """

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        nu: float = 0.01,
        scheme: str = "weno5",
        integrator: str = "ssprk3",
    ):
        if not isinstance(grid, Grid) or grid.ndim != 1 or grid.boundary != "periodic":
            raise ValueError(
                f"grid: FVBurgers expects a periodic 1-D Grid, found {grid!r}; e.g. "
                "Grid((128,), (2 * np.pi,))"
            )
        if scheme not in FV_SCHEMES:
            raise ValueError(
                f"scheme: expected one of {list(FV_SCHEMES)}, found {scheme!r}; e.g. scheme='weno5'"
            )
        if integrator not in INTEGRATORS:
            raise ValueError(
                f"integrator: expected one of {list(INTEGRATORS)}, found {integrator!r}"
            )
        self.grid = grid
        self.n = grid.shape[0]
        self.dx = float(grid.dx[0])
        self.dt = positive("dt", dt, "pass a positive time step, e.g. dt=1e-3")
        self.nu = positive("nu", nu, "the viscosity must be >= 0, e.g. nu=0.01", allow_zero=True)
        self.scheme = scheme
        self.order = FV_SCHEMES[scheme]
        self.integrator = integrator
        self.x = (np.arange(self.n) + 0.5) * self.dx  # cell centres

    def __repr__(self) -> str:
        return (
            f"FVBurgers(N={self.n}, length={self.grid.length[0]:g}, dt={self.dt:g}, "
            f"nu={self.nu:g}, scheme={self.scheme!r}, integrator={self.integrator!r})"
        )

    # -- stability ------------------------------------------------------------------------
    def max_dt(self, u_max: float) -> float:
        """Largest accepted ``dt`` for speeds up to ``u_max``: ``cfl / (u_max/dx + 2 nu/dx^2)``."""
        rate = abs(float(u_max)) / self.dx + 2 * self.nu / self.dx**2
        return CFL[self.scheme] / rate if rate > 0 else float("inf")

    def check_dt(self, u_max: float) -> None:
        """Raise ``ValueError`` if ``dt`` exceeds :meth:`max_dt` (``u_max``: a bound on ``|u|``)."""
        limit = self.max_dt(u_max)
        if self.dt > limit:
            raise ValueError(
                f"dt: {self!r} is unstable for max|u| = {float(u_max):.4g}: expected dt <= "
                f"{limit:.4g} (Courant number {CFL[self.scheme]} of {self.scheme!r}), found "
                f"{self.dt:.4g}; reduce dt or use FVBurgers.max_dt(u_max)"
            )

    # -- spatial discretisation ---------------------------------------------------------------
    def check_state(self, u: jax.Array) -> None:
        if u.ndim != 3 or u.shape[1] != self.n or u.shape[2] != 1:
            raise ValueError(
                f"u: FVBurgers expects shape (batch, {self.n}, 1), found {tuple(u.shape)}"
            )

    def face_states(self, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(u^-, u^+)`` at faces ``i + 1/2`` (index ``i``), each ``(batch, N, 1)``."""
        if self.scheme == "upwind":
            return u, jnp.roll(u, -1, axis=1)
        if self.scheme == "muscl":
            left = u - jnp.roll(u, 1, axis=1)
            right = jnp.roll(u, -1, axis=1) - u
            slope = limited_slope(left, right, "vanleer")
            return u + 0.5 * slope, jnp.roll(u - 0.5 * slope, -1, axis=1)
        return weno5_faces(u, axis=1)

    def face_gradient(self, u: jax.Array) -> jax.Array:
        """``u_x`` at faces ``i + 1/2``, ``(batch, N, 1)`` (1 / length times velocity)."""
        up1 = jnp.roll(u, -1, axis=1)
        if self.scheme != "weno5":
            return (up1 - u) / self.dx
        um1, up2 = jnp.roll(u, 1, axis=1), jnp.roll(u, -2, axis=1)
        return (um1 - 15 * u + 15 * up1 - up2) / (12 * self.dx)

    def fluxes(self, u: jax.Array) -> jax.Array:
        """Numerical flux ``F_{i+1/2}`` (index ``i``), ``(batch, N, 1)``."""
        ul, ur = self.face_states(u)
        flux = godunov_flux(ul, ur)
        if self.nu > 0:
            flux = flux - self.nu * self.face_gradient(u)
        return flux

    def tendency(self, u: jax.Array, t: jax.Array, forcing: Forcing | None = None) -> jax.Array:
        """``du/dt`` ``(batch, N, 1)`` at times ``t`` ``(batch,)``."""
        self.check_state(u)
        flux = self.fluxes(u)
        out = -(flux - jnp.roll(flux, 1, axis=1)) / self.dx
        if forcing is not None:
            out = out + forcing_cell_average(forcing, jnp.asarray(self.x, u.dtype), self.dx, t)
        return out

    def step(
        self, u: jax.Array, t: jax.Array, forcing: Forcing | None = None
    ) -> tuple[jax.Array, jax.Array]:
        """One step ``dt``: ``(u, t) -> (u(t + dt), t + dt)``."""

        def rhs(state):
            uu, tt = state
            return self.tendency(uu, tt, forcing), jnp.ones_like(tt)

        return INTEGRATORS[self.integrator](rhs, (u, t), self.dt)

    def rollout(
        self,
        u0: jax.Array,
        forcing: Forcing | None = None,
        *,
        t0: jax.Array | float = 0.0,
        n_frames: int,
        steps_per_frame: int = 1,
    ) -> jax.Array:
        """Frames every ``steps_per_frame`` steps: ``(batch, n_frames + 1, N, 1)`` (frame 0 = ``u0``).

        Jit-compiled (once per shape, ``n_frames`` and ``steps_per_frame``).
        """
        self.check_state(u0)
        t0 = jnp.broadcast_to(jnp.asarray(t0, u0.dtype), (u0.shape[0],))
        return _rollout(self, int(n_frames), int(steps_per_frame))(u0, t0, forcing)


@functools.lru_cache(maxsize=32)
def _rollout(solver: FVBurgers, n_frames: int, steps_per_frame: int):
    def run(u0, t0, forcing):
        def frame(state, _):
            def inner(s, _):
                return solver.step(*s, forcing), None

            state, _ = jax.lax.scan(inner, state, None, length=steps_per_frame)
            return state, state[0]

        _, frames = jax.lax.scan(frame, (u0, t0), None, length=n_frames)
        return jnp.concatenate([u0[:, None], jnp.moveaxis(frames, 0, 1)], axis=1)

    return jax.jit(run)
