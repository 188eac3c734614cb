"""Spectral solvers against analytic solutions, independent references and conservation laws."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import (
    Advection,
    BlowUpError,
    Burgers,
    GrayScott,
    Grid,
    KdV,
    NavierStokes2D,
    burgers_cole_hopf,
    kdv_soliton,
    rollout,
    taylor_green_vortex,
)
from scipy.integrate import solve_ivp

# One compilation per (step, n_steps): the suite is compile-bound on CPU.
roll = jax.jit(rollout, static_argnums=(0, 2), static_argnames=("save_every",))


def _cos_sum(grid, modes, amps, phases, shift):
    """sum_j a_j cos(2 pi m_j . (x - shift) / L + phi_j) on the grid, float64."""
    mesh = grid.mesh()
    out = np.zeros(grid.shape)
    for m, a, p in zip(modes, amps, phases):
        angle = sum(
            2 * np.pi * mi * (x - s) / L for mi, x, s, L in zip(m, mesh, shift, grid.length)
        )
        out += a * np.cos(angle + p)
    return out


@pytest.mark.parametrize(
    ("ndim", "dtype", "tol"),
    [
        (1, jnp.float32, 2e-5),
        (1, jnp.float64, 1e-12),
        (2, jnp.float32, 2e-5),
        (3, jnp.float64, 1e-12),
    ],
)
def test_advection_is_an_exact_shift(ndim, dtype, tol, x64):
    grid = Grid({1: (32,), 2: (16, 20), 3: (8, 10, 6)}[ndim], (1.0, 2.0, 0.5)[:ndim])
    velocity = (0.7, -1.3, 0.4)[:ndim]
    modes = [(1, 2, 1)[:ndim], (3, -1, 2)[:ndim], (2, 0, -1)[:ndim]]
    amps, phases = [1.0, 0.4, -0.3], [0.1, 1.0, 2.0]
    n, dt = 9, 0.123
    step = Advection(grid, dt, velocity=velocity)
    u0 = _cos_sum(grid, modes, amps, phases, (0.0,) * ndim)
    traj = roll(step, jnp.asarray(u0[None, ..., None], dtype), n)
    exact = _cos_sum(grid, modes, amps, phases, tuple(c * n * dt for c in velocity))
    assert traj.dtype == dtype
    np.testing.assert_allclose(np.asarray(traj[0, -1, ..., 0]), exact, atol=tol)


def test_advection_diffusion_decays_and_shifts(x64):
    grid = Grid((32,), (2.0,))
    step = Advection(grid, 0.05, velocity=0.5, nu=0.02)
    u0 = _cos_sum(grid, [(3,)], [1.0], [0.0], (0.0,))
    out = step(jnp.asarray(u0[None, :, None]))
    k = 2 * np.pi * 3 / 2.0
    exact = _cos_sum(grid, [(3,)], [np.exp(-0.02 * k**2 * 0.05)], [0.0], (0.5 * 0.05,))
    np.testing.assert_allclose(np.asarray(out[0, :, 0]), exact, atol=1e-13)
    with pytest.raises(ValueError, match="velocity: expected 1 components"):
        Advection(grid, 0.1, velocity=(1.0, 2.0))


@pytest.mark.parametrize(("dtype", "tol"), [(jnp.float32, 3e-6), (jnp.float64, 1e-10)])
def test_burgers_matches_cole_hopf_and_conserves_mass(dtype, tol, x64):
    grid = Grid((64,), (2 * np.pi,))
    nu, t_end, n = 0.1, 1.0, 50
    u0 = burgers_cole_hopf(grid, nu=nu, ratio=0.6, dtype=dtype)
    traj = roll(Burgers(grid, t_end / n, nu=nu), u0, n)
    exact = burgers_cole_hopf(grid, nu=nu, ratio=0.6, t=t_end, dtype=jnp.float64)
    assert traj.dtype == dtype
    scale = float(jnp.max(jnp.abs(exact)))
    np.testing.assert_allclose(np.asarray(traj[0, -1]), np.asarray(exact[0]), atol=tol * scale)
    shifted = np.asarray(traj, np.float64) + 0.0
    np.testing.assert_allclose(shifted.mean(axis=(2, 3))[0], 0.0, atol=10 * tol)


def test_burgers_check_dt_limit_is_meaningful():
    grid = Grid((64,), (2 * np.pi,))
    x = grid.coords()[0]
    u = jnp.asarray(np.sin(x) + 0.5 * np.cos(2 * x), jnp.float32)[None, :, None]
    limit = Burgers(grid, 0.01, nu=0.01).max_stable_dt(u)
    # Linearised advective limit: CFL 2.5 / (max|u| k_max), k_max = 21 (2/3 rule on N = 64).
    np.testing.assert_allclose(limit, 2.5 / (float(jnp.max(jnp.abs(u))) * 21), rtol=1e-6)
    stable = Burgers(grid, limit, nu=0.01)
    stable.check_dt(u)
    assert np.isfinite(np.asarray(rollout(stable, u, 100))).all()
    unstable = Burgers(grid, 8 * limit, nu=0.01)
    with pytest.raises(ValueError, match=rf"above the stable limit {limit:.4g} .* use dt <= "):
        unstable.check_dt(u)
    with pytest.raises(BlowUpError, match="sample 0 is NaN/Inf"):
        rollout(unstable, u, 100)


def test_kdv_soliton_travels_at_its_speed(x64):
    grid = Grid((128,), (40.0,))
    speed, t_end, n = 1.2, 5.0, 250
    u0 = kdv_soliton(grid, speed=speed, position=12.0, dtype=jnp.float64)
    traj = roll(KdV(grid, t_end / n), u0, n, save_every=50)
    exact = kdv_soliton(grid, speed=speed, position=12.0, t=t_end, dtype=jnp.float64)
    np.testing.assert_allclose(np.asarray(traj[0, -1]), np.asarray(exact[0]), atol=2e-6)


def test_kdv_conserves_mass_momentum_energy(x64):
    # Two interacting solitons: mass int u, momentum int u^2, energy int (u_x^2/2 - u^3).
    grid = Grid((128,), (40.0,))
    u0 = kdv_soliton(grid, speed=2.0, position=8.0, dtype=jnp.float64) + kdv_soliton(
        grid, speed=0.8, position=18.0, dtype=jnp.float64
    )
    traj = np.asarray(roll(KdV(grid, 0.005), u0, 1200, save_every=200))[0, ..., 0]
    k = 2 * np.pi * np.fft.rfftfreq(128, d=40.0 / 128)
    ux = np.fft.irfft(1j * k * np.fft.rfft(traj, axis=-1), n=128, axis=-1)
    dx = grid.dx[0]
    mass = traj.sum(-1) * dx
    momentum = (traj**2).sum(-1) * dx
    energy = (0.5 * ux**2 - traj**3).sum(-1) * dx
    np.testing.assert_allclose(mass, mass[0], rtol=1e-12)
    np.testing.assert_allclose(momentum, momentum[0], rtol=1e-6)
    np.testing.assert_allclose(energy, energy[0], rtol=1e-5)
    # The faster soliton overtook the slower one: the solution changed a lot meanwhile.
    assert np.abs(traj[-1] - traj[0]).max() > 0.5


@pytest.mark.parametrize(("dtype", "tol"), [(jnp.float32, 1e-5), (jnp.float64, 1e-12)])
def test_taylor_green_vortex_decays_exactly(dtype, tol, x64):
    grid = Grid((32, 32), (2 * np.pi, 2 * np.pi))
    nu, t_end, n = 0.05, 2.0, 20
    w0 = taylor_green_vortex(grid, mode=2, nu=nu, dtype=dtype)
    traj = roll(NavierStokes2D(grid, t_end / n, nu=nu), w0, n)
    exact = taylor_green_vortex(grid, mode=2, nu=nu, t=t_end, dtype=jnp.float64)
    assert traj.dtype == dtype
    np.testing.assert_allclose(np.asarray(traj[0, -1]), np.asarray(exact[0]), atol=tol * 4)


def test_kolmogorov_laminar_flow_and_check_dt(x64):
    # A y-only vorticity is never advected: omega(t) = omega_s (1 - exp(-(nu k_f^2 + drag) t)).
    grid = Grid((16, 24), (2 * np.pi, 2 * np.pi))
    nu, drag, n_f, amp, t_end = 0.05, 0.1, 2, 1.5, 3.0
    step = NavierStokes2D(
        grid, 0.05, nu=nu, drag=drag, forcing_wavenumber=n_f, forcing_amplitude=amp
    )
    traj = roll(step, jnp.zeros((1, 16, 24, 1), jnp.float64), 60, save_every=60)
    y = grid.mesh()[1]
    rate = nu * n_f**2 + drag
    exact = -amp * n_f * np.cos(n_f * y) / rate * (1 - np.exp(-rate * t_end))
    np.testing.assert_allclose(np.asarray(traj[0, -1, ..., 0]), exact, atol=1e-10)
    # Its velocity is u = A sin(k_f y) (1 - e^{-rate t}) / rate: max|u| sets the dt limit with
    # the largest retained |k| (modes 5 and 7 on the 16 x 24 grid).
    u_max = amp / rate * (1 - np.exp(-rate * t_end))
    limit = step.max_stable_dt(traj[:, -1])
    np.testing.assert_allclose(limit, 2.5 / (u_max * np.sqrt(5**2 + 7**2)), rtol=1e-6)
    with pytest.raises(ValueError, match="forcing_wavenumber: expected an integer in"):
        NavierStokes2D(grid, 0.1, forcing_wavenumber=9, forcing_amplitude=1.0)


def test_inviscid_navier_stokes_conserves_energy_and_enstrophy(x64):
    grid = Grid((32, 32), (2 * np.pi, 2 * np.pi))
    x, y = grid.mesh()
    w0 = np.sin(2 * x) * np.cos(y) + 0.5 * np.cos(3 * y - 1.0) + 0.4 * np.sin(x + 2 * y)
    step = NavierStokes2D(grid, 0.02, nu=0.0)
    traj = np.asarray(roll(step, jnp.asarray(w0[None, ..., None]), 150, save_every=50))[0, ..., 0]
    spec = np.fft.fft2(traj, axes=(1, 2))
    kx, ky = np.meshgrid(*grid.wavenumbers(), indexing="ij")
    k2 = np.where(kx**2 + ky**2 > 0, kx**2 + ky**2, np.inf)
    energy = (np.abs(spec) ** 2 / k2).sum(axis=(1, 2))
    enstrophy = (np.abs(spec) ** 2).sum(axis=(1, 2))
    np.testing.assert_allclose(traj.mean(axis=(1, 2)), 0.0, atol=1e-13)
    np.testing.assert_allclose(energy, energy[0], rtol=1e-8)
    np.testing.assert_allclose(enstrophy, enstrophy[0], rtol=1e-8)
    assert np.abs(traj[-1] - traj[0]).max() > 0.1  # the flow did evolve


def test_gray_scott_uniform_state_matches_ode_reference(x64):
    grid = Grid((8, 8), (2.5, 2.5))
    feed, kill, t_end, n = 0.03, 0.062, 20.0, 80
    z0 = np.array([0.6, 0.3])
    state = jnp.asarray(np.broadcast_to(z0, (1, 8, 8, 2)).copy())
    traj = roll(GrayScott(grid, t_end / n, feed=feed, kill=kill), state, n)

    def rhs(_, z):
        u, v = z
        return [-u * v * v + feed * (1 - u), u * v * v - (feed + kill) * v]

    ref = solve_ivp(rhs, (0, t_end), z0, method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    np.testing.assert_allclose(np.asarray(traj[0, -1]), np.broadcast_to(ref, (8, 8, 2)), atol=1e-8)


def test_gray_scott_diffusion_of_small_perturbation(x64):
    # Around (u, v) = (1, 0) the linearisation decouples: u' = Du Lap u - F u, v' = Dv Lap v - (F+k) v.
    grid = Grid((16, 16), (2.5, 2.5))
    feed, kill, du, dv, t_end = 0.03, 0.062, 2e-3, 1e-3, 10.0
    x, y = grid.mesh()
    k = 2 * np.pi * 2 / 2.5
    eps = 1e-6
    mode = np.cos(k * x) * np.cos(k * y)
    state = np.stack([1 + eps * mode, eps * mode], axis=-1)[None]
    step = GrayScott(grid, 1.0, feed=feed, kill=kill, diffusivity_u=du, diffusivity_v=dv)
    out = np.asarray(roll(step, jnp.asarray(state), 10))[0, -1]
    np.testing.assert_allclose(
        out[..., 0] - 1, eps * np.exp(-(du * 2 * k**2 + feed) * t_end) * mode, atol=1e-11
    )
    np.testing.assert_allclose(
        out[..., 1], eps * np.exp(-(dv * 2 * k**2 + feed + kill) * t_end) * mode, atol=1e-11
    )


def test_kdv_etdrk4_is_fourth_order_with_a_dispersive_operator(x64):
    # Purely imaginary L (complex contour coefficients): error vs dt against a fine reference.
    grid = Grid((64,), (30.0,))
    u0 = kdv_soliton(grid, speed=2.0, position=10.0, dtype=jnp.float64)
    t_end = 1.0

    def solve(n):
        return np.asarray(roll(KdV(grid, t_end / n), u0, n, save_every=n)[0, -1, :, 0])

    ref = solve(1280)
    ns = np.array([40, 80, 160])
    errors = np.array([np.max(np.abs(solve(n) - ref)) for n in ns])
    slope = np.polyfit(np.log(t_end / ns), np.log(errors), 1)[0]
    assert 3.7 < slope < 4.4, (slope, errors)
