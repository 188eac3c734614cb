"""Registry entries of the finite-difference solvers (``sciml simulate fd_heat1d ...``).

Importing this module registers fd_heat1d, fd_heat2d, fd_advection1d, fd_advection2d,
fd_burgers1d, fd_wave1d and fd_wave2d. Every quantity is nondimensional (units "1").

Boundaries: each equation takes the parameters ``boundary`` (``"periodic"``, ``"dirichlet"`` or
``"neumann"``) and ``boundary_value`` (the Dirichlet face value, or the outward normal
derivative for Neumann). ``make_step(grid, dt, ...)`` uses the grid's own boundary when the
``boundary`` parameter is left at ``"periodic"``, and otherwise replaces the grid's kind and
value by the parameters, so both ``--set boundary=dirichlet`` and an explicitly non-periodic
:class:`Grid` work. The step's ``.grid`` is the grid actually used (cell-centred when
non-periodic).

Initial conditions (``ic_*`` parameters) satisfy the boundary condition: random Fourier series
(periodic), sine series plus the face value (Dirichlet) or cosine series plus the quadratic
``g (x - L/2)^2 / L`` per axis (Neumann, outward derivative ``g``). The wave equation starts at
rest (``u_t = 0``).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.fd.advection import ADVECTION_SCHEMES, FDAdvection
from sciml.solvers.fd.burgers import BURGERS_SCHEMES, LIMITERS, FDBurgers
from sciml.solvers.fd.heat import HEAT_SCHEMES, FDHeat
from sciml.solvers.fd.wave import WAVE_SCHEMES, FDWave
from sciml.solvers.grid import BOUNDARY_KINDS, Grid
from sciml.solvers.integrators import INTEGRATORS
from sciml.solvers.registry import (
    EQUATIONS,
    EquationSpec,
    GridDefaults,
    ParamSpec,
    register_equation,
)

ND = "1 (nondimensional)"


def _units(*fields: str) -> dict[str, str]:
    return {**{f: ND for f in fields}, "x": ND, "t": ND}


def effective_grid(grid: Grid, boundary: str = "periodic", boundary_value: float = 0.0) -> Grid:
    """The grid with the ``boundary`` parameters applied (see the module docstring)."""
    if boundary not in BOUNDARY_KINDS:
        raise ValueError(
            f"boundary: expected one of {list(BOUNDARY_KINDS)}, found {boundary!r}; "
            "e.g. --set boundary=dirichlet"
        )
    if boundary == "periodic":
        if boundary_value and grid.boundary == "periodic":
            raise ValueError(
                f"boundary_value: only used by non-periodic boundaries, found {boundary_value} "
                "with a periodic grid; add --set boundary=dirichlet (or neumann)"
            )
        if boundary_value:
            return dataclasses.replace(grid, boundary_value=float(boundary_value))
        return grid
    value = float(boundary_value) if boundary_value else grid.boundary_value
    return dataclasses.replace(grid, boundary=boundary, boundary_value=value)


def boundary_ic(
    grid: Grid,
    n_samples: int,
    *,
    key: jax.Array,
    amplitude: float = 1.0,
    max_mode: int = 4,
    n_terms: int = 5,
    channels: int = 1,
) -> jax.Array:
    """Random smooth fields ``(n_samples, *grid.shape, channels)`` obeying ``grid``'s boundary.

    Sum of ``n_terms`` separable modes with integer mode numbers ``1..max_mode`` per axis and
    amplitudes uniform in ``[-amplitude, amplitude]``: ``cos(2 pi m x / L + phase)`` (periodic),
    ``sin(pi m x / L)`` plus the face value (Dirichlet), ``cos(pi m x / L)`` plus
    ``g (x - L/2)^2 / L`` per axis (Neumann with outward derivative ``g``). Float64 under x64.
    """
    if max_mode < 1 or n_terms < 1 or 2 * max_mode >= min(grid.shape):
        raise ValueError(
            f"ic_max_mode/ic_terms: expected max_mode in 1..{(min(grid.shape) - 1) // 2} and "
            f"n_terms >= 1, found {max_mode}, {n_terms}"
        )
    return _boundary_ic(
        key, float(amplitude), grid, int(n_samples), int(max_mode), int(n_terms), int(channels)
    )


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def _boundary_ic(key, amplitude, grid, n_samples, max_mode, n_terms, channels):
    k_modes, k_amp, k_phase = jax.random.split(key, 3)
    shape = (n_samples, n_terms, channels)
    modes = jax.random.randint(k_modes, (*shape, grid.ndim), 1, max_mode + 1)
    amps = jax.random.uniform(k_amp, shape, minval=-amplitude, maxval=amplitude)
    phases = jax.random.uniform(k_phase, (*shape, grid.ndim), maxval=2 * np.pi)
    dtype = jnp.result_type(float)
    nd = grid.ndim
    # all terms at once: factors of shape (n, T, C, *spatial), one per axis, multiplied
    term = amps.astype(dtype).reshape(*shape, *(1,) * nd)
    for a, (x, length) in enumerate(zip(grid.coords(), grid.length)):
        xa = jnp.asarray(x, dtype).reshape([-1 if b == a else 1 for b in range(nd)])
        m = modes[..., a].astype(dtype).reshape(*shape, *(1,) * nd)
        if grid.boundary == "periodic":
            ph = phases[..., a].astype(dtype).reshape(m.shape)
            term = term * jnp.cos(2 * np.pi * m * xa / length + ph)
        elif grid.boundary == "dirichlet":
            term = term * jnp.sin(np.pi * m * xa / length)
        else:
            term = term * jnp.cos(np.pi * m * xa / length)
    out = jnp.moveaxis(term.sum(axis=1), 1, -1)  # (n, *spatial, C)
    coords = grid.mesh()
    g = grid.boundary_value
    if grid.boundary == "dirichlet":
        out = out + g
    elif grid.boundary == "neumann" and g:
        for x, length in zip(coords, grid.length):
            out = out + jnp.asarray(g * (x - length / 2) ** 2 / length, dtype)[None, ..., None]
    return out


def _common(schemes, default_scheme: str, default_integrator: str) -> dict[str, ParamSpec]:
    return {
        "scheme": ParamSpec(
            default_scheme, str, choices=tuple(schemes), description="spatial scheme"
        ),
        "integrator": ParamSpec(
            default_integrator, str, choices=tuple(INTEGRATORS), description="time integrator"
        ),
        "boundary": ParamSpec(
            "periodic", str, choices=BOUNDARY_KINDS, description="boundary condition kind"
        ),
        "boundary_value": ParamSpec(
            0.0, float, description="Dirichlet face value / Neumann outward normal derivative"
        ),
        "ic_amplitude": ParamSpec(1.0, float, positive=True, description="IC mode amplitude"),
        "ic_max_mode": ParamSpec(3, int, minimum=1, description="largest IC mode number"),
        "ic_terms": ParamSpec(4, int, minimum=1, description="number of IC modes"),
    }


def _ic(channels: int = 1):
    def make(
        grid, n_samples, *, key, boundary, boundary_value, ic_amplitude, ic_max_mode, ic_terms, **_
    ):
        g = effective_grid(grid, boundary, boundary_value)
        u = boundary_ic(
            g, n_samples, key=key, amplitude=ic_amplitude, max_mode=ic_max_mode, n_terms=ic_terms
        )
        if channels == 2:  # wave: start at rest
            u = jnp.concatenate([u, jnp.zeros_like(u)], axis=-1)
        return u

    return make


def _heat(grid, dt, *, nu, scheme, integrator, boundary, boundary_value, **_):
    g = effective_grid(grid, boundary, boundary_value)
    return FDHeat(g, dt, nu=nu, scheme=scheme, integrator=integrator)


def _advection(grid, dt, *, scheme, integrator, boundary, boundary_value, **p):
    g = effective_grid(grid, boundary, boundary_value)
    velocity = p["velocity"] if grid.ndim == 1 else (p["velocity_x"], p["velocity_y"])
    return FDAdvection(g, dt, velocity=velocity, scheme=scheme, integrator=integrator)


def _burgers(grid, dt, *, nu, scheme, limiter, integrator, boundary, boundary_value, **_):
    g = effective_grid(grid, boundary, boundary_value)
    return FDBurgers(g, dt, nu=nu, scheme=scheme, limiter=limiter, integrator=integrator)


def _wave(grid, dt, *, c, damping, scheme, integrator, boundary, boundary_value, **_):
    g = effective_grid(grid, boundary, boundary_value)
    return FDWave(g, dt, c=c, damping=damping, scheme=scheme, integrator=integrator)


_BC_TEXT = (
    "Boundary: --set boundary=periodic|dirichlet|neumann, --set boundary_value=g "
    "(ghost cells; cell-centred grid when non-periodic)."
)


def _register(name: str, **kwargs) -> None:
    if name not in EQUATIONS:  # importing twice (reloads) must not fail
        register_equation(
            EquationSpec(
                name=name, boundaries=BOUNDARY_KINDS, units=_units(*kwargs["channels"]), **kwargs
            )
        )


for _d, _n, _dt in ((1, 128, 1e-3), (2, 64, 1e-3)):
    _register(
        f"fd_heat{_d}d",
        description=(
            f"Heat equation in {_d}D by explicit finite differences: du/dt = nu Laplacian(u). "
            + _BC_TEXT
        ),
        ndim=_d,
        channels=("u",),
        params={
            "nu": ParamSpec(0.01, float, positive=True, description="diffusivity"),
            **_common(HEAT_SCHEMES, "central2", "rk4"),
        },
        default_grid=GridDefaults((_n,) * _d, (1.0,) * _d),
        default_dt=_dt,
        make_step=_heat,
        initial_condition=_ic(),
        solver="finite differences (central2/central4 Laplacian), explicit Runge-Kutta",
    )

_register(
    "fd_advection1d",
    description="Linear advection in 1D by finite differences: du/dt + a du/dx = 0. "
    + _BC_TEXT
    + " Non-periodic: the condition is imposed on the inflow face, the outflow extrapolates.",
    ndim=1,
    channels=("u",),
    params={
        "velocity": ParamSpec(1.0, float, description="advection velocity a"),
        **_common(ADVECTION_SCHEMES, "upwind3", "ssprk3"),
    },
    default_grid=GridDefaults((128,), (1.0,)),
    default_dt=2e-3,
    make_step=_advection,
    initial_condition=_ic(),
    solver="finite differences (upwind1/central2/upwind3/central4), explicit Runge-Kutta",
)

_register(
    "fd_advection2d",
    description="Linear advection in 2D by finite differences: du/dt + a . grad u = 0. "
    + _BC_TEXT
    + " Non-periodic: the condition is imposed on the inflow faces, the outflow extrapolates.",
    ndim=2,
    channels=("u",),
    params={
        "velocity_x": ParamSpec(1.0, float, description="velocity along x"),
        "velocity_y": ParamSpec(0.5, float, description="velocity along y"),
        **_common(ADVECTION_SCHEMES, "upwind3", "ssprk3"),
    },
    default_grid=GridDefaults((64, 64), (1.0, 1.0)),
    default_dt=2e-3,
    make_step=_advection,
    initial_condition=_ic(),
    solver="finite differences (upwind1/central2/upwind3/central4), explicit Runge-Kutta",
)

_register(
    "fd_burgers1d",
    description="Viscous Burgers equation in flux form by finite volumes: "
    "du/dt + d(u^2/2)/dx = nu d^2u/dx^2. " + _BC_TEXT,
    ndim=1,
    channels=("u",),
    params={
        "nu": ParamSpec(0.01, float, minimum=0.0, description="viscosity"),
        "limiter": ParamSpec("vanleer", str, choices=LIMITERS, description="MUSCL slope limiter"),
        **_common(BURGERS_SCHEMES, "muscl", "ssprk3"),
    },
    default_grid=GridDefaults((256,), (1.0,)),
    default_dt=2e-4,
    make_step=_burgers,
    initial_condition=_ic(),
    solver="finite volumes (Rusanov flux, MUSCL reconstruction), explicit Runge-Kutta",
)

for _d, _n in ((1, 128), (2, 64)):
    _register(
        f"fd_wave{_d}d",
        description=(
            f"Wave equation in {_d}D by finite differences, state (u, u_t): "
            "d2u/dt2 = c^2 Laplacian(u) - damping du/dt. " + _BC_TEXT
        ),
        ndim=_d,
        channels=("u", "u_t"),
        params={
            "c": ParamSpec(1.0, float, positive=True, description="wave speed"),
            "damping": ParamSpec(0.0, float, minimum=0.0, description="damping rate"),
            **_common(WAVE_SCHEMES, "central2", "rk4"),
        },
        default_grid=GridDefaults((_n,) * _d, (1.0,) * _d),
        default_dt=2e-3,
        make_step=_wave,
        initial_condition=_ic(channels=2),
        solver="finite differences (central2/central4 Laplacian), explicit Runge-Kutta",
    )
