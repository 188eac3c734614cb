"""The finite-difference and the pseudo-spectral solver of the same PDE agree at high resolution."""

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers import FDBurgers, FDHeat, Grid
from sciml.solvers.spectral.burgers import Burgers
from sciml.solvers.spectral.heat import Heat


def _run(step, u0, n_steps):
    f = jax.jit(step)
    for _ in range(n_steps):
        u0 = f(u0)
    return u0


def test_heat_fd_matches_spectral(x64):
    # smooth periodic IC with modes 1..3: the spectral step is exact in space and time
    n, nu, t_end, n_steps = 32, 0.02, 0.5, 100
    grid = Grid((n,), (1.0,))
    (x,) = grid.coords()
    u0 = np.sin(2 * np.pi * x) + 0.5 * np.cos(4 * np.pi * x + 0.3) - 0.2 * np.sin(6 * np.pi * x)
    u0 = jnp.asarray(u0)[None, :, None]
    reference = _run(Heat(grid, t_end / n_steps, nu=nu), u0, n_steps)
    errors = {}
    for scheme in ("central2", "central4"):
        fd = FDHeat(grid, t_end / n_steps, nu=nu, scheme=scheme, integrator="rk4")
        errors[scheme] = float(jnp.max(jnp.abs(_run(fd, u0, n_steps) - reference)))
    assert errors["central4"] < 2e-4, errors
    assert errors["central4"] < errors["central2"] / 20, errors
    assert errors["central2"] < 5e-3, errors


def test_burgers_fd_converges_to_spectral(x64):
    # viscous Burgers from a smooth IC that steepens: the de-aliased spectral solution at
    # N = 128 is the reference; the MUSCL finite-volume solution approaches it at O(dx^2)
    nu, t_end, n_steps = 0.02, 0.3, 150
    fine = Grid((128,), (1.0,))
    (xf,) = fine.coords()
    ic = lambda x: 0.5 * np.sin(2 * np.pi * x) + 0.2  # noqa: E731
    reference = _run(
        Burgers(fine, t_end / n_steps, nu=nu), jnp.asarray(ic(xf))[None, :, None], n_steps
    )[0, :, 0]
    errors = []
    for n in (32, 64):
        grid = Grid((n,), (1.0,))
        (x,) = grid.coords()
        fd = FDBurgers(grid, t_end / n_steps, nu=nu, scheme="muscl", integrator="ssprk3")
        u = _run(fd, jnp.asarray(ic(x))[None, :, None], n_steps)[0, :, 0]
        errors.append(float(jnp.max(jnp.abs(u - reference[:: 128 // n]))))
    assert errors[1] < 0.02, errors
    assert 2.5 < errors[0] / errors[1] < 6.0, errors
