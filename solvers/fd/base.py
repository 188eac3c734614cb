"""Common machinery of the explicit finite-difference steps: method of lines + Runge-Kutta.

Every ``fd_*`` solver is a callable ``state -> state`` object: ``tendency(state)`` is the
semi-discrete right-hand side ``du/dt`` (ghost cells from ``solvers.ghost`` supply the boundary
condition), and ``__call__`` advances it by ``dt`` with an integrator from
``solvers.integrators``. Attributes: ``grid`` (:class:`~sciml.solvers.Grid`), ``dt``, ``params``
(dict of physical parameters), ``scheme`` (spatial discretisation), ``integrator`` and
``order`` (declared spatial order of accuracy). The time-step limit comes from the Fourier symbol
of the scheme (``solvers.stability``): ``max_dt(state)`` returns it and ``check_dt(state)``
raises a one-line ``ValueError`` that states it.
"""

from __future__ import annotations

import math

import jax
import numpy as np
from sciml.solvers.ghost import fill_ghost_axis
from sciml.solvers.grid import BOUNDARY_KINDS, Grid
from sciml.solvers.integrators import INTEGRATORS
from sciml.solvers.stability import max_stable_dt, raise_if_unstable

from sciml.choices import check_choice


def positive(name: str, value: float, fix: str, *, allow_zero: bool = False) -> float:
    """Validate a physical parameter; the error names it, the bound, the value and a fix."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, found {value!r}; {fix}") from None
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not math.isfinite(value):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a finite value {bound}, found {value}; {fix}")
    return value


class FDStep:
    """Base class; subclasses define ``tendency``, ``eigenvalues`` and ``time_scale``.

    Args:
      grid: the grid (``grid.boundary`` in ``"periodic"``, ``"dirichlet"``, ``"neumann"``).
      dt: time step (time units).
      integrator: ``"euler"``, ``"rk2"``, ``"ssprk3"`` or ``"rk4"``.
      scheme: spatial scheme, a key of ``schemes``.
      schemes: scheme name -> declared spatial order.
      params: physical parameters (stored on ``.params``).
    """

    equation = "fd"
    channels: tuple[str, ...] = ("u",)
    ndims: tuple[int, ...] = (1, 2, 3)

    def __init__(
        self,
        grid: Grid,
        dt: float,
        *,
        integrator: str,
        scheme: str,
        schemes: dict[str, int],
        params: dict,
    ):
        if not isinstance(grid, Grid):
            raise ValueError(
                f"grid: expected a sciml.solvers.Grid, found {type(grid).__name__}; "
                "e.g. Grid((128,), (1.0,), boundary='dirichlet')"
            )
        if grid.boundary not in BOUNDARY_KINDS:
            raise ValueError(
                f"boundary: expected one of {list(BOUNDARY_KINDS)}, found {grid.boundary!r}"
            )
        if grid.ndim not in self.ndims:
            raise ValueError(
                f"grid: {self.equation} supports {list(self.ndims)} spatial axes, found "
                f"{grid.ndim} (shape {grid.shape})"
            )
        check_choice(integrator, INTEGRATORS, name="integrator")
        if scheme not in schemes:
            raise ValueError(
                f"scheme: {self.equation} expects one of {list(schemes)}, found {scheme!r}"
            )
        self.grid = grid
        self.dt = positive("dt", dt, "pass a positive time step, e.g. dt=1e-3")
        self.integrator = integrator
        self.scheme = scheme
        self.order = schemes[scheme]
        self.params = dict(params)
        self._integrate = INTEGRATORS[integrator]

    # -- to be provided by subclasses -------------------------------------------------------
    def tendency(self, state: jax.Array) -> jax.Array:
        """Semi-discrete right-hand side ``d state / dt``, same shape as ``state``."""
        raise NotImplementedError

    def eigenvalues(self, state: jax.Array | None = None) -> np.ndarray:
        """Eigenvalues (1/time) of the (linearised) semi-discrete operator, periodic symbol."""
        raise NotImplementedError

    def time_scale(self, state: jax.Array | None = None) -> tuple[float, str]:
        """``(scale, text)``: the physical time scale the limit is quoted in, e.g. dx^2/nu."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def __call__(self, state: jax.Array) -> jax.Array:
        """Advance ``state`` ``(..., *grid.shape, channels)`` by one step ``dt``."""
        return self._integrate(self.tendency, state, self.dt)

    @property
    def name(self) -> str:
        return f"{self.equation}{self.grid.ndim}d ({self.scheme} + {self.integrator})"

    def max_dt(self, state: jax.Array | None = None) -> float:
        """Largest linearly stable ``dt`` for this scheme, integrator, grid and parameters."""
        return max_stable_dt(self.eigenvalues(state), self.integrator)

    def check_dt(self, state: jax.Array | None = None) -> None:
        """Raise ``ValueError`` stating the limit if ``self.dt`` is above it."""
        scale, text = self.time_scale(state)
        raise_if_unstable(
            self.dt,
            self.max_dt(state),
            scale,
            name=self.name,
            integrator=self.integrator,
            scale_text=text,
        )

    def check_state(self, state: jax.Array) -> None:
        """Shape check: ``(..., *grid.shape, len(channels))`` (works under jit: shapes are static)."""
        nd = self.grid.ndim
        ok = state.ndim >= nd + 1 and tuple(state.shape[-nd - 1 : -1]) == self.grid.shape
        if not ok or state.shape[-1] != len(self.channels):
            raise ValueError(
                f"state: {self.equation} expects shape (batch, *{self.grid.shape}, "
                f"{len(self.channels)}) with channels {self.channels}, found {tuple(state.shape)}"
            )

    def laplacian(self, u: jax.Array) -> jax.Array:
        """Discrete Laplacian of ``u`` ``(..., *grid.shape, C)``: the sum over axes of the
        subclass's second-derivative ``stencil``, with ghost cells of order ``_ghost_order``
        from the grid's boundary (heat and wave equations share it)."""
        g = self.grid
        out = 0.0
        for axis, dx in zip(self.spatial_axes(u), g.dx):
            padded = fill_ghost_axis(
                u, axis, self.halo, g.boundary, dx=dx, value=g.boundary_value,
                order=self._ghost_order,
            )  # fmt: skip
            out = out + self.stencil.apply(padded, axis, self.halo, dx)
        return out

    def spatial_axes(self, state: jax.Array) -> list[int]:
        nd = self.grid.ndim
        return [state.ndim - 1 - nd + i for i in range(nd)]

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (
            f"{type(self).__name__}(shape={self.grid.shape}, length={self.grid.length}, "
            f"boundary={self.grid.boundary!r}, dt={self.dt:g}, scheme={self.scheme!r}, "
            f"integrator={self.integrator!r}, {p})"
        )
