"""Diagnostics of a trained tendency G: Jacobian, effective stencil, von Neumann analysis, drift.

Linearised about a uniform state ``u0`` (per channel), a translation-invariant G acts as a
constant-coefficient stencil ``(L z)_i = sum_j S_j z_{i+j}``. Its Fourier symbol is
``L(k) = sum_j S_j exp(i k . j dx)`` (a ``C x C`` matrix per wavenumber), and one step of an explicit
Runge-Kutta method with stability function ``R(w) = sum_{m<=p} w^m / m!`` multiplies the mode by
``R(dt L(k))``. The scheme is linearly stable when the spectral radius of ``R(dt L(k))`` is at most 1
for every resolved ``k``; ``sciml.solvers.max_stable_dt(stepper_eigenvalues(stepper), integrator)``
gives the largest such dt. ``R`` comes from the Butcher tableaux of :mod:`sciml.runge_kutta`.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sciml.runge_kutta import max_stable_dt as _max_stable_dt
from sciml.runge_kutta import stability_function as stability_function


def jacobian(stepper: Any, z: jax.Array) -> jax.Array:
    """d G_phys / d z at one state ``z`` of shape ``(*spatial, C)``; returns ``(N C, N C)``."""
    shape = z.shape

    def flat(v):
        return stepper.tendency_fn(v.reshape(shape)[None])[0].reshape(-1)

    return jax.jacfwd(flat)(jnp.asarray(z).reshape(-1))


def _uniform(stepper: Any, base: Any, shape: tuple[int, ...]) -> jax.Array:
    c = stepper.channels
    u0 = (
        stepper.state_mean[...]
        if base is None
        else jnp.broadcast_to(jnp.asarray(base, jnp.float32), (c,))
    )
    return jnp.broadcast_to(u0, (1, *shape, c)).astype(jnp.float32)


def linear_stencil(stepper: Any, base: Any = None) -> np.ndarray:
    """Effective linear stencil of G_phys about the uniform state ``base`` (default: state mean).

    Returns ``S`` with shape ``(*(2h + 1,) * ndim, C_out, C_in)``: ``S[h + j, o, c]`` is the weight of
    input channel ``c`` at offset ``j`` (cells) in the tendency of channel ``o``. ``h`` is the halo of G
    (``depth * (kernel_size // 2)``). Periodic networks only.
    """
    halo = int(getattr(stepper.tendency, "halo", 0))
    if getattr(stepper.tendency, "boundary", "periodic") != "periodic":
        raise ValueError(
            "linear_stencil: needs a periodic tendency network (translation invariance on a torus)"
        )
    n = 2 * halo + 1
    shape = (2 * n,) * stepper.ndim  # wide enough that the periodic images never overlap
    u0 = _uniform(stepper, base, shape)
    centre = (n,) * stepper.ndim
    c = stepper.channels
    out = np.zeros((*(n,) * stepper.ndim, c, c))
    for ci in range(c):
        e = jnp.zeros_like(u0).at[(0, *centre, ci)].set(1.0)
        _, col = jax.jvp(stepper.tendency_fn, (u0,), (e,))
        col = np.asarray(col[0], np.float64)
        # The tendency at i responds to the impulse at `centre` with weight S_{centre - i}.
        for offs in np.ndindex(*(n,) * stepper.ndim):
            j = tuple(o - halo for o in offs)
            i = tuple(cc - jj for cc, jj in zip(centre, j))
            out[(*offs, slice(None), ci)] = col[i]
    return out


def symbol(
    stepper: Any, k: np.ndarray, base: Any = None, stencil: np.ndarray | None = None
) -> np.ndarray:
    """Fourier symbol ``L(k)`` of the linearised tendency for wavenumbers ``k`` ``(M, ndim)`` (rad/length).

    Returns ``(M, C, C)`` complex.
    """
    s = linear_stencil(stepper, base) if stencil is None else stencil
    nd = stepper.ndim
    n = s.shape[0]
    h = n // 2
    k = np.atleast_2d(np.asarray(k, np.float64).reshape(-1, nd))
    out = np.zeros((k.shape[0], s.shape[-2], s.shape[-1]), np.complex128)
    for offs in np.ndindex(*(n,) * nd):
        j = np.array([o - h for o in offs], np.float64) * np.array(stepper.dx)
        out += np.exp(1j * (k @ j))[:, None, None] * s[offs]
    return out


def resolved_wavenumbers(stepper: Any, n_per_axis: int = 64) -> np.ndarray:
    """Wavenumbers up to Nyquist ``pi/dx`` on each axis, shape ``(M, ndim)``."""
    axes = [np.linspace(0.0, np.pi / d, n_per_axis) for d in stepper.dx]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, stepper.ndim)


def amplification(
    stepper: Any,
    k: np.ndarray,
    *,
    dt: float | None = None,
    integrator: str | None = None,
    base: Any = None,
) -> np.ndarray:
    """Von Neumann amplification: spectral radius of ``R(dt L(k))`` for each wavenumber, ``(M,)``."""
    dt = stepper.dt if dt is None else dt
    integrator = stepper.integrator if integrator is None else integrator
    lk = symbol(stepper, k, base)
    ev = np.linalg.eigvals(dt * lk)
    return np.abs(stability_function(integrator, ev)).max(axis=-1)


def stepper_eigenvalues(stepper: Any, *, base: Any = None, n_per_axis: int = 128) -> np.ndarray:
    """Eigenvalues of the linearised tendency's symbol ``L(k)`` over the resolved wavenumbers.

    Shape ``(M * C,)`` complex (units 1/time), for ``sciml.solvers.max_stable_dt(ev, integrator)``.
    """
    k = resolved_wavenumbers(stepper, n_per_axis)
    return np.linalg.eigvals(symbol(stepper, k, base)).ravel()


def max_stable_dt(
    stepper: Any,
    *,
    integrator: str | None = None,
    base: Any = None,
    dt_max: float | None = None,
    n_per_axis: int = 128,
    tol: float = 1e-9,
) -> float:
    """Deprecated form of ``sciml.solvers.max_stable_dt(stepper_eigenvalues(stepper), integrator)``.

    Largest dt for which every resolved mode has amplification <= 1 (linearised about ``base``).
    ``dt_max`` and ``tol`` are ignored (the limit comes from the tableau's stability region).
    """
    warnings.warn(
        "sciml.stepper.max_stable_dt(stepper) is deprecated: use sciml.solvers.max_stable_dt("
        "sciml.stepper.stepper_eigenvalues(stepper), integrator), the one max_stable_dt",
        DeprecationWarning,
        stacklevel=2,
    )
    del dt_max, tol
    integrator = stepper.integrator if integrator is None else integrator
    return _max_stable_dt(
        stepper_eigenvalues(stepper, base=base, n_per_axis=n_per_axis), integrator
    )


def conserved_drift(trajectory: np.ndarray, dx: tuple[float, ...] | float) -> dict[str, np.ndarray]:
    """Drift of mass and energy along rollouts ``(batch, time, *spatial, C)``.

    mass(t) = sum z dV, energy(t) = 1/2 sum z^2 dV (per sample and channel); returns each quantity
    ``(batch, time, C)`` and its relative drift ``(q(t) - q(0)) / max(|q(0)|, eps)``.
    """
    traj = np.asarray(trajectory, np.float64)
    dv = float(np.prod(np.atleast_1d(dx)))
    axes = tuple(range(2, traj.ndim - 1))
    mass = traj.sum(axis=axes) * dv
    energy = 0.5 * (traj**2).sum(axis=axes) * dv
    eps = np.finfo(np.float64).tiny

    def rel(q):
        return (q - q[:, :1]) / np.maximum(np.abs(q[:, :1]), eps)

    return {"mass": mass, "energy": energy, "mass_drift": rel(mass), "energy_drift": rel(energy)}
