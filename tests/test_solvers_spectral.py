"""ETDRK4 machinery, heat and Kuramoto-Sivashinsky: analytic solutions, convergence order, checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import (
    Grid,
    Heat,
    KuramotoSivashinsky,
    KuramotoSivashinsky2D,
    etdrk4_coefficients,
    rollout,
)

TOL = {jnp.float32: 2e-5, jnp.float64: 1e-12}

# One compilation per (step, n_steps): the suite is compile-bound on CPU.
roll = jax.jit(rollout, static_argnums=(0, 2), static_argnames=("save_every",))


def test_etdrk4_coefficients_match_direct_formulas_and_limits():
    # Moderate |z|: the direct formulas are accurate in float64; compare with the contour values.
    lin = np.array([-3.0, -1.0, 0.7, 2.0, -50.0])
    dt = 0.5
    z = dt * lin
    c = etdrk4_coefficients(lin, dt)
    np.testing.assert_allclose(c["E"].real, np.exp(z), rtol=1e-14)
    np.testing.assert_allclose(c["Q"].real, dt * (np.exp(z / 2) - 1) / z, rtol=1e-12)
    f1 = dt * (-4 - z + np.exp(z) * (4 - 3 * z + z**2)) / z**3
    f2 = dt * (2 + z + np.exp(z) * (z - 2)) / z**3
    f3 = dt * (-4 - 3 * z - z**2 + np.exp(z) * (4 - z)) / z**3
    np.testing.assert_allclose(c["f1"].real, f1, rtol=1e-10)
    np.testing.assert_allclose(c["f2"].real, f2, rtol=1e-10)
    np.testing.assert_allclose(c["f3"].real, f3, rtol=1e-10)
    # z -> 0: Q -> dt/2, f1 -> dt/6, f2 -> dt/6, f3 -> dt/6 (where the direct formulas fail).
    c0 = etdrk4_coefficients(np.array([0.0, 1e-12]), dt)
    for name, value in (("Q", dt / 2), ("f1", dt / 6), ("f2", dt / 6), ("f3", dt / 6)):
        np.testing.assert_allclose(c0[name].real, value, rtol=1e-12)
    # Purely imaginary operators (dispersion): complex coefficients, same formulas.
    zi = 1j * np.array([0.3, 4.0])
    ci = etdrk4_coefficients(zi / dt, dt)
    f1i = dt * (-4 - zi + np.exp(zi) * (4 - 3 * zi + zi**2)) / zi**3
    np.testing.assert_allclose(ci["f1"], f1i, rtol=1e-9)
    with pytest.raises(ValueError, match="dt: expected a value > 0"):
        etdrk4_coefficients(lin, -1.0)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_heat_decays_fourier_modes_exactly(dtype, ndim, x64):
    shape = {1: (32,), 2: (16, 12), 3: (8, 8, 6)}[ndim]
    grid = Grid(shape, (2.0, 3.0, 1.5)[:ndim])
    nu, t = 0.05, 0.7
    mesh = grid.mesh()
    modes = (2, 1, 1)[:ndim]
    k = [2 * np.pi * m / L for m, L in zip(modes, grid.length)]
    u0 = np.prod([np.cos(ki * x) for ki, x in zip(k, mesh)], axis=0) + 0.3
    step = Heat(grid, t / 7, nu=nu)
    traj = rollout(step, jnp.asarray(u0[None, ..., None], dtype), 7)
    exact = (u0 - 0.3) * np.exp(-nu * sum(ki**2 for ki in k) * t) + 0.3
    assert traj.dtype == dtype
    np.testing.assert_allclose(np.asarray(traj[0, -1, ..., 0]), exact, atol=TOL[dtype])


def test_heat_rejects_bad_input():
    with pytest.raises(ValueError, match="nu: expected a diffusivity >= 0"):
        Heat(Grid((8,), (1.0,)), 0.1, nu=-0.1)
    with pytest.raises(ValueError, match="periodic"):
        Heat(Grid((8,), (1.0,), boundary="dirichlet"), 0.1)
    with pytest.raises(ValueError, match="dt: expected a finite value > 0"):
        Heat(Grid((8,), (1.0,)), 0.0)
    with pytest.raises(ValueError, match=r"state shape expected \(batch, 8, 1\)"):
        Heat(Grid((8,), (1.0,)), 0.1)(jnp.zeros((2, 9, 1)))


def _ks_initial(grid):
    x = grid.coords()[0]
    return np.cos(x / 16) * (1 + np.sin(x / 16))


def test_ks_etdrk4_is_fourth_order_in_time(x64):
    # Kassam & Trefethen's test problem (L = 32 pi), to t = 10, against a dt = 1/256 reference.
    grid = Grid((64,), (32 * np.pi,))
    u0 = jnp.asarray(_ks_initial(grid)[None, :, None])
    t_end = 10.0

    def solve(n):
        step = KuramotoSivashinsky(grid, t_end / n)
        return np.asarray(roll(step, u0, n, save_every=n)[0, -1, :, 0])

    ref = solve(2560)
    ns = np.array([20, 40, 80, 160])
    errors = np.array([np.max(np.abs(solve(n) - ref)) for n in ns])
    slope = np.polyfit(np.log(t_end / ns), np.log(errors), 1)[0]
    assert 3.7 < slope < 4.4, (slope, errors)


def test_ks_conserves_mean_and_float32_matches_float64(x64):
    grid = Grid((64,), (32 * np.pi,))
    u0 = _ks_initial(grid)[None, :, None]
    step = KuramotoSivashinsky(grid, 0.25)
    trajs = {dtype: roll(step, jnp.asarray(u0, dtype), 80) for dtype in (jnp.float32, jnp.float64)}
    for dtype, atol in ((jnp.float32, 1e-5), (jnp.float64, 1e-13)):
        assert trajs[dtype].dtype == dtype
        mean = np.asarray(trajs[dtype][0, :, :, 0], np.float64).mean(axis=-1)
        np.testing.assert_allclose(mean, u0.mean(), atol=atol)
    # t = 20 is before the chaotic divergence of round-off: float32 tracks float64.
    np.testing.assert_allclose(
        np.asarray(trajs[jnp.float32], np.float64), np.asarray(trajs[jnp.float64]), atol=1e-3
    )


def test_ks2d_conserves_mean_and_is_isotropic():
    grid = Grid((32, 32), (6 * np.pi, 6 * np.pi))
    x, y = grid.mesh()
    u0 = 0.5 * (np.cos(x / 3) + 0.7 * np.sin(2 * y / 3)) + 0.2
    step = KuramotoSivashinsky2D(grid, 0.1)
    traj = roll(step, jnp.asarray(u0[None, ..., None], jnp.float32), 30)
    np.testing.assert_allclose(np.asarray(traj[0, :]).mean(axis=(1, 2, 3)), 0.2, atol=1e-5)
    # Swapping x and y in the initial condition swaps them in the solution.
    swapped = roll(step, jnp.swapaxes(traj[:, 0], 1, 2), 30)
    np.testing.assert_allclose(
        np.asarray(jnp.swapaxes(swapped[:, -1], 1, 2)), np.asarray(traj[:, -1]), atol=1e-4
    )
    # A small cos(k x) mode grows at the linear rate k^2 - k^4 (k = 2/3, unstable); the
    # quadratic term is O(eps^2 k^2) ~ 4e-9.
    eps = 1e-4
    k = 2 * np.pi * 2 / grid.length[0]
    small = eps * np.cos(k * x)[None, ..., None]
    out = roll(step, jnp.asarray(small, jnp.float32), 30)[0, -1, ..., 0]
    np.testing.assert_allclose(
        np.asarray(out), eps * np.exp((k**2 - k**4) * 3.0) * np.cos(k * x), rtol=1e-3, atol=1e-8
    )


def test_ks_is_differentiable_and_vmappable():
    grid = Grid((32,), (22.0,))
    step = KuramotoSivashinsky(grid, 0.1)
    u0 = jnp.asarray(_ks_initial(grid)[None, :, None], jnp.float32)

    def loss(u):
        return jnp.sum(rollout(step, u, 3, check_finite=False)[:, -1] ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    _, g = value_and_grad(u0)
    # Finite-difference check of one directional derivative (same compiled function).
    v = jnp.asarray(np.random.default_rng(0).normal(size=u0.shape), jnp.float32)
    h = 1e-2
    fd = (value_and_grad(u0 + h * v)[0] - value_and_grad(u0 - h * v)[0]) / (2 * h)
    np.testing.assert_allclose(float(jnp.vdot(g, v)), float(fd), rtol=2e-3)
    batched = jax.vmap(step)(jnp.stack([u0, 2 * u0]))
    np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(step(2 * u0)), atol=1e-6)


def test_ks_check_dt_states_the_limit():
    grid = Grid((128,), (32 * np.pi,))
    step = KuramotoSivashinsky(grid, 0.25)
    u = jnp.asarray(3 * _ks_initial(grid)[None, :, None], jnp.float32)
    limit = step.max_stable_dt(u)
    assert 0.25 < limit < 5.0
    step.check_dt(u)
    big = KuramotoSivashinsky(grid, 2 * limit)
    with pytest.raises(ValueError, match=r"dt: .* above the stable limit .* use dt <= "):
        big.check_dt(u)
