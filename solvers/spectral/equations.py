"""The built-in periodic pseudo-spectral equations of the registry (``sciml simulate NAME``).

Importing this module registers: heat1d/2d/3d, advection1d/2d/3d, burgers1d, kdv1d, ks1d, ks2d,
ns2d_decaying, ns2d_kolmogorov and gray_scott2d. Every quantity is nondimensional (units "1").
"""

from __future__ import annotations

import numpy as np
from sciml.solvers.ic.random import gaussian_random_field, random_fourier_series
from sciml.solvers.ic.standard import gray_scott_spots
from sciml.solvers.registry import EquationSpec, GridDefaults, ParamSpec, register_equation
from sciml.solvers.spectral.advection import Advection
from sciml.solvers.spectral.burgers import Burgers
from sciml.solvers.spectral.gray_scott import GrayScott
from sciml.solvers.spectral.heat import Heat
from sciml.solvers.spectral.kdv import KdV
from sciml.solvers.spectral.ks import KuramotoSivashinsky, KuramotoSivashinsky2D
from sciml.solvers.spectral.navier_stokes import NavierStokes2D

ND = "1 (nondimensional)"
ETDRK4 = "pseudo-spectral Fourier (2/3 de-aliasing), ETDRK4 (Kassam-Trefethen contour coefficients)"
EXACT = "pseudo-spectral Fourier, exact exponential time stepping"


def _units(*fields: str) -> dict[str, str]:
    return {**{f: ND for f in fields}, "x": ND, "t": ND}


def _ic_params(amplitude: float = 1.0, max_mode: int = 4, n_terms: int = 5) -> dict:
    return {
        "ic_amplitude": ParamSpec(amplitude, float, positive=True, description="IC amplitude"),
        "ic_max_mode": ParamSpec(
            max_mode, int, minimum=1, description="largest IC Fourier mode (integer)"
        ),
        "ic_terms": ParamSpec(n_terms, int, minimum=1, description="number of IC Fourier terms"),
    }


def _fourier_ic(grid, n_samples, *, key, ic_amplitude, ic_max_mode, ic_terms, **_):
    return random_fourier_series(
        grid,
        n_samples,
        key=key,
        n_terms=ic_terms,
        max_mode=ic_max_mode,
        amplitude=ic_amplitude,
    )


# -- heat -----------------------------------------------------------------------------------


def _heat_step(grid, dt, *, nu, **_):
    return Heat(grid, dt, nu=nu)


def _heat_ic(grid, n_samples, *, key, ic_amplitude, ic_exponent, **_):
    return gaussian_random_field(
        grid, n_samples, key=key, amplitude=ic_amplitude, exponent=ic_exponent
    )


for _d, _n in ((1, 256), (2, 64), (3, 32)):
    register_equation(
        EquationSpec(
            name=f"heat{_d}d",
            description=(
                f"Heat / diffusion equation in {_d}D on a periodic box: du/dt = nu Laplacian(u). "
                "Initial condition: Gaussian random field with spectrum (|k|^2 + k0^2)^(-ic_exponent/2)."
            ),
            ndim=_d,
            channels=("u",),
            units=_units("u"),
            params={
                "nu": ParamSpec(0.01, float, minimum=0.0, description="diffusivity"),
                "ic_amplitude": ParamSpec(1.0, float, positive=True, description="IC std"),
                "ic_exponent": ParamSpec(4.0, float, minimum=0.0, description="IC spectral slope"),
            },
            default_grid=GridDefaults((_n,) * _d, (1.0,) * _d),
            default_dt=0.01,
            make_step=_heat_step,
            initial_condition=_heat_ic,
            solver=EXACT,
        )
    )


# -- Kuramoto-Sivashinsky -------------------------------------------------------------------


register_equation(
    EquationSpec(
        name="ks1d",
        description=(
            "Kuramoto-Sivashinsky equation (1D, conservative form) on a periodic domain: "
            "du/dt + u du/dx + d2u/dx2 + d4u/dx4 = 0; chaotic for domain length L > ~22. "
            "Initial condition: random Fourier series (modes up to ic_max_mode)."
        ),
        ndim=1,
        channels=("u",),
        units=_units("u"),
        params=_ic_params(amplitude=1.0, max_mode=8),
        default_grid=GridDefaults((256,), (64.0,)),
        default_dt=0.25,
        make_step=lambda grid, dt, **_: KuramotoSivashinsky(grid, dt),
        initial_condition=_fourier_ic,
        solver=ETDRK4,
    )
)

register_equation(
    EquationSpec(
        name="ks2d",
        description=(
            "Kuramoto-Sivashinsky equation (2D, potential form) on a periodic box: "
            "du/dt + |grad u|^2 / 2 + Laplacian(u) + Laplacian^2(u) = 0 (mean of the "
            "nonlinear term removed). Initial condition: random Fourier series."
        ),
        ndim=2,
        channels=("u",),
        units=_units("u"),
        params=_ic_params(amplitude=0.5, max_mode=4),
        default_grid=GridDefaults((64, 64), (10 * np.pi, 10 * np.pi)),
        default_dt=0.1,
        make_step=lambda grid, dt, **_: KuramotoSivashinsky2D(grid, dt),
        initial_condition=_fourier_ic,
        solver=ETDRK4,
    )
)


# -- advection ------------------------------------------------------------------------------

_VELOCITY_NAMES = ("cx", "cy", "cz")


def _advection_step(grid, dt, *, nu, **params):
    velocity = tuple(params[name] for name in _VELOCITY_NAMES[: grid.ndim])
    return Advection(grid, dt, velocity=velocity, nu=nu)


for _d, _n in ((1, 256), (2, 64), (3, 32)):
    _velocity = {
        name: ParamSpec(value, float, description=f"velocity along axis {axis}")
        for axis, (name, value) in enumerate(zip(_VELOCITY_NAMES[:_d], (1.0, 0.5, 0.25)))
    }
    register_equation(
        EquationSpec(
            name=f"advection{_d}d",
            description=(
                f"Linear advection(-diffusion) in {_d}D on a periodic box: "
                "du/dt + c . grad(u) = nu Laplacian(u), c = ("
                + ", ".join(_VELOCITY_NAMES[:_d])
                + "). Initial condition: random Fourier series."
            ),
            ndim=_d,
            channels=("u",),
            units=_units("u"),
            params={
                **_velocity,
                "nu": ParamSpec(0.0, float, minimum=0.0, description="diffusivity"),
                **_ic_params(amplitude=1.0, max_mode=3),
            },
            default_grid=GridDefaults((_n,) * _d, (1.0,) * _d),
            default_dt=0.01,
            make_step=_advection_step,
            initial_condition=_fourier_ic,
            solver=EXACT,
        )
    )


# -- Burgers, KdV ---------------------------------------------------------------------------

register_equation(
    EquationSpec(
        name="burgers1d",
        description=(
            "Viscous Burgers equation (1D, conservative form) on a periodic interval: "
            "du/dt + d(u^2/2)/dx = nu d2u/dx2. Initial condition: random Fourier series."
        ),
        ndim=1,
        channels=("u",),
        units=_units("u"),
        params={
            "nu": ParamSpec(0.05, float, positive=True, description="viscosity"),
            **_ic_params(amplitude=1.0, max_mode=3),
        },
        default_grid=GridDefaults((256,), (2 * np.pi,)),
        default_dt=0.01,
        make_step=lambda grid, dt, *, nu, **_: Burgers(grid, dt, nu=nu),
        initial_condition=_fourier_ic,
        solver=ETDRK4,
    )
)

register_equation(
    EquationSpec(
        name="kdv1d",
        description=(
            "Korteweg-de Vries equation on a periodic interval: "
            "du/dt + alpha u du/dx + beta d3u/dx3 = nu d2u/dx2 (classic: alpha=6, beta=1, nu=0). "
            "Initial condition: random Fourier series."
        ),
        ndim=1,
        channels=("u",),
        units=_units("u"),
        params={
            "alpha": ParamSpec(6.0, float, description="nonlinear coefficient"),
            "beta": ParamSpec(1.0, float, positive=True, description="dispersion coefficient"),
            "nu": ParamSpec(0.0, float, minimum=0.0, description="viscosity"),
            **_ic_params(amplitude=0.5, max_mode=3),
        },
        default_grid=GridDefaults((256,), (64.0,)),
        default_dt=0.01,
        make_step=lambda grid, dt, *, alpha, beta, nu, **_: KdV(
            grid, dt, alpha=alpha, beta=beta, nu=nu
        ),
        initial_condition=_fourier_ic,
        solver=ETDRK4,
    )
)


# -- Navier-Stokes --------------------------------------------------------------------------


def _ns_step(grid, dt, *, nu, drag, forcing_wavenumber, forcing_amplitude, **_):
    return NavierStokes2D(
        grid,
        dt,
        nu=nu,
        drag=drag,
        forcing_wavenumber=forcing_wavenumber,
        forcing_amplitude=forcing_amplitude,
    )


def _ns_ic(grid, n_samples, *, key, ic_amplitude, ic_peak, **_):
    k0 = 2 * np.pi * ic_peak / min(grid.length)
    return gaussian_random_field(
        grid,
        n_samples,
        key=key,
        spectrum=lambda k: k**4 * np.exp(-2 * (k / k0) ** 2),
        amplitude=ic_amplitude,
    )


def _ns_params(nu, drag, amplitude, ic_amplitude) -> dict:
    return {
        "nu": ParamSpec(nu, float, minimum=0.0, description="kinematic viscosity"),
        "drag": ParamSpec(drag, float, minimum=0.0, description="linear drag rate"),
        "forcing_wavenumber": ParamSpec(
            4, int, minimum=1, description="Kolmogorov forcing mode n (k_f = 2 pi n / L_y)"
        ),
        "forcing_amplitude": ParamSpec(
            amplitude, float, minimum=0.0, description="forcing amplitude A (force A sin(k_f y))"
        ),
        "ic_amplitude": ParamSpec(
            ic_amplitude, float, positive=True, description="IC vorticity std"
        ),
        "ic_peak": ParamSpec(4.0, float, positive=True, description="IC spectral peak (mode)"),
    }


_NS = (
    "2D incompressible Navier-Stokes in vorticity form on a periodic box: "
    "d(omega)/dt + u . grad(omega) = nu Laplacian(omega) - drag omega - A k_f cos(k_f y), "
    "u = (d psi/dy, -d psi/dx), Laplacian(psi) = -omega."
)

register_equation(
    EquationSpec(
        name="ns2d_decaying",
        description=_NS + " Decaying turbulence (A = 0, drag = 0) from a random vorticity field "
        "with energy peaked at mode ic_peak.",
        ndim=2,
        channels=("omega",),
        units=_units("omega"),
        params=_ns_params(nu=1e-3, drag=0.0, amplitude=0.0, ic_amplitude=5.0),
        default_grid=GridDefaults((128, 128), (2 * np.pi, 2 * np.pi)),
        default_dt=0.005,
        make_step=_ns_step,
        initial_condition=_ns_ic,
        solver=ETDRK4,
    )
)

register_equation(
    EquationSpec(
        name="ns2d_kolmogorov",
        description=_NS
        + " Kolmogorov flow: forcing A sin(4 y) (A = 1), drag 0.1, Re = 1/nu = 1000 "
        "(the jax-cfd benchmark), from a random vorticity field.",
        ndim=2,
        channels=("omega",),
        units=_units("omega"),
        params=_ns_params(nu=1e-3, drag=0.1, amplitude=1.0, ic_amplitude=2.0),
        default_grid=GridDefaults((128, 128), (2 * np.pi, 2 * np.pi)),
        default_dt=0.005,
        make_step=_ns_step,
        initial_condition=_ns_ic,
        solver=ETDRK4,
    )
)


# -- Gray-Scott -----------------------------------------------------------------------------


def _gray_scott_step(grid, dt, *, feed, kill, diffusivity_u, diffusivity_v, **_):
    return GrayScott(
        grid,
        dt,
        feed=feed,
        kill=kill,
        diffusivity_u=diffusivity_u,
        diffusivity_v=diffusivity_v,
    )


def _gray_scott_ic(grid, n_samples, *, key, ic_spots, ic_noise, **_):
    return gray_scott_spots(grid, n_samples, key=key, n_spots=ic_spots, noise=ic_noise)


register_equation(
    EquationSpec(
        name="gray_scott2d",
        description=(
            "Gray-Scott reaction-diffusion in 2D on a periodic box: "
            "du/dt = Du Laplacian(u) - u v^2 + F (1 - u), "
            "dv/dt = Dv Laplacian(v) + u v^2 - (F + k) v (Pearson 1993; defaults: self-replicating "
            "spots). Initial condition: u = 1, v = 0 with random discs of (u, v) = (0.5, 0.25)."
        ),
        ndim=2,
        channels=("u", "v"),
        units=_units("u", "v"),
        params={
            "feed": ParamSpec(0.03, float, minimum=0.0, description="feed rate F"),
            "kill": ParamSpec(0.062, float, minimum=0.0, description="kill rate k"),
            "diffusivity_u": ParamSpec(2e-5, float, minimum=0.0, description="Du"),
            "diffusivity_v": ParamSpec(1e-5, float, minimum=0.0, description="Dv"),
            "ic_spots": ParamSpec(6, int, minimum=1, description="number of seed spots"),
            "ic_noise": ParamSpec(0.01, float, minimum=0.0, description="IC noise amplitude"),
        },
        default_grid=GridDefaults((128, 128), (2.5, 2.5)),
        default_dt=1.0,
        make_step=_gray_scott_step,
        initial_condition=_gray_scott_ic,
        solver=ETDRK4,
    )
)
