"""Particle-mesh solver: CIC, Poisson force, ICs, LPT and FastPM against exact results."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import pm
from sciml.solvers.pm.mesh import _force

BOX = 128.0
N = 16
COSMO = pm.Cosmology()


def _plane_wave(n, amp, dtype, mode=1):
    q = pm.lagrangian_grid(n, BOX, dtype)
    k = 2 * np.pi * mode / BOX
    s = jnp.zeros((n, n, n, 3), dtype).at[..., 0].set(amp * jnp.sin(k * q[..., 0]))
    return q, s


def _linear_ic(cosmo, s, a):
    d = float(pm.growth_factor(cosmo, a))
    f = float(pm.growth_rate(cosmo, a))
    return d * s, a * a * float(pm.E(cosmo, a)) * f * d * s


def test_cic_mass_adjoint_and_lattice(x64):
    key = jax.random.key(0)
    pos = jax.random.uniform(key, (300, 3), jnp.float64, -BOX, 2 * BOX)  # wraps periodically
    mass = jax.random.uniform(jax.random.key(1), (300,), jnp.float64)
    mesh = pm.cic_paint(pos, 8, BOX, mass=mass)
    np.testing.assert_allclose(float(mesh.sum()), float(mass.sum()), rtol=1e-13)
    g = jax.random.normal(jax.random.key(2), (8, 8, 8), jnp.float64)
    lhs = float(jnp.sum(mesh * g))
    rhs = float(jnp.sum(mass * pm.cic_readout(g, pos, BOX)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    # a uniform lattice paints a uniform density 1 for every mesh factor
    for factor in (1, 2):
        rho = pm.cic_paint(pm.lagrangian_grid(4, BOX, jnp.float64), 4 * factor, BOX)
        if factor == 1:
            np.testing.assert_allclose(rho, 1.0, rtol=1e-13)
        np.testing.assert_allclose(float(rho.mean()), 1.0, rtol=1e-13)
    # readout of a linear-in-x field between nodes is exact (channels-last mesh too)
    x = (jnp.arange(8) + 0.5) * BOX / 8
    field = jnp.broadcast_to(jnp.sin(2 * np.pi * x / BOX)[:, None, None, None], (8, 8, 8, 2))
    p = jnp.array([[0.5 * BOX / 8, 3.0, 3.0]])
    np.testing.assert_allclose(pm.cic_readout(field, p, BOX)[0], np.sin(np.pi / 8), rtol=1e-12)


@pytest.mark.parametrize(("laplace", "gradient"), [("exact", "exact"), ("fd", "fd")])
def test_poisson_single_mode(x64, laplace, gradient):
    n, m = 16, 3
    x = jnp.arange(n) * BOX / n
    k = 2 * np.pi * m / BOX
    delta = jnp.broadcast_to(jnp.cos(k * x)[None, :, None], (n, n, n)).astype(jnp.float64)
    f = pm.poisson_force(delta, BOX, factor=1.5, laplace=laplace, gradient=gradient)
    # Lap phi = 1.5 cos(ky) -> phi = -1.5 cos/K2, F_y = -d phi/dy = -1.5 G sin / K2
    w = k * BOX / n
    dx = BOX / n
    k2 = k * k if laplace == "exact" else (2 / dx * np.sin(w / 2)) ** 2
    g = k if gradient == "exact" else (8 * np.sin(w) - np.sin(2 * w)) / (6 * dx)
    expect = -1.5 * g / k2 * np.sin(k * x)
    np.testing.assert_allclose(f[0, :, 0, 1], expect, atol=1e-12)
    np.testing.assert_allclose(f[..., 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(f[..., 2], 0.0, atol=1e-12)


def test_linear_growth_of_a_long_wave(x64):
    """A small-amplitude mode grows by D1(a_end)/D1(a_start) within 1e-3 over 10 steps."""
    q, s = _plane_wave(N, 0.02, jnp.float64)
    a0, a1 = 0.1, 1.0
    x, p = pm.fastpm(COSMO, _linear_ic(COSMO, s, a0), BOX, a_start=a0, a_end=a1, steps=10)
    d = pm.displacement(q, x, BOX)
    growth = float(jnp.sum(d[..., 0] * s[..., 0]) / jnp.sum(s[..., 0] ** 2))
    np.testing.assert_allclose(growth, pm.growth_factor(COSMO, a1), rtol=1e-3)
    _, p_lin = _linear_ic(COSMO, s, a1)
    mom = float(jnp.sum(p[..., 0] * s[..., 0]) / jnp.sum(p_lin[..., 0] * s[..., 0]))
    np.testing.assert_allclose(mom, 1.0, rtol=3e-3)


def test_zeldovich_pancake_before_shell_crossing(x64):
    """A plane wave follows ZA exactly (in the continuum) until shell crossing at a = 1.5."""
    n = 32
    a0, a1 = 0.1, 1.0
    d_cross = float(pm.growth_factor(COSMO, 1.5))
    amp = BOX / (2 * np.pi) / d_cross  # max |d s/dq| D = 1 at a = 1.5
    q, s = _plane_wave(n, amp, jnp.float64)
    x, p = pm.fastpm(COSMO, _linear_ic(COSMO, s, a0), BOX, a_start=a0, a_end=a1, steps=20)
    d = pm.displacement(q, x, BOX)
    za, p_za = _linear_ic(COSMO, s, a1)
    scale = float(jnp.max(jnp.abs(za)))
    err = jnp.abs(d - za)
    # PM resolves the pancake to 0.5 % of the amplitude at the caustic (mesh 2 cells per particle)
    np.testing.assert_allclose(d, za, atol=1e-2 * scale)
    assert float(jnp.sqrt(jnp.mean(err**2))) < 2e-3 * scale
    np.testing.assert_allclose(p, p_za, atol=2e-2 * float(jnp.max(jnp.abs(p_za))))
    # it is nonlinear: density up to 1/(1 - D/D_cross) ~ 4.5 near the pancake
    assert float(jnp.max(jnp.abs(d[:-1, 0, 0, 0] - d[1:, 0, 0, 0]))) > 0.7 * BOX / n


@pytest.fixture(scope="module")
def delta16():
    return pm.linear_field(COSMO, N, BOX, key=jax.random.key(7))


def test_linear_field_reproducible_and_spectrum():
    n, box = 32, 256.0
    a = pm.linear_field(COSMO, n, box, key=jax.random.key(3))
    b = pm.linear_field(COSMO, n, box, key=jax.random.key(3))
    c = pm.linear_field(COSMO, n, box, key=jax.random.key(4))
    assert a.dtype == jnp.float32 and a.shape == (n, n, n)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # measured P(k) per shell vs the mean of linear_power over the same modes: within 5 sigma
    # of cosmic variance (sigma = P sqrt(1/N_modes) for N_modes independent complex modes)
    dk = np.fft.rfftn(np.asarray(a, np.float64)) * (box / n) ** 3
    kx = 2 * np.pi * np.fft.fftfreq(n, box / n)
    kz = 2 * np.pi * np.fft.rfftfreq(n, box / n)
    kk = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    p_meas = np.abs(dk) ** 2 / box**3
    p_lin = pm.linear_power(COSMO, kk)
    weight = np.full(kk.shape, 2.0)  # rfft half space: each mode stands for itself and -k
    weight[..., 0] = weight[..., -1] = 1.0
    kf = 2 * np.pi / box
    edges = np.arange(0.5, n // 2, 1.0) * kf
    ratios = []
    for lo, hi in itertools.pairwise(edges):
        sel = (kk >= lo) & (kk < hi)
        n_modes = weight[sel].sum() / 2
        r = (weight[sel] * p_meas[sel]).sum() / (weight[sel] * p_lin[sel]).sum()
        assert abs(r - 1) < 5 / np.sqrt(n_modes), (lo, r, n_modes)
        ratios.append(r)
    assert abs(np.mean(ratios) - 1) < 0.05


def test_lpt_two_crossed_waves(x64):
    """delta = A cos kx + B cos ky: s1 = -(A sin kx, B sin ky, 0)/k; s2 = -(AB/2k)(sin kx cos ky, cos kx sin ky)."""
    n = 8
    q = pm.lagrangian_grid(n, BOX, jnp.float64)
    k = 2 * np.pi / BOX
    A, B = 0.3, 0.2
    cx, cy = jnp.cos(k * q[..., 0]), jnp.cos(k * q[..., 1])
    sx, sy = jnp.sin(k * q[..., 0]), jnp.sin(k * q[..., 1])
    s1, s2 = pm.lpt_terms(A * cx + B * cy, BOX)
    np.testing.assert_allclose(s1, -jnp.stack([A * sx / k, B * sy / k, 0 * sx], -1), atol=1e-10)
    ref2 = -(A * B / (2 * k)) * jnp.stack([sx * cy, cx * sy, 0 * sx], -1)
    np.testing.assert_allclose(s2, ref2, atol=1e-10)
    a = 0.5
    disp, mom = pm.lpt(COSMO, A * cx + B * cy, BOX, a, order=2)
    d1, d2 = pm.growth_factor(COSMO, a), pm.growth_factor(COSMO, a, order=2)
    f1, f2 = pm.growth_rate(COSMO, a), pm.growth_rate(COSMO, a, order=2)
    np.testing.assert_allclose(disp, d1 * s1 + d2 * s2, atol=1e-10)
    pref = a * a * pm.E(COSMO, a)
    np.testing.assert_allclose(mom, pref * (f1 * d1 * s1 + f2 * d2 * s2), atol=1e-10)


def test_momentum_conserved_and_precision(delta16, x64):
    """Total momentum is conserved to round-off; float32 and float64 runs agree."""
    kw = dict(a_start=0.1, a_end=1.0, steps=5)
    delta64 = jnp.asarray(delta16, jnp.float64)
    x64_, p64 = pm.fastpm(COSMO, delta64, BOX, **kw)
    _, p0 = pm.lpt(COSMO, delta64, BOX, 0.1)
    scale = float(jnp.sqrt(jnp.mean(p64**2)))
    np.testing.assert_allclose(jnp.mean(p0, axis=(0, 1, 2)), 0.0, atol=1e-13 * scale)
    np.testing.assert_allclose(jnp.mean(p64, axis=(0, 1, 2)), 0.0, atol=1e-12 * scale)
    x32, p32 = pm.fastpm(COSMO, jnp.asarray(delta16, jnp.float32), BOX, **kw)
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(jnp.mean(p32, axis=(0, 1, 2)), 0.0, atol=2e-6 * scale)
    q = pm.lagrangian_grid(N, BOX, jnp.float64)
    d64 = pm.displacement(q, x64_, BOX)
    d32 = pm.displacement(q, x32.astype(jnp.float64), BOX)
    rms = float(jnp.sqrt(jnp.mean(d64**2)))
    assert rms > 1.0  # a nonlinear run, not a trivial one
    np.testing.assert_allclose(d32, d64, atol=1e-3 * rms)


def test_kdk_converges_to_the_ode_solution(delta16, x64):
    """FastPM KDK vs an adaptive Dormand-Prince solution of dx/da = p/(a^3 E), dp/da = F/(a^2 E)
    with the same PM force: ~1 % at 5 steps, 5x closer at 20 (nonlinear field, rms 3 Mpc/h)."""
    from jax.experimental.ode import odeint
    from sciml.solvers.pm.mesh import force_kernels

    delta = jnp.asarray(delta16, jnp.float64)
    a0, a1, n_mesh = 0.1, 1.0, 2 * N
    disp, mom = pm.lpt(COSMO, delta, BOX, a0)
    q = pm.lagrangian_grid(N, BOX, jnp.float64)
    inv, grads = (jnp.asarray(v) for v in force_kernels(n_mesh, BOX, "exact", "fd", np.float64))
    om, ol = COSMO.Omega_m, COSMO.Omega_L

    def rhs(state, a):
        x, p = state
        e = jnp.sqrt(om / a**3 + ol)
        rho = pm.cic_paint(jnp.mod(x, BOX), n_mesh, BOX)
        force = pm.cic_readout(_force(rho - 1.0, inv, grads, 1.5 * om), jnp.mod(x, BOX), BOX)
        return p / (a**3 * e), force / (a**2 * e)

    ref = odeint(rhs, (q + disp, mom), jnp.array([a0, a1]), rtol=1e-8, atol=1e-8)[0][-1]
    d_ref = pm.displacement(q, ref, BOX)
    rms = float(jnp.sqrt(jnp.mean(d_ref**2)))
    errs = []
    for steps in (5, 20):
        x, _ = pm.fastpm(COSMO, delta, BOX, a_start=a0, a_end=a1, steps=steps)
        errs.append(float(jnp.sqrt(jnp.mean((pm.displacement(q, x, BOX) - d_ref) ** 2))) / rms)
    assert rms > 1.0 and errs[0] < 0.03 and errs[1] < errs[0] / 5, (rms, errs)


def test_simulate_displacements(delta16):
    out = pm.simulate_displacements(COSMO, N, BOX, key=jax.random.key(7), steps=5)
    assert set(out) == {"za", "lpt2", "pm", "delta_lin"}
    for name in ("za", "lpt2", "pm"):
        assert out[name].shape == (N, N, N, 3) and out[name].dtype == np.float32
    # same key as delta16: ZA is D1(1) s1 of that field, and div ZA = -delta_lin
    s1, _ = pm.lpt_terms(delta16, BOX)
    np.testing.assert_allclose(out["za"], s1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["delta_lin"], delta16, rtol=1e-6)
    err = lambda d: np.mean(np.linalg.norm(d - out["pm"], axis=-1))  # noqa: E731
    assert err(out["lpt2"]) < err(out["za"])  # 2LPT is closer to the N-body answer


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: pm.fastpm(COSMO, d, BOX, a_start=0.0), "a_start: expected scale factors"),
        (lambda d: pm.fastpm(COSMO, d, BOX, a_start=0.5, a_end=0.2), "a_start: expected < a_end"),
        (lambda d: pm.fastpm(COSMO, d, BOX, mesh_factor=1.5), "mesh_factor: expected an integer"),
        (lambda d: pm.fastpm(COSMO, d, BOX, steps=0), "steps: expected an integer >= 1"),
        (lambda d: pm.fastpm(COSMO, d, -1.0), "box: expected the side"),
        (lambda d: pm.fastpm(COSMO, d, BOX, gradient="spectral"), "gradient expected one of"),
        (lambda d: pm.lpt(COSMO, d[:, :, :8], BOX, 0.1), r"delta_lin: expected a cubic grid"),
        (lambda d: pm.lpt(COSMO, d.at[0, 0, 0].set(jnp.nan), BOX, 0.1), "NaN or Inf"),
        (lambda d: pm.linear_field(COSMO, 1, BOX, key=jax.random.key(0)), "n: expected an integer"),
        (
            lambda d: pm.fastpm(COSMO, (jnp.full((4, 4, 4, 3), jnp.nan),) * 2, BOX),
            "initial displacement has NaN",
        ),
    ],
)
def test_bad_input(delta16, call, match):
    with pytest.raises(ValueError, match=match):
        call(delta16)
