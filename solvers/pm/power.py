"""Linear matter power spectrum: Eisenstein & Hu (1998) transfer function, sigma8 or A_s normalised.

Units: k in h/Mpc, P(k) in (Mpc/h)^3, float64 on the host.

Transfer function T(k) (EH98, ApJ 496, 605): ``wiggles=True`` is the full fitting formula with
baryon acoustic oscillations (eqs. 2-24), ``wiggles=False`` the zero-baryon "no-wiggle" shape
with the baryon suppression alpha_Gamma (eqs. 26-31). Normalisation:

* ``A_s`` (curvature amplitude at k_pivot = 0.05 /Mpc):
  k^3 P(k, a) / (2 pi^2) = (4/25) A_s (k/k_pivot)^(n_s - 1) T(k)^2 (k c/H0)^4 D1(a)^2 / Omega_m^2
  with D1 unnormalised (D1 -> a early), c/H0 = 2997.92458 Mpc/h;
* ``sigma8``: P = N k^n_s T(k)^2 D1(a)^2 (D1 normalised) with N such that the top-hat variance at
  R = 8 Mpc/h and a = 1 equals sigma8^2 for the same transfer function (with or without wiggles).

sigma(R)^2 = int dln k  k^3 P(k)/(2 pi^2) W(kR)^2,  W(x) = 3 (sin x - x cos x)/x^3, evaluated by
Simpson's rule on 4097 points in ln k over [1e-5, 1e3] h/Mpc (converged to 1e-7 relative).
"""

from __future__ import annotations

import numpy as np
from sciml.solvers.pm.background import Cosmology, growth_factor
from scipy.integrate import simpson

__all__ = ["C_OVER_H0", "linear_power", "sigma8", "sigma_r", "transfer_eh"]

C_OVER_H0 = 2997.92458  # Mpc/h
K_PIVOT = 0.05  # 1/Mpc
_LNK = np.linspace(np.log(1e-5), np.log(1e3), 4097)


def _check_k(k) -> np.ndarray:
    k = np.asarray(k, dtype=np.float64)
    if np.any(~np.isfinite(k)) or np.any(k < 0):
        bad = k[~np.isfinite(k) | (k < 0)].flat[0]
        raise ValueError(f"linear_power: k expected finite wavenumbers >= 0 in h/Mpc, found {bad}")
    return k


def transfer_eh(cosmo: Cosmology, k, *, wiggles: bool = True) -> np.ndarray:
    """Eisenstein & Hu (1998) matter transfer function T(k), k in h/Mpc, T(0) = 1 (float64)."""
    k = _check_k(k)
    h = cosmo.h
    kk = np.maximum(k, 1e-12) * h  # 1/Mpc
    omh2 = cosmo.Omega_m * h * h
    obh2 = cosmo.Omega_b * h * h
    fb = cosmo.Omega_b / cosmo.Omega_m
    fc = 1.0 - fb
    theta = cosmo.T_cmb / 2.7
    # sound horizon and equality (eqs. 2-6)
    z_eq = 2.50e4 * omh2 * theta**-4
    k_eq = 7.46e-2 * omh2 * theta**-2
    b1 = 0.313 * omh2**-0.419 * (1.0 + 0.607 * omh2**0.674)
    b2 = 0.238 * omh2**0.223
    z_d = 1291.0 * omh2**0.251 / (1.0 + 0.659 * omh2**0.828) * (1.0 + b1 * obh2**b2)
    if not wiggles:
        s = 44.5 * np.log(9.83 / omh2) / np.sqrt(1.0 + 10.0 * obh2**0.75)
        alpha_g = 1.0 - 0.328 * np.log(431.0 * omh2) * fb + 0.38 * np.log(22.3 * omh2) * fb**2
        gamma_eff = omh2 * (alpha_g + (1.0 - alpha_g) / (1.0 + (0.43 * kk * s) ** 4))
        q = kk * theta**2 / gamma_eff
        l0 = np.log(2.0 * np.e + 1.8 * q)
        c0 = 14.2 + 731.0 / (1.0 + 62.5 * q)
        return l0 / (l0 + c0 * q * q)

    def ratio_r(z):
        return 31.5 * obh2 * theta**-4 * (z / 1e3) ** -1

    r_d, r_eq = ratio_r(z_d), ratio_r(z_eq)
    s = (
        2.0
        / (3.0 * k_eq)
        * np.sqrt(6.0 / r_eq)
        * np.log((np.sqrt(1.0 + r_d) + np.sqrt(r_d + r_eq)) / (1.0 + np.sqrt(r_eq)))
    )
    k_silk = 1.6 * obh2**0.52 * omh2**0.73 * (1.0 + (10.4 * omh2) ** -0.95)
    q = kk / (13.41 * k_eq)
    # CDM (eqs. 9-12, 17-20)
    a1 = (46.9 * omh2) ** 0.670 * (1.0 + (32.1 * omh2) ** -0.532)
    a2 = (12.0 * omh2) ** 0.424 * (1.0 + (45.0 * omh2) ** -0.582)
    alpha_c = a1**-fb * a2 ** -(fb**3)
    bb1 = 0.944 / (1.0 + (458.0 * omh2) ** -0.708)
    bb2 = (0.395 * omh2) ** -0.0266
    beta_c = 1.0 / (1.0 + bb1 * (fc**bb2 - 1.0))

    def t0(alpha, beta):
        lg = np.log(np.e + 1.8 * beta * q)
        c = 14.2 / alpha + 386.0 / (1.0 + 69.9 * q**1.08)
        return lg / (lg + c * q * q)

    f = 1.0 / (1.0 + (kk * s / 5.4) ** 4)
    t_c = f * t0(1.0, beta_c) + (1.0 - f) * t0(alpha_c, beta_c)
    # baryons (eqs. 13-16, 21-24)
    y = (1.0 + z_eq) / (1.0 + z_d)
    sq = np.sqrt(1.0 + y)
    g = y * (-6.0 * sq + (2.0 + 3.0 * y) * np.log((sq + 1.0) / (sq - 1.0)))
    alpha_b = 2.07 * k_eq * s * (1.0 + r_d) ** -0.75 * g
    beta_node = 8.41 * omh2**0.435
    beta_b = 0.5 + fb + (3.0 - 2.0 * fb) * np.sqrt((17.2 * omh2) ** 2 + 1.0)
    ks = kk * s
    s_tilde = s / np.cbrt(1.0 + (beta_node / ks) ** 3)
    t_b = (
        t0(1.0, 1.0) / (1.0 + (ks / 5.2) ** 2)
        + alpha_b / (1.0 + (beta_b / ks) ** 3) * np.exp(-((kk / k_silk) ** 1.4))
    ) * np.sinc(kk * s_tilde / np.pi)
    return fb * t_b + fc * t_c


def _tophat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    w = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3
    return np.where(small, 1.0 - x * x / 10.0, w)


def _power_a_s(cosmo: Cosmology, k: np.ndarray, wiggles: bool) -> np.ndarray:
    """A_s-normalised P(k) at a = 1 (the unnormalised D1(1) included)."""
    t = transfer_eh(cosmo, k, wiggles=wiggles)
    d1 = growth_factor(cosmo, 1.0, normalized=False)
    kk = np.maximum(k, 1e-30)
    delta2 = (
        4.0
        / 25.0
        * cosmo.A_s
        * (kk * cosmo.h / K_PIVOT) ** (cosmo.n_s - 1.0)
        * t**2
        * (kk * C_OVER_H0) ** 4
        * d1**2
        / cosmo.Omega_m**2
    )
    return np.where(k > 0, 2.0 * np.pi**2 * delta2 / kk**3, 0.0)


def _sigma_r_of(power, r: float) -> float:
    k = np.exp(_LNK)
    integrand = k**3 * power(k) / (2.0 * np.pi**2) * _tophat(k * r) ** 2
    return float(np.sqrt(simpson(integrand, x=_LNK)))


def _unit_shape(cosmo: Cosmology, k: np.ndarray, wiggles: bool) -> np.ndarray:
    return (
        np.asarray(k, dtype=np.float64) ** cosmo.n_s * transfer_eh(cosmo, k, wiggles=wiggles) ** 2
    )


def linear_power(cosmo: Cosmology, k, *, wiggles: bool = True, a: float = 1.0) -> np.ndarray:
    """Linear matter power P(k, a) in (Mpc/h)^3 at k in h/Mpc (float64; P(0) = 0).

    Normalised by ``cosmo.sigma8`` or ``cosmo.A_s`` (see the module docstring) and scaled to
    scale factor ``a`` by the normalised D1(a)^2.
    """
    k = _check_k(k)
    growth = float(growth_factor(cosmo, a)) ** 2
    if cosmo.A_s is not None:
        return _power_a_s(cosmo, k, wiggles) * growth
    norm = cosmo.sigma8**2 / _sigma_r_of(lambda q: _unit_shape(cosmo, q, wiggles), 8.0) ** 2
    return norm * _unit_shape(cosmo, k, wiggles) * growth


def sigma_r(cosmo: Cosmology, r: float, *, wiggles: bool = True, a: float = 1.0) -> float:
    """rms linear density contrast in top-hat spheres of radius ``r`` Mpc/h at ``a``."""
    return _sigma_r_of(lambda q: linear_power(cosmo, q, wiggles=wiggles, a=a), float(r))


def sigma8(cosmo: Cosmology, *, wiggles: bool = True) -> float:
    """sigma8 at a = 1 of ``linear_power(cosmo)`` (equals ``cosmo.sigma8`` when that is set)."""
    return sigma_r(cosmo, 8.0, wiggles=wiggles)
