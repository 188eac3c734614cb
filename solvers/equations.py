"""The built-in periodic pseudo-spectral equations of the registry (``sciml simulate NAME``).

Importing this module registers: heat1d/2d/3d, ks1d, ks2d (and the other spectral equations
as their solvers exist). Every quantity is nondimensional (units "1").
"""

from __future__ import annotations

import numpy as np
from sciml.solvers.heat import Heat
from sciml.solvers.ic_random import gaussian_random_field, random_fourier_series
from sciml.solvers.ks import KuramotoSivashinsky, KuramotoSivashinsky2D
from sciml.solvers.registry import EquationSpec, GridDefaults, ParamSpec, register_equation

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
