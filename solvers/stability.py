"""Linear (von Neumann) stability limits of explicit method-of-lines schemes.

A finite-difference scheme turns a PDE into the system ``du/dt = L u`` (or a linearisation of
it). On a periodic grid the eigenvalues of ``L`` are its Fourier symbol ``lambda(theta)`` sampled
at the grid wavenumbers ``theta = k dx`` in ``[-pi, pi]``. One step of an explicit Runge-Kutta
integrator multiplies each Fourier mode by ``R(dt lambda)``, where for ``euler``, ``rk2``,
``ssprk3`` and ``rk4`` the stability function is the Taylor polynomial
``R(w) = sum_{k=0}^{p} w^k / k!`` (``p`` = number of stages). The step is stable when
``|R(dt lambda)| <= 1`` for every eigenvalue; :func:`max_stable_dt` returns the largest such
``dt``. ``R``, the stability radius and ``max_stable_dt`` are computed from the Butcher tableaux
of :mod:`sciml.runge_kutta` (re-exported here).

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

from sciml.runge_kutta import max_stable_dt as max_stable_dt
from sciml.runge_kutta import stability_function
from sciml.runge_kutta import stability_radius as stability_radius

_UNSTABLE_BELOW = 1e-2  # a limiting Courant number below this means "unstable for every dt"


def amplification_factor(integrator: str, w: np.ndarray | complex) -> np.ndarray:
    """Stability function ``R(w)`` of ``integrator`` at ``w = dt lambda`` (from its tableau)."""
    return stability_function(integrator, w)


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
