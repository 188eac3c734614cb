"""Wave equation as a first-order system, by explicit finite differences (1, 2 or 3 axes).

    d^2u/dt^2 = c^2 (d^2u/dx^2 + ...) - gamma du/dt

written for the state channels ``(u, v)`` with ``v = du/dt``::

    du/dt = v
    dv/dt = c^2 lap(u) - gamma v

``c > 0`` is the wave speed (length / time) and ``gamma >= 0`` an optional damping rate
(1 / time; 0 for the undamped equation). The Laplacian uses ``"central2"`` or ``"central4"``
stencils with ghost cells for ``u`` (``grid.boundary``: periodic, Dirichlet ``u = g`` - a
clamped string / membrane - or Neumann ``du/dn = g`` - free ends, ``g = grid.boundary_value``).

Energy: the continuous ``E = 1/2 int (v^2 + c^2 |grad u|^2) dx`` is conserved when
``gamma = 0``. :meth:`FDWave.energy` returns the discrete energy that the central2
semi-discretisation conserves exactly (periodic, homogeneous Dirichlet / Neumann); the explicit
integrator then adds a dissipation of order ``(c dt / dx)^{p+1}`` per step (rk4: ``p = 4``).

Stability: the eigenvalues ``+-i c sqrt(-symbol)`` lie on the imaginary axis (``|lambda| <=
2 c sqrt(sum 1/dx_i^2)`` for central2), so euler and rk2 are unstable for every dt and
``dt <= C dx / c`` with ``C = 0.866`` (ssprk3) or ``1.414`` (rk4) in 1D, central2.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.fd.base import FDStep, positive
from sciml.solvers.fd.stencils import SECOND_DERIVATIVE
from sciml.solvers.ghost import fill_ghost_axis
from sciml.solvers.grid import Grid
from sciml.solvers.stability import theta_grid

WAVE_SCHEMES = {name: s.order for name, s in SECOND_DERIVATIVE.items()}


class FDWave(FDStep):
    """Explicit finite-difference step of the (damped) wave equation (see module docstring).

    Args:
      grid: grid of 1-3 axes; its boundary kind and value apply to ``u``.
      dt: time step.
      c: wave speed ``> 0``.
      damping: ``gamma >= 0``.
      scheme: ``"central2"`` or ``"central4"``.
      integrator: ``"ssprk3"`` or ``"rk4"`` (``"euler"``/``"rk2"`` are unstable here).
      check: raise ``ValueError`` stating the limit if ``dt`` is unstable.

    State: ``(batch, *grid.shape, 2)`` with channels ``(u, du/dt)``.
    """

    equation = "fd_wave"
    channels = ("u", "u_t")

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        c: float = 1.0,
        damping: float = 0.0,
        scheme: str = "central2",
        integrator: str = "rk4",
        check: bool = True,
    ):
        c = positive("c", c, "the wave speed must be positive, e.g. c=1.0")
        damping = positive("damping", damping, "use damping=0 for undamped waves", allow_zero=True)
        super().__init__(
            grid,
            dt,
            integrator=integrator,
            scheme=scheme,
            schemes=WAVE_SCHEMES,
            params={"c": c, "damping": damping},
        )
        self.c = c
        self.damping = damping
        self.stencil = SECOND_DERIVATIVE[scheme]
        self.halo = self.stencil.halo
        self._ghost_order = 2 if self.stencil.order == 2 else self.stencil.order + 1
        if check:
            self.check_dt()

    def tendency(self, state: jax.Array) -> jax.Array:
        self.check_state(state)
        u, v = state[..., :1], state[..., 1:]
        dv = self.c**2 * self.laplacian(u)
        if self.damping:
            dv = dv - self.damping * v
        return jnp.concatenate([v, dv], axis=-1)

    def energy(self, state: jax.Array) -> jax.Array:
        """Discrete energy per sample, shape ``state.shape[:-ndim-1]``.

        ``E = 1/2 sum_i v_i^2 dV + c^2/2 sum_faces ((u_{i+1} - u_i)/dx)^2 dV`` over all faces,
        where the two boundary faces of a Dirichlet grid (ghost ``2g - u``) carry half weight.
        Exactly conserved by the undamped central2 semi-discretisation on periodic grids and
        with homogeneous Dirichlet or Neumann boundaries.
        """
        self.check_state(state)
        g = self.grid
        dvol = float(np.prod(g.dx))
        u, v = state[..., :1], state[..., 1:]
        axes = (*self.spatial_axes(state), state.ndim - 1)
        kinetic = 0.5 * jnp.sum(v * v, axis=axes)
        potential = 0.0
        for axis, dx in zip(self.spatial_axes(state), g.dx):
            padded = fill_ghost_axis(u, axis, 1, g.boundary, dx=dx, value=g.boundary_value)
            grad = jnp.diff(padded, axis=axis) / dx  # n + 1 faces incl. both boundary faces
            sq = grad * grad
            n = u.shape[axis]
            if g.boundary == "periodic":
                sq = jax.lax.slice_in_dim(sq, 1, n + 1, axis=axis)  # n distinct faces
            else:  # boundary faces at half weight (zero for Neumann with g = 0)
                w = np.ones(n + 1)
                w[0] = w[-1] = 0.5
                sq = sq * jnp.asarray(w, sq.dtype).reshape((-1,) + (1,) * (sq.ndim - axis - 1))
            potential = potential + 0.5 * self.c**2 * jnp.sum(sq, axis=axes)
        return (kinetic + potential) * dvol

    def eigenvalues(self, state: jax.Array | None = None) -> np.ndarray:
        thetas = theta_grid(self.grid.ndim)
        s = sum(self.stencil.symbol(t, dx) for t, dx in zip(thetas, self.grid.dx)).real
        # eigenvalues of [[0, 1], [c^2 s, -gamma]]: lambda^2 + gamma lambda - c^2 s = 0
        disc = np.sqrt((self.damping**2 + 4 * self.c**2 * s).astype(np.complex128))
        return np.concatenate(
            [((-self.damping + disc) / 2).ravel(), ((-self.damping - disc) / 2).ravel()]
        )

    def time_scale(self, state: jax.Array | None = None) -> tuple[float, str]:
        inv = np.sqrt(sum(1.0 / dx**2 for dx in self.grid.dx))
        text = "dx/c" if self.grid.ndim == 1 else "1/(c * sqrt(sum_i 1/dx_i^2))"
        return 1.0 / (self.c * inv), text


def fd_wave_step(grid: Grid, dt: float, *, c: float = 1.0, **kwargs) -> FDWave:
    """Factory: ``FDWave(grid, dt, c=c, ...)``."""
    return FDWave(grid, dt, c=c, **kwargs)
