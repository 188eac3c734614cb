"""FastPM kick-drift-kick particle-mesh integrator (Feng et al. 2016) and the data maker.

Units H0 = 1, comoving positions x in Mpc/h, canonical momentum p = a^3 E dx/da. Equations:

    dx/da = p / (a^3 E),   dp/da = F / (a^2 E),   F = -grad phi,   Lap phi = 1.5 Omega_m delta,

delta the CIC-painted density contrast on a force mesh ``mesh_factor`` times finer than the
particle grid. Time steps are uniform in a. FastPM's factors make each step exact for linear
growth (D1 normalised; G = a^3 E dD1/da, g = dG/da = 1.5 Omega_m D1 / (a^2 E)):

    drift(a_i -> a_f; a_c) = (D1(a_f) - D1(a_i)) / (a_c^3 E(a_c) dD1/da(a_c))
    kick (a_i -> a_f; a_c) = (G(a_f) - G(a_i)) / (a_c^2 E(a_c) g(a_c))

Step a_k -> a_{k+1}, a_h = (a_k + a_{k+1})/2: kick a_k -> a_h (force at a_k), drift
a_k -> a_{k+1} (momentum at a_h), force at a_{k+1}, kick a_h -> a_{k+1}. The factors are
computed on the host in float64; particles live in the dtype of the initial conditions
(float32 by default, float64 when JAX x64 is on and float64 input is given).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.pm.background import (
    Cosmology,
    E,
    check_scale_factor,
    growth_derivative,
    growth_factor,
)
from sciml.solvers.pm.ic import linear_field, lpt, lpt_terms
from sciml.solvers.pm.mesh import (
    _force,
    check_box,
    check_kernels,
    cic_paint,
    cic_readout,
    force_kernels,
)

__all__ = ["displacement", "fastpm", "lagrangian_grid", "simulate_displacements", "step_factors"]


def lagrangian_grid(n: int, box: float, dtype=jnp.float32) -> jax.Array:
    """Lattice positions q_ijk = (i, j, k) box/n, shape (n, n, n, 3), Mpc/h."""
    r = jnp.arange(n, dtype=dtype) * (box / n)
    return jnp.stack(jnp.meshgrid(r, r, r, indexing="ij"), axis=-1).astype(dtype)


def displacement(q: jax.Array, x: jax.Array, box: float) -> jax.Array:
    """Minimum-image periodic displacement x - q in (-box/2, box/2], same shape as ``x``."""
    d = x - q
    return d - box * jnp.round(d / box)


def _g_of_a(cosmo: Cosmology, a) -> np.ndarray:
    return a**3 * E(cosmo, a) * growth_derivative(cosmo, a)


def _gdot(cosmo: Cosmology, a) -> np.ndarray:
    return 1.5 * cosmo.Omega_m * growth_factor(cosmo, a) / (a * a * E(cosmo, a))


def step_factors(cosmo: Cosmology, a_start: float, a_end: float, steps: int) -> np.ndarray:
    """FastPM factors per step, float64 (steps, 3): [kick1, drift, kick2] (see module docstring)."""
    a = np.linspace(a_start, a_end, steps + 1)
    ai, af = a[:-1], a[1:]
    ah = 0.5 * (ai + af)

    def drift(a0, a1, ac):
        return (growth_factor(cosmo, a1) - growth_factor(cosmo, a0)) / (
            ac**3 * E(cosmo, ac) * growth_derivative(cosmo, ac)
        )

    def kick(a0, a1, ac):
        return (_g_of_a(cosmo, a1) - _g_of_a(cosmo, a0)) / (ac**2 * E(cosmo, ac) * _gdot(cosmo, ac))

    return np.stack([kick(ai, ah, ai), drift(ai, af, ah), kick(ah, af, af)], axis=-1)


@functools.partial(jax.jit, static_argnames=("n_mesh", "box"))
def _run(x, p, factors, force_factor, inv, grads, *, n_mesh, box):
    def force(pos):
        delta = cic_paint(pos, n_mesh, box) - 1.0
        f_mesh = _force(delta, inv, grads, force_factor)
        return cic_readout(f_mesh, pos, box)

    def step(carry, fac):
        pos, mom, frc = carry
        mom = mom + fac[0] * frc
        pos = jnp.mod(pos + fac[1] * mom, box)
        frc = force(pos)
        mom = mom + fac[2] * frc
        return (pos, mom, frc), None

    (x, p, _), _ = jax.lax.scan(step, (x, p, force(x)), factors)
    return x, p


def check_run_settings(steps, a_start, a_end, mesh_factor) -> tuple[int, float, float, int]:
    """Validated (steps, a_start, a_end, mesh_factor), or a one-line ``ValueError``."""
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ValueError(f"steps: expected an integer >= 1, found {steps!r}; e.g. steps=10")
    a0 = float(check_scale_factor(a_start, "a_start"))
    a1 = float(check_scale_factor(a_end, "a_end"))
    if not a0 < a1:
        raise ValueError(f"a_start: expected < a_end = {a1}, found {a0}; e.g. a_start=0.1")
    if isinstance(mesh_factor, bool) or int(mesh_factor) != mesh_factor or mesh_factor < 1:
        raise ValueError(
            f"mesh_factor: expected an integer >= 1 (force mesh cells per particle per side), "
            f"found {mesh_factor!r}; e.g. mesh_factor=2"
        )
    return int(steps), a0, a1, int(mesh_factor)


def fastpm(
    cosmo: Cosmology,
    delta_lin_or_ic,
    box: float,
    *,
    a_start: float = 0.1,
    a_end: float = 1.0,
    steps: int = 10,
    mesh_factor: int = 2,
    lpt_order: int = 2,
    laplace: str = "exact",
    gradient: str = "fd",
) -> tuple[jax.Array, jax.Array]:
    """Run the PM N-body solver from ``a_start`` to ``a_end``; returns final (positions, momenta).

    Args:
      delta_lin_or_ic: linear density at a = 1, (n, n, n) (initial conditions by LPT of order
        ``lpt_order`` at a_start), or a pair (displacement, momentum), each (n, n, n, 3) at a_start.
      box: side in Mpc/h. The force mesh has (mesh_factor n)^3 cells.
      steps: kick-drift-kick steps, uniform in a.
      laplace, gradient: Poisson kernels (``"exact"`` or ``"fd"``, see ``mesh.py``).
    Returns:
      positions (n, n, n, 3) wrapped into [0, box) and momenta p = a^3 E dx/da (n, n, n, 3), on
      the Lagrangian grid, in the input dtype. Displacements: ``displacement(q, x, box)``.
    """
    steps, a0, a1, mesh_factor = check_run_settings(steps, a_start, a_end, mesh_factor)
    box = check_box(box)
    check_kernels(laplace, gradient)
    if isinstance(delta_lin_or_ic, (tuple, list)):
        if len(delta_lin_or_ic) != 2:
            raise ValueError(
                f"fastpm: initial conditions expected (displacement, momentum), found "
                f"{len(delta_lin_or_ic)} arrays"
            )
        disp, mom = (jnp.asarray(v) for v in delta_lin_or_ic)
        n = disp.shape[0]
        if disp.shape != (n, n, n, 3) or mom.shape != disp.shape:
            raise ValueError(
                f"fastpm: initial displacement and momentum expected shape (n, n, n, 3), found "
                f"{disp.shape} and {mom.shape}"
            )
        for name, v in (("displacement", disp), ("momentum", mom)):
            if not isinstance(v, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(v))):
                raise ValueError(f"fastpm: initial {name} has NaN or Inf; regenerate the ICs")
    else:
        disp, mom = lpt(cosmo, delta_lin_or_ic, box, a0, order=lpt_order)
        n = disp.shape[0]
    dtype = disp.dtype
    q = lagrangian_grid(n, box, dtype)
    x = jnp.mod(q + disp, box).astype(dtype)
    n_mesh = n * mesh_factor
    inv, grads = force_kernels(n_mesh, box, laplace, gradient, np.dtype(dtype))
    factors = jnp.asarray(step_factors(cosmo, a0, a1, steps), dtype)
    return _run(
        x,
        mom.astype(dtype),
        factors,
        jnp.asarray(1.5 * cosmo.Omega_m, dtype),
        jnp.asarray(inv),
        jnp.asarray(grads),
        n_mesh=n_mesh,
        box=box,
    )


def simulate_displacements(
    cosmo: Cosmology,
    n: int,
    box: float,
    *,
    key: jax.Array,
    steps: int = 10,
    a_start: float = 0.1,
    mesh_factor: int = 2,
    a_end: float = 1.0,
    laplace: str = "exact",
    gradient: str = "fd",
) -> dict[str, np.ndarray]:
    """One D3M sample: ZA, 2LPT and PM displacements at ``a_end`` from one Gaussian field.

    Returns NumPy float32 arrays: ``za``, ``lpt2``, ``pm`` (n, n, n, 3) displacements x - q in
    Mpc/h on the Lagrangian grid (PM: minimum image), and ``delta_lin`` (n, n, n), the linear
    density contrast at ``a_end``. The PM run starts from 2LPT at ``a_start``.
    """
    steps, a0, a1, mesh_factor = check_run_settings(steps, a_start, a_end, mesh_factor)
    delta = linear_field(cosmo, n, box, key=key, a=1.0)
    s1, s2 = lpt_terms(delta, box)
    d1 = float(growth_factor(cosmo, a1))
    d2 = float(growth_factor(cosmo, a1, order=2))
    za = d1 * s1
    lpt2 = za + d2 * s2
    x, _ = fastpm(
        cosmo,
        delta,
        box,
        a_start=a0,
        a_end=a1,
        steps=steps,
        mesh_factor=mesh_factor,
        laplace=laplace,
        gradient=gradient,
    )
    pm = displacement(lagrangian_grid(n, box, x.dtype), x, box)
    out = {
        "za": np.asarray(za, np.float32),
        "lpt2": np.asarray(lpt2, np.float32),
        "pm": np.asarray(pm, np.float32),
        "delta_lin": np.asarray(d1 * delta, np.float32),
    }
    if not np.isfinite(out["pm"]).all():
        raise ValueError(
            f"simulate_displacements: PM displacements hold NaN/Inf (n={n}, box={box}, "
            f"steps={steps}, {cosmo}); use more steps or a later a_start"
        )
    return out
