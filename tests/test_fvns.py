"""Finite-volume Navier-Stokes (sciml.solvers.fvns): Taylor-Green decay, second-order
convergence, agreement with the pseudo-spectral solver, conservation, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import Grid
from sciml.solvers.fvns import FiniteVolumeNS2D, van_leer_slope
from sciml.solvers.spectral.navier_stokes import NavierStokes2D

TWO_PI = 2 * np.pi


@pytest.fixture(scope="module", autouse=True)
def _x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def taylor_green(n: int, amp: float = 1.0) -> np.ndarray:
    x, y = Grid((n, n), (TWO_PI, TWO_PI)).mesh()
    return (2 * amp * np.sin(x) * np.sin(y))[None, ..., None]


def run(solver, w, t_end):
    n = round(t_end / solver.dt)
    loop = jax.jit(lambda w: jax.lax.fori_loop(0, n, lambda _, x: solver(x), w))
    return np.asarray(loop(jnp.asarray(w)))


def test_taylor_green_decay_rate_and_second_order():
    """omega = 2 sin x sin y exp(-2 nu t) is an exact solution; errors fall as h^2."""
    nu, t_end = 0.05, 1.0
    errors, rates = [], []
    for n in (16, 32, 64):
        solver = FiniteVolumeNS2D(Grid((n, n), (TWO_PI, TWO_PI)), 0.02, nu=nu)
        w = run(solver, taylor_green(n), t_end)
        exact = taylor_green(n) * np.exp(-2 * nu * t_end)
        errors.append(np.sqrt(np.mean((w - exact) ** 2)) / np.sqrt(np.mean(exact**2)))
        rates.append(-np.log(np.sum(w * taylor_green(n)) / np.sum(taylor_green(n) ** 2)) / t_end)
    # the decay rate converges to the exact 2 nu (limiter dissipation and the 5-point Laplacian's
    # O(h^2) error vanish with h)
    rate_err = np.abs(np.asarray(rates) / (2 * nu) - 1)
    assert rate_err[-1] < 1e-3 and np.all(np.diff(rate_err) < 0), rates
    orders = np.log2(np.asarray(errors[:-1]) / np.asarray(errors[1:]))
    assert errors[-1] < 2e-3, errors
    assert np.all(orders > 1.8), (errors, orders)


def test_agrees_with_spectral_solver_on_smooth_forced_flow():
    """Smooth Kolmogorov-forced flow at nu = 0.05: FV error against the spectral solution ~ h^2."""
    params = {"nu": 0.05, "drag": 0.1, "forcing_wavenumber": 2, "forcing_amplitude": 1.0}
    x, y = Grid((64, 64), (TWO_PI, TWO_PI)).mesh()
    w0 = lambda x, y: np.sin(x) * np.cos(2 * y) + 0.5 * np.cos(x + y) + 0.3 * np.sin(2 * x)  # noqa: E731
    spec = NavierStokes2D(Grid((64, 64), (TWO_PI, TWO_PI)), 0.01, **params)
    ref = run(spec, w0(x, y)[None, ..., None], 1.0)
    errors = []
    for n in (16, 32, 64):
        g = Grid((n, n), (TWO_PI, TWO_PI))
        xc, yc = g.mesh()
        w = run(FiniteVolumeNS2D(g, 0.01, **params), w0(xc, yc)[None, ..., None], 1.0)
        r = ref[:, :: 64 // n, :: 64 // n]
        errors.append(np.sqrt(np.mean((w - r) ** 2) / np.mean(r**2)))
    orders = np.log2(np.asarray(errors[:-1]) / np.asarray(errors[1:]))
    assert errors[-1] < 5e-3, errors
    assert np.all(orders > 1.7), (errors, orders)


def test_conserves_mean_vorticity_and_keeps_bounds_without_diffusion():
    g = Grid((32, 32), (TWO_PI, TWO_PI))
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((2, 32, 32, 1))
    solver = FiniteVolumeNS2D(g, 0.02, nu=0.0)
    w = run(solver, w0, 0.4)
    np.testing.assert_allclose(w.mean(axis=(1, 2)), w0.mean(axis=(1, 2)), atol=1e-12)
    # a limited upwind scheme creates no new extrema to within a small RK overshoot
    assert w.max() <= w0.max() + 1e-6 and w.min() >= w0.min() - 1e-6
    # discrete divergence of the face velocities is zero
    u, v = solver.face_velocity(jnp.asarray(w0))
    div = (u - jnp.roll(u, 1, -3)) / g.dx[0] + (v - jnp.roll(v, 1, -2)) / g.dx[1]
    np.testing.assert_allclose(np.asarray(div), 0.0, atol=1e-11)


def test_van_leer_slope_is_harmonic_mean_and_zero_at_extrema():
    a = jnp.asarray([1.0, 1.0, -2.0, 1.0])
    b = jnp.asarray([1.0, 3.0, -2.0, -1.0])
    np.testing.assert_allclose(np.asarray(van_leer_slope(a, b)), [1.0, 1.5, -2.0, 0.0])


def test_bad_input():
    g = Grid((16, 16), (TWO_PI, TWO_PI))
    with pytest.raises(ValueError, match="diffusive stability limit"):
        FiniteVolumeNS2D(g, 1.0, nu=1.0)
    with pytest.raises(ValueError, match="periodic 2-D grid"):
        FiniteVolumeNS2D(Grid((16,), (TWO_PI,)), 0.01)
    with pytest.raises(ValueError, match="nu: expected"):
        FiniteVolumeNS2D(g, 0.01, nu=-1.0)
    solver = FiniteVolumeNS2D(g, 0.5, nu=0.0)
    with pytest.raises(ValueError, match="Courant number"):
        solver.check_cfl(jnp.asarray(taylor_green(16, amp=5.0)))
    assert solver.stable_dt(jnp.asarray(taylor_green(16, amp=5.0)), cfl=0.5) < 0.5
