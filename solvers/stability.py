"""Linear (von Neumann) stability limits of explicit method-of-lines schemes.

A finite-difference scheme turns a PDE into the system ``du/dt = L u`` (or a linearisation of
it). On a periodic grid the eigenvalues of ``L`` are its Fourier symbol ``lambda(theta)`` sampled
at the grid wavenumbers ``theta = k dx`` in ``[-pi, pi]``. One step of an explicit Runge-Kutta
integrator multiplies each Fourier mode by ``R(dt lambda)``, where for ``euler``, ``rk2``,
``ssprk3`` and ``rk4`` the stability function is the Taylor polynomial
``R(w) = sum_{k=0}^{p} w^k / k!`` (``p`` = number of stages). The step is stable when
``|R(dt lambda)| <= 1`` for every eigenvalue; :func:`max_stable_dt` returns the largest such
``dt``.

Reference values (first exit of the stability region along a ray; ``stability_radius``):

==========  ==================  ===================
integrator  negative real axis  imaginary axis
==========  ==================  ===================
euler       2                   0 (unstable)
rk2         2                   0 (unstable)
ssprk3      2.5127              1.7321 (= sqrt 3)
rk4         2.7853              2.8284 (= 2 sqrt 2)
==========  ==================  ===================

So e.g. the heat equation with the second-order Laplacian (``max|lambda| = 4 nu / dx^2``) needs
``dt <= 0.5 dx^2 / nu`` with euler, and centred advection (eigenvalues on the imaginary axis,
``max|lambda| = |a| / dx``) needs ``ssprk3`` or ``rk4`` and ``dt <= 2.83 dx / |a|`` with rk4.
For non-periodic grids the periodic symbol is the usual (and here the applied) estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sciml.solvers.integrators import INTEGRATORS, STAGES

_TOL = 1e-10  # allowed growth |R| - 1 (round-off at the boundary of the stability region)
_RHO_MAX = 6.0  # every region above lies inside |w| < 6
_UNSTABLE_BELOW = 1e-2  # a limiting Courant number below this means "unstable for every dt"


def amplification_factor(integrator: str, w: np.ndarray | complex) -> np.ndarray:
    """Stability function ``R(w) = sum_{k<=p} w^k / k!`` of ``integrator`` at ``w = dt lambda``."""
    if integrator not in INTEGRATORS:
        raise ValueError(
            f"integrator: expected one of {list(INTEGRATORS)}, found {integrator!r}; "
            "e.g. integrator='rk4'"
        )
    w = np.asarray(w, dtype=np.complex128)
    out = np.zeros_like(w)
    for k in range(STAGES[integrator], -1, -1):  # Horner
        out = out * w + 1.0 / math.factorial(k)
    return out


def stability_radius(integrator: str, phi: np.ndarray | float) -> np.ndarray:
    """First exit ``rho(phi)`` of ``{|R(w)| <= 1}`` along the ray ``w = rho exp(i phi)``.

    ``phi`` is the direction in radians (``pi``: negative real axis, ``pi/2``: imaginary axis).
    Returns an array like ``phi`` (0 where the method is unstable for every small step).
    """
    phi = np.atleast_1d(np.asarray(phi, dtype=np.float64))
    direction = np.exp(1j * phi)[:, None]
    rho = np.linspace(0.0, _RHO_MAX, 301)[None, 1:]
    unstable = np.abs(amplification_factor(integrator, rho * direction)) > 1.0 + _TOL
    first = np.where(unstable.any(axis=1), unstable.argmax(axis=1), rho.shape[1])
    step = rho[0, 0]
    lo = first * step  # stable (or the origin)
    hi = lo + step
    for _ in range(32):  # bisection inside the bracket
        mid = 0.5 * (lo + hi)
        bad = np.abs(amplification_factor(integrator, mid * direction[:, 0])) > 1.0 + _TOL
        hi = np.where(bad, mid, hi)
        lo = np.where(bad, lo, mid)
    return np.where(first == rho.shape[1], _RHO_MAX, lo)


def max_stable_dt(eigenvalues: np.ndarray, integrator: str) -> float:
    """Largest ``dt`` with ``|R(dt lambda)| <= 1`` for all given eigenvalues (``inf`` if all 0).

    ``eigenvalues`` is any array of complex eigenvalues of the semi-discrete operator (units
    1/time), e.g. from :func:`symbol` on a grid of ``theta``.
    """
    lam = np.asarray(eigenvalues, dtype=np.complex128).ravel()
    lam = lam[np.abs(lam) > 1e-12 * max(np.abs(lam).max(initial=0.0), 1e-300)]
    if lam.size == 0:
        return math.inf
    rho = stability_radius(integrator, np.angle(lam))
    return float(np.min(rho / np.abs(lam)))


def symbol(offsets: Sequence[int], coeffs: Sequence[float], theta: np.ndarray) -> np.ndarray:
    """Fourier symbol ``sum_k c_k exp(i k theta)`` of the stencil ``sum_k c_k u_{j+k}``."""
    theta = np.asarray(theta, dtype=np.float64)
    return sum(c * np.exp(1j * k * theta) for k, c in zip(offsets, coeffs))


def theta_grid(ndim: int) -> list[np.ndarray]:
    """Sampled phase angles ``theta = k dx`` per axis, broadcastable against each other."""
    n = {1: 1024, 2: 64, 3: 24}[ndim]
    base = np.linspace(-np.pi, np.pi, n + 1)
    return [base.reshape([-1 if a == i else 1 for a in range(ndim)]) for i in range(ndim)]


def raise_if_unstable(
    dt: float,
    limit: float,
    scale: float,
    *,
    name: str,
    integrator: str,
    scale_text: str,
    hint: str = "",
) -> None:
    """Raise a one-line ``ValueError`` if ``dt`` exceeds the stable ``limit``.

    Args:
      dt: the requested time step.
      limit: the maximum stable time step (from :func:`max_stable_dt`).
      scale: the problem's time scale, e.g. ``dx^2 / nu``; the message states the limit as
        ``C * scale_text`` with ``C = limit / scale``.
      name: the solver and scheme, e.g. ``"fd_heat1d (central2 + euler)"``.
      integrator: integrator name (named in the message).
      scale_text: ``scale`` written in the problem's parameters, e.g. ``"dx^2/nu"``.
      hint: extra advice appended to the message.

    A limit below ``0.01 * scale`` is reported as unstable for every ``dt``: it only comes from
    the round-off tolerance around eigenvalues on the imaginary axis.
    """
    if not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt: expected a finite value > 0, found {dt}")
    if limit < _UNSTABLE_BELOW * scale:
        raise ValueError(
            f"dt: {name} is unstable for every dt > 0 (its eigenvalues reach the imaginary "
            f"axis, where {integrator} amplifies every mode); use integrator='ssprk3' or 'rk4'"
            f"{hint}"
        )
    if dt <= limit * (1.0 + 1e-9):
        return
    c = limit / scale
    raise ValueError(
        f"dt: {dt:.6g} is above the stable limit of {name}: dt <= {c:.4g} * {scale_text} = "
        f"{limit:.6g}; use dt <= {limit:.6g}{hint}"
    )
