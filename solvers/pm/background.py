"""Flat LCDM background and linear growth: E(a), D1, f1, D2, f2 (host NumPy, float64).

Units: H0 = 1, lengths in Mpc/h. The background is radiation-free flat LCDM,

    E(a)^2 = Omega_m a^-3 + Omega_L,   Omega_L = 1 - Omega_m,   Omega_m(a) = Omega_m / (a^3 E^2).

Growth (' = d/d ln a, H'/H = -1.5 Omega_m(a)):

    D1'' + (2 + H'/H) D1' - 1.5 Omega_m(a) D1 = 0
    D2'' + (2 + H'/H) D2' - 1.5 Omega_m(a) D2 = +1.5 Omega_m(a) D1^2

Sign convention (pmwd's): D2 -> +3/7 D1^2 at early times, and the 2LPT position is
x = q + D1 s1 + D2 s2 with s1 = -grad phi1, s2 = -grad phi2 (see ``lpt.py``). fastpm-python's
D2 is the negative of this one (with s2 of opposite sign, the same positions).

The ODEs are integrated once per Omega_m with scipy's ``solve_ivp`` (DOP853, rtol 1e-11) from
a = 1e-5 (matter domination: D1 = a, D2 = 3/7 a^2) to a = 10, and the dense output is
evaluated at the requested a. Normalised factors divide by D1(1) (D2 by D1(1)^2, so that
D2/D1^2 does not depend on the normalisation). These functions run on the host in float64 and
return NumPy arrays; the jitted particle code only receives numbers computed from them.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import hyp2f1

__all__ = [
    "A_MAX",
    "A_MIN",
    "Cosmology",
    "E",
    "Omega_m_a",
    "check_scale_factor",
    "dlnE_dlna",
    "growth_factor",
    "growth_hypergeometric",
    "growth_rate",
]

A_MIN = 1e-5
A_MAX = 10.0


@dataclasses.dataclass(frozen=True)
class Cosmology:
    """Flat LCDM parameters (hashable; compare and cache by value).

    Args:
      Omega_m: total matter density today (CDM + baryons), 0 < Omega_m <= 1.
      Omega_b: baryon density today, 0 <= Omega_b < Omega_m (enters the transfer function only).
      h: H0 / (100 km/s/Mpc).
      n_s: primordial spectral index.
      sigma8: rms linear density in 8 Mpc/h top-hat spheres at a = 1; or
      A_s: primordial curvature amplitude at k_pivot = 0.05 /Mpc. Give exactly one of the two
        (the default is D3M's fiducial A_s = 2.142e-9 when neither is given).
      T_cmb: CMB temperature in K (enters the transfer function).

    The defaults are the D3M fiducial cosmology (Planck 2015-like).
    """

    Omega_m: float = 0.3089
    Omega_b: float = 0.0486
    h: float = 0.6774
    n_s: float = 0.9667
    sigma8: float | None = None
    A_s: float | None = None
    T_cmb: float = 2.7255

    def __post_init__(self) -> None:
        if self.sigma8 is None and self.A_s is None:
            object.__setattr__(self, "A_s", 2.142e-9)
        if self.sigma8 is not None and self.A_s is not None:
            raise ValueError(
                f"Cosmology: expected one of sigma8 or A_s, found both (sigma8={self.sigma8}, "
                f"A_s={self.A_s}); pass only one normalisation"
            )
        for name, low, high in (
            ("Omega_m", 0.0, 1.0),
            ("Omega_b", 0.0, 1.0),
            ("h", 0.0, 10.0),
            ("n_s", 0.0, 3.0),
            ("T_cmb", 0.0, 100.0),
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not (
                math.isfinite(value) and low <= value <= high
            ):
                raise ValueError(
                    f"Cosmology: {name} expected a number in [{low}, {high}], found {value!r}; "
                    f"e.g. {name}={getattr(Cosmology, name)}"
                )
        if not self.Omega_m > 0:
            raise ValueError(
                f"Cosmology: Omega_m expected > 0, found {self.Omega_m}; e.g. Omega_m=0.3089"
            )
        if not self.Omega_b < self.Omega_m:
            raise ValueError(
                f"Cosmology: Omega_b expected < Omega_m = {self.Omega_m}, found {self.Omega_b}; "
                "Omega_m is the total matter density including baryons"
            )
        for name in ("sigma8", "A_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"Cosmology: {name} expected a number > 0, found {value!r}; "
                    "e.g. sigma8=0.8159 or A_s=2.142e-9"
                )

    @property
    def Omega_L(self) -> float:
        return 1.0 - self.Omega_m

    def replace(self, **changes) -> Cosmology:
        """A copy with some fields changed; setting sigma8 clears A_s and vice versa."""
        if "sigma8" in changes and "A_s" not in changes:
            changes["A_s"] = None
        if "A_s" in changes and "sigma8" not in changes:
            changes["sigma8"] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float | None]:
        return dataclasses.asdict(self)


def check_scale_factor(a, name: str = "a") -> np.ndarray:
    """``a`` as a float64 array, or a one-line ``ValueError`` unless A_MIN <= a <= A_MAX."""
    arr = np.asarray(a, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr < A_MIN) | (arr > A_MAX)
    if bad.any():
        value = arr[bad].flat[0]
        raise ValueError(
            f"{name}: expected scale factors a = 1/(1+z) in [{A_MIN:g}, {A_MAX:g}], found {value:g}; "
            "a = 0 is the Big Bang (start simulations at a >= 0.01, e.g. a = 0.1 for z = 9)"
        )
    return arr


def E(cosmo: Cosmology, a) -> np.ndarray:
    """Dimensionless Hubble rate E(a) = H(a)/H0 = sqrt(Omega_m a^-3 + Omega_L) (float64)."""
    a = check_scale_factor(a)
    return np.sqrt(cosmo.Omega_m * a**-3 + cosmo.Omega_L)


def Omega_m_a(cosmo: Cosmology, a) -> np.ndarray:
    """Matter density parameter at a: Omega_m / (a^3 E(a)^2)."""
    a = check_scale_factor(a)
    return cosmo.Omega_m / (cosmo.Omega_m + cosmo.Omega_L * a**3)


def dlnE_dlna(cosmo: Cosmology, a) -> np.ndarray:
    """d ln E / d ln a = -1.5 Omega_m(a) (flat LCDM without radiation)."""
    return -1.5 * Omega_m_a(cosmo, a)


@functools.lru_cache(maxsize=64)
def _growth_solution(omega_m: float):
    """Dense solution y(ln a) = [D1, D1', D2, D2'] (unnormalised, D1 -> a early) for Omega_m."""
    omega_l = 1.0 - omega_m

    def rhs(lna, y):
        a3 = math.exp(3.0 * lna)
        om = omega_m / (omega_m + omega_l * a3)
        d1, d1p, d2, d2p = y
        damp = 2.0 - 1.5 * om
        return [
            d1p,
            -damp * d1p + 1.5 * om * d1,
            d2p,
            -damp * d2p + 1.5 * om * d2 + 1.5 * om * d1 * d1,
        ]

    a0 = A_MIN
    # matter-dominated start with the first correction ignored (Omega_L a^3 ~ 1e-15 here)
    y0 = [a0, a0, 3.0 / 7.0 * a0**2, 6.0 / 7.0 * a0**2]
    sol = solve_ivp(
        rhs,
        (math.log(A_MIN), math.log(A_MAX)),
        y0,
        method="DOP853",
        rtol=1e-11,
        atol=1e-14,
        dense_output=True,
    )
    if not sol.success:  # pragma: no cover - scipy failure
        raise RuntimeError(f"growth ODE failed for Omega_m={omega_m}: {sol.message}")
    return sol.sol


def _growth_state(cosmo: Cosmology, a) -> np.ndarray:
    a = check_scale_factor(a)
    y = _growth_solution(float(cosmo.Omega_m))(np.log(a).ravel())
    return y.reshape((4, *a.shape))


def growth_factor(cosmo: Cosmology, a, *, order: int = 1, normalized: bool = True) -> np.ndarray:
    """Linear growth D1(a) (``order=1``) or second-order growth D2(a) (``order=2``), float64.

    ``normalized=True``: D1(1) = 1 and D2 divided by D1(1)^2 (D2/D1^2 unchanged, ~ +3/7);
    ``normalized=False``: D1 -> a and D2 -> 3/7 a^2 at early times. Sign: D2 > 0 (pmwd).
    """
    if order not in (1, 2):
        raise ValueError(f"growth_factor: order expected 1 or 2, found {order!r}")
    y = _growth_state(cosmo, a)
    d = y[0] if order == 1 else y[2]
    if normalized:
        d1_today = _growth_solution(float(cosmo.Omega_m))(0.0)[0]
        d = d / d1_today**order
    return d


def growth_rate(cosmo: Cosmology, a, *, order: int = 1) -> np.ndarray:
    """Growth rate f = d ln D / d ln a of D1 (``order=1``) or D2 (``order=2``), float64."""
    if order not in (1, 2):
        raise ValueError(f"growth_rate: order expected 1 or 2, found {order!r}")
    y = _growth_state(cosmo, a)
    return y[1] / y[0] if order == 1 else y[3] / y[2]


def growth_derivative(cosmo: Cosmology, a) -> np.ndarray:
    """dD1/da of the normalised D1 (float64): f1 D1 / a."""
    return growth_rate(cosmo, a) * growth_factor(cosmo, a) / check_scale_factor(a)


def growth_hypergeometric(cosmo: Cosmology, a) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form D1 (unnormalised, D1 -> a early) and f1 for flat LCDM (float64).

    With x = Omega_L a^3 / Omega_m: D1 = a 2F1(1, 1/3; 11/6; -x) and
    f1 = 1 - (6/11) x 2F1(2, 4/3; 17/6; -x) / 2F1(1, 1/3; 11/6; -x). Used to test the ODE.
    """
    a = check_scale_factor(a)
    x = cosmo.Omega_L * a**3 / cosmo.Omega_m
    h1 = hyp2f1(1.0, 1.0 / 3.0, 11.0 / 6.0, -x)
    d = a * h1
    f = 1.0 - 6.0 / 11.0 * x * hyp2f1(2.0, 4.0 / 3.0, 17.0 / 6.0, -x) / h1
    return d, f
