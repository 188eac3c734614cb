"""Finite-difference solvers: analytic solutions, convergence orders, conservation, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import (
    INTEGRATORS,
    ORDER,
    FDAdvection,
    FDBurgers,
    FDHeat,
    FDWave,
    Grid,
    get_equation,
    rollout,
)
from sciml.solvers.fd.burgers import limited_slope


def _final(step, u0, n_steps):
    """State after ``n_steps`` (one compiled step, a Python loop: cheaper to compile than a scan)."""
    f = jax.jit(step)
    for _ in range(n_steps):
        u0 = f(u0)
    return u0


def _slope(ns, errors):
    """Observed order: slope of log(error) against log(dx) (dx ~ 1/N)."""
    return -np.polyfit(np.log(ns), np.log(errors), 1)[0]


def _field(f, x):
    return jnp.asarray(f(x))[None, :, None]


# -- heat ----------------------------------------------------------------------------------

HEAT_CASES = {
    # boundary, value, u0(x) on [0, 1], decay wavenumber
    "dirichlet": ("dirichlet", 0.5, lambda x: 0.5 + np.sin(np.pi * x), np.pi),
    "neumann": ("neumann", 0.0, lambda x: np.cos(np.pi * x), np.pi),
    "periodic": ("periodic", 0.0, lambda x: np.sin(2 * np.pi * x), 2 * np.pi),
}


@pytest.mark.parametrize(
    "case, scheme",
    [
        ("dirichlet", "central2"),
        ("neumann", "central2"),
        ("dirichlet", "central4"),
        ("neumann", "central4"),
        ("periodic", "central4"),
    ],
)
def test_heat_modes_decay_with_declared_order(case, scheme, x64):
    boundary, g, f, k = HEAT_CASES[case]
    nu, t_end = 0.1, 0.2
    ns, errors = [16, 32], []
    for n in ns:
        grid = Grid((n,), (1.0,), boundary=boundary, boundary_value=g)
        n_steps = int(np.ceil(t_end / (0.2 * grid.dx[0] ** 2 / nu)))
        step = FDHeat(grid, t_end / n_steps, nu=nu, scheme=scheme, integrator="rk4")
        (x,) = grid.coords()
        u = _final(step, _field(f, x), n_steps)
        exact = g + (f(x) - g) * np.exp(-nu * k**2 * t_end)
        errors.append(float(jnp.max(jnp.abs(u[0, :, 0] - exact))))
    order = _slope(ns, errors)
    assert abs(order - step.order) < 0.5, (case, scheme, order, errors)


def test_heat_neumann_flux_exact_quadratic(x64):
    # outward normal derivative g on both faces: u = g (x - 1/2)^2 + 2 nu g t is exact for the
    # second-order scheme (the ghosts reproduce quadratics), so the error is round-off only.
    g, nu = 0.7, 0.05
    grid = Grid((20,), (1.0,), boundary="neumann", boundary_value=g)
    step = FDHeat(grid, 1e-3, nu=nu, integrator="rk2")
    (x,) = grid.coords()
    traj = rollout(step, _field(lambda x: g * (x - 0.5) ** 2, x), 50, save_every=10)
    t = np.arange(6) * 10 * 1e-3
    exact = g * (x[None, :] - 0.5) ** 2 + 2 * nu * g * t[:, None]
    np.testing.assert_allclose(np.asarray(traj[0, :, :, 0]), exact, rtol=0, atol=1e-13)


def test_heat2d_dirichlet_mode(x64):
    nu, t_end, errors, ns = 0.05, 0.1, [], [16, 32]
    for n in ns:
        grid = Grid((n, n), (1.0, 2.0), boundary="dirichlet")
        step = FDHeat(grid, t_end / 20, nu=nu)
        x, y = grid.mesh()
        mode = np.sin(np.pi * x) * np.sin(np.pi * y / 2)
        u = _final(step, jnp.asarray(mode)[None, ..., None], 20)
        exact = mode * np.exp(-nu * np.pi**2 * 1.25 * t_end)
        errors.append(float(jnp.max(jnp.abs(u[0, ..., 0] - exact))))
    assert abs(_slope(ns, errors) - 2) < 0.3, errors


@pytest.mark.parametrize(
    "boundary, shape, dtype, tol",
    [("periodic", (48,), np.float32, 2e-5), ("neumann", (12, 10), np.float64, 1e-13)],
)
def test_heat_conserves_mass(boundary, shape, dtype, tol, x64):
    grid = Grid(shape, (1.0,) * len(shape), boundary=boundary)
    step = FDHeat(grid, 2e-4, nu=0.05, integrator="ssprk3")
    u0 = jnp.asarray(np.random.default_rng(1).uniform(size=(2, *shape, 1)).astype(dtype))
    u = _final(step, u0, 60)
    assert u.dtype == dtype
    axes = tuple(range(1, u.ndim))
    np.testing.assert_allclose(np.asarray(u.sum(axes)), np.asarray(u0.sum(axes)), rtol=tol)
    assert float(jnp.std(u)) < 0.9 * float(jnp.std(u0))  # it did diffuse


# -- advection ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["upwind1", "central2", "upwind3", "central4"])
def test_advection_periodic_exact_shift_order(scheme, x64):
    def f(x):
        return np.sin(2 * np.pi * x) + 0.5 * np.cos(4 * np.pi * x)

    a, t_end, ns, errors = 1.0, 0.4, [64, 128], []
    for n in ns:
        grid = Grid((n,), (1.0,))
        n_steps = round(t_end / (0.25 * grid.dx[0]))
        step = FDAdvection(grid, t_end / n_steps, velocity=a, scheme=scheme, integrator="rk4")
        (x,) = grid.coords()
        u = _final(step, _field(f, x), n_steps)
        errors.append(float(jnp.max(jnp.abs(u[0, :, 0] - f(x - a * t_end)))))
    assert abs(_slope(ns, errors) - step.order) < 0.3, (scheme, errors)


def _bump(x):  # C^7 bump on [0.1, 0.6] on top of the inflow value 0.3
    r = (x - 0.35) / 0.5
    return 0.3 + np.where(np.abs(r) < 0.5, np.cos(np.pi * r) ** 8, 0.0)


@pytest.mark.parametrize("scheme, velocity", [("upwind3", -1.0), ("central4", 1.0)])
def test_advection_dirichlet_inflow_order(scheme, velocity, x64):
    f = _bump if velocity > 0 else (lambda x: _bump(1 - x))
    t_end, ns, errors = 0.3, [128, 256], []
    for n in ns:
        grid = Grid((n,), (1.0,), boundary="dirichlet", boundary_value=0.3)
        n_steps = round(t_end / (0.25 * grid.dx[0]))
        step = FDAdvection(
            grid, t_end / n_steps, velocity=velocity, scheme=scheme, integrator="rk4"
        )
        (x,) = grid.coords()
        u = _final(step, _field(f, x), n_steps)
        errors.append(float(jnp.max(jnp.abs(u[0, :, 0] - f(x - velocity * t_end)))))
    assert abs(_slope(ns, errors) - step.order) < 0.4, (scheme, velocity, errors)


@pytest.mark.parametrize("boundary", ["dirichlet", "neumann"])
def test_advection_bump_leaves_through_outflow(boundary):
    # after the bump has crossed the outflow face the domain holds the inflow state only:
    # extrapolated outflow ghosts must not reflect it back
    g = 0.3 if boundary == "dirichlet" else 0.0
    grid = Grid((128,), (1.0,), boundary=boundary, boundary_value=g)
    step = FDAdvection(grid, 0.25 / 128, velocity=1.0, scheme="upwind3")
    (x,) = grid.coords()
    u = _final(step, _field(lambda x: _bump(x) - 0.3 + g, x), 512)  # t = 1
    np.testing.assert_allclose(np.asarray(u[0, :, 0]), g, atol=2e-3)


def test_advection2d_periodic_shift_and_mass():
    grid = Grid((32, 32), (1.0, 1.0))
    step = FDAdvection(grid, 0.01, velocity=(1.0, -0.5), scheme="central4", integrator="rk4")
    x, y = grid.mesh()
    f = lambda x, y: np.sin(2 * np.pi * x) * np.cos(2 * np.pi * y) + 1.0  # noqa: E731
    u = _final(step, jnp.asarray(f(x, y), jnp.float32)[None, ..., None], 40)
    exact = f(x - 0.4, y + 0.2)
    np.testing.assert_allclose(np.asarray(u[0, ..., 0]), exact, atol=2e-3)
    np.testing.assert_allclose(float(u.sum()), f(x, y).sum(), rtol=1e-5)


# -- Burgers --------------------------------------------------------------------------------

NU_B, K_B = 0.05, 1.0


def _cole_hopf(x, t):  # exact solution, u = -2 nu phi_x / phi with phi = 1 + 0.8 e cos(kx)
    e = 0.8 * np.exp(-NU_B * K_B**2 * t)
    return 2 * NU_B * K_B * e * np.sin(K_B * x) / (1.0 + e * np.cos(K_B * x))


@pytest.mark.parametrize(
    "scheme, boundary, length",
    [("rusanov", "periodic", 2 * np.pi), ("muscl", "periodic", 2 * np.pi),
     ("muscl", "dirichlet", np.pi)],
)  # fmt: skip
def test_burgers_cole_hopf_order(scheme, boundary, length, x64):
    # sin(k x) vanishes at 0 and pi, so the same solution is a homogeneous Dirichlet problem
    t_end, ns, errors = 1.0, [64, 128], []
    for n in ns:
        grid = Grid((n,), (length,), boundary=boundary)
        n_steps = int(np.ceil(t_end / (0.3 * grid.dx[0])))
        step = FDBurgers(grid, t_end / n_steps, nu=NU_B, scheme=scheme, integrator="rk4")
        (x,) = grid.coords()
        u0 = _field(lambda x: _cole_hopf(x, 0.0), x)
        step.check_dt(u0)
        u = _final(step, u0, n_steps)
        errors.append(float(jnp.max(jnp.abs(u[0, :, 0] - _cole_hopf(x, t_end)))))
    assert abs(_slope(ns, errors) - step.order) < 0.3, (scheme, boundary, errors)


@pytest.mark.parametrize("dtype, tol", [(jnp.float32, 1e-6), (jnp.float64, 1e-14)])
def test_burgers_inviscid_shock_conserves_mass_and_bounds(dtype, tol, x64):
    grid = Grid((64,), (1.0,))
    (x,) = grid.coords()
    u0 = jnp.asarray(0.5 + np.sin(2 * np.pi * x), dtype)[None, :, None]
    step = FDBurgers(grid, 0.004, nu=0.0, scheme="muscl", limiter="mc", integrator="ssprk3")
    step.check_dt(u0)
    frames = [u0]
    for _ in range(3):  # shock forms at t = 1/(2 pi) ~ 0.16; frames at t = 0.2, 0.4, 0.6
        frames.append(_final(step, frames[-1], 50))
    traj = jnp.stack(frames, axis=1)
    mass = np.asarray(traj.sum(axis=(2, 3)), np.float64)[0]
    np.testing.assert_allclose(mass, mass[0], rtol=0, atol=tol * 64 * 2)
    # total variation diminishing + maximum principle (limiter + SSP time stepping)
    tv = np.abs(np.diff(np.asarray(traj[0, :, :, 0]), axis=1, append=traj[0, :, :1, 0])).sum(1)
    assert np.all(np.diff(tv) <= 1e-5), tv
    assert float(traj.max()) <= 1.5 + 1e-5 and float(traj.min()) >= -0.5 - 1e-5


# -- wave -----------------------------------------------------------------------------------

C_W, T_W = 1.5, 0.7
WAVE_CASES = {
    "dirichlet": (lambda x: np.sin(np.pi * x), np.pi),
    "neumann": (lambda x: np.cos(np.pi * x), np.pi),
}


@pytest.mark.parametrize("boundary, scheme", [("dirichlet", "central2"), ("neumann", "central4")])
def test_wave_standing_mode_order(boundary, scheme, x64):
    f, k = WAVE_CASES[boundary]
    ns, errors = [16, 32], []
    for n in ns:
        grid = Grid((n,), (1.0,), boundary=boundary)
        n_steps = int(np.ceil(T_W / (0.2 * grid.dx[0] / C_W)))
        step = FDWave(grid, T_W / n_steps, c=C_W, scheme=scheme)
        (x,) = grid.coords()
        state = jnp.asarray(np.stack([f(x), 0 * x], -1))[None]
        u = _final(step, state, n_steps)
        exact = f(x) * np.cos(C_W * k * T_W)
        errors.append(float(jnp.max(jnp.abs(u[0, :, 0] - exact))))
    assert abs(_slope(ns, errors) - step.order) < 0.4, (boundary, scheme, errors)


@pytest.mark.parametrize("boundary", ["periodic", "dirichlet", "neumann"])
def test_wave_semidiscrete_energy_is_exactly_conserved(boundary, x64):
    # dE/dt along the semi-discrete flow, d/de E(z + e f(z)) at e = 0, vanishes to round-off
    grid = Grid((32, 24), (1.0, 0.8), boundary=boundary)
    step = FDWave(grid, 1e-3, c=1.3)
    z = jnp.asarray(np.random.default_rng(0).normal(size=(2, 32, 24, 2)))

    def energy_rate(step, z):  # jitted: one compilation instead of op-by-op dispatch
        return jax.jit(lambda v: jax.jvp(step.energy, (v,), (step.tendency(v),)))(z)

    energy, rate = energy_rate(step, z)
    scale = np.asarray(energy) * 1.3 * np.sqrt(2) * 32 / 0.8  # E times the largest frequency
    np.testing.assert_allclose(np.asarray(rate), 0.0, atol=1e-12 * scale.max())
    if boundary != "periodic":
        return
    damped = FDWave(grid, 1e-3, c=1.3, damping=0.5)
    _, rate = energy_rate(damped, z)
    kinetic = 0.5 * np.sum(np.asarray(z[..., 1]) ** 2, axis=(1, 2)) * np.prod(grid.dx)
    np.testing.assert_allclose(np.asarray(rate), -2 * 0.5 * kinetic, rtol=1e-10)  # dE/dt = -g |v|^2


def test_wave_energy_drift_of_rk4_is_small(x64):
    grid = Grid((32,), (1.0,), boundary="dirichlet")
    (x,) = grid.coords()
    u0 = np.exp(-80 * (x - 0.4) ** 2)
    state = jnp.asarray(np.stack([u0, np.zeros_like(x)], -1))[None]
    step = FDWave(grid, 0.25 / 32, c=1.0)
    e0 = float(step.energy(state)[0])
    e1 = float(step.energy(_final(step, state, 256))[0])  # two crossing times
    assert 0 <= (e0 - e1) / e0 < 1e-4  # rk4 is slightly dissipative, never amplifying
    # the discrete energy approximates the continuous c^2/2 int u_x^2 dx
    continuous = 0.5 * np.sum((160 * (x - 0.4) * u0) ** 2) * grid.dx[0]
    np.testing.assert_allclose(e0, continuous, rtol=0.05)


# -- time order on a PDE, transformations ---------------------------------------------------


@pytest.mark.parametrize("integrator", list(ORDER))
def test_time_order_on_semidiscrete_heat(integrator, x64):
    # exact solution of the semi-discrete system: each Fourier mode decays with the symbol
    n, nu, t_end = 16, 1.0, 0.02
    grid = Grid((n,), (1.0,))
    (x,) = grid.coords()
    u0 = np.sin(2 * np.pi * x) + 0.3 * np.cos(6 * np.pi * x)
    m = np.fft.fftfreq(n, 1.0 / n)
    lam = -4 * nu / grid.dx[0] ** 2 * np.sin(np.pi * m / n) ** 2
    exact = np.real(np.fft.ifft(np.fft.fft(u0) * np.exp(lam * t_end)))
    step = FDHeat(grid, t_end / 40, nu=nu, integrator=integrator)
    integrate = INTEGRATORS[integrator]

    @jax.jit
    def solve(u, n_steps):  # the step's own tendency and integrator, with a traced dt
        dt = t_end / n_steps
        return jax.lax.fori_loop(0, n_steps, lambda i, u: integrate(step.tendency, u, dt), u)

    steps = [40, 80, 160]
    errors = [
        float(jnp.max(jnp.abs(solve(_field(lambda x: u0, x), k)[0, :, 0] - exact))) for k in steps
    ]
    assert abs(_slope(steps, errors) - ORDER[integrator]) < 0.25, (integrator, errors)


def test_jit_vmap_grad_float32():
    grid = Grid((32,), (1.0,), boundary="dirichlet", boundary_value=0.1)
    step = FDBurgers(grid, 2e-3, nu=0.02, scheme="rusanov")
    (x,) = grid.coords()
    u = jnp.asarray(np.sin(np.pi * x), jnp.float32)[None, :, None]
    batch = jnp.concatenate([u, 0.5 * u, -u], axis=0)
    out = jax.jit(step)(batch)
    assert out.dtype == jnp.float32 and out.shape == batch.shape
    # vmap over samples (each call sees (N, C)) equals the batched step
    vmapped = jax.jit(jax.vmap(step))(batch)
    np.testing.assert_allclose(np.asarray(vmapped), np.asarray(out), atol=1e-6)

    def loss(z):
        return jnp.sum(step(z) ** 2)

    grad = jax.jit(jax.grad(loss))(u)
    assert grad.shape == u.shape and bool(jnp.all(jnp.isfinite(grad)))
    eps = 1e-2
    e = jnp.zeros_like(u).at[0, 10, 0].set(eps)
    loss_jit = jax.jit(loss)
    fd = (float(loss_jit(u + e)) - float(loss_jit(u - e))) / (2 * eps)
    np.testing.assert_allclose(float(grad[0, 10, 0]), fd, rtol=2e-2)


@pytest.mark.parametrize("limiter", ["minmod", "vanleer", "mc"])
def test_limiters_have_finite_gradients_at_flat_and_extrema(limiter):
    # flat regions (0, 0) and extrema (opposite signs) are where a naive ratio limiter gives NaN
    left = jnp.array([0.0, 1.0, -1.0, 0.5, 0.0], jnp.float32)
    right = jnp.array([0.0, -1.0, 2.0, 0.5, 1.0], jnp.float32)
    slope, vjp = jax.vjp(lambda a, b: limited_slope(a, b, limiter), left, right)
    grads = vjp(jnp.ones_like(slope))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    np.testing.assert_allclose(np.asarray(slope)[:4], [0.0, 0.0, 0.0, 0.5], atol=1e-6)


@pytest.mark.parametrize(
    "name, boundary",
    [("fd_advection2d", "neumann"), ("fd_burgers1d", "dirichlet"), ("fd_wave1d", "periodic")],
)  # fmt: skip
def test_registered_fd_equations_make_working_steps(name, boundary):
    spec = get_equation(name)
    assert "=" in spec.description and spec.solver and set(spec.units) >= {*spec.channels, "x"}
    grid = spec.grid(shape=(32,) if spec.ndim == 1 else (16, 16))
    params = {"boundary": boundary, "boundary_value": 0.0 if boundary == "periodic" else 0.3}
    z0 = spec.initial_condition(grid, 2, key=jax.random.key(0), **params)
    assert z0.shape == (2, *grid.shape, len(spec.channels))
    step = spec.make_step(grid, spec.default_dt, **params)
    assert step.grid.boundary == boundary and step.dt == spec.default_dt
    step.check_dt(z0)  # the defaults are stable for the default initial condition
    z1 = jax.jit(step)(z0)
    assert z1.shape == z0.shape and bool(jnp.all(jnp.isfinite(z1)))


def test_registry_boundary_parameter():
    spec = get_equation("fd_heat1d")
    grid = spec.grid()
    step = spec.make_step(grid, 1e-3, boundary="dirichlet", boundary_value=0.25)
    assert step.grid.boundary == "dirichlet" and step.grid.boundary_value == 0.25
    u0 = spec.initial_condition(
        grid, 3, key=jax.random.key(0), boundary="dirichlet", boundary_value=0.25
    )
    # sine-series IC: the value linearly extrapolated to the faces is the Dirichlet value
    faces = 1.5 * u0[:, [0, -1], 0] - 0.5 * u0[:, [1, -2], 0]
    np.testing.assert_allclose(np.asarray(faces), 0.25, atol=2e-3)
    assert get_equation("fd_wave1d").make_step(grid, 1e-3).grid.boundary == "periodic"
    for name in ("fd_advection1d", "fd_advection2d", "fd_burgers1d", "fd_wave2d", "fd_heat2d"):
        spec = get_equation(name)
        assert set(spec.boundaries) == {"periodic", "dirichlet", "neumann"}
        assert "boundary" in spec.params


# -- bad input ------------------------------------------------------------------------------


def test_unstable_dt_states_the_limit():
    grid = Grid((64,), (1.0,))
    with pytest.raises(
        ValueError,
        match=r"dt: 0\.01 is above the stable limit .*dt <= 0\.5 \* "
        r"dx\^2/nu = 0\.0012207;",
    ):
        FDHeat(grid, 0.01, nu=0.1, integrator="euler")
    with pytest.raises(ValueError, match=r"above the stable limit .*2\.828 \* dx/\|a\|"):
        FDAdvection(grid, 0.1, velocity=2.0, scheme="central2", integrator="rk4")
    with pytest.raises(ValueError, match=r"unstable for every dt > 0.*use integrator='ssprk3'"):
        FDAdvection(grid, 1e-4, scheme="central2", integrator="euler")
    with pytest.raises(ValueError, match=r"above the stable limit .*1\.414 \* dx/c"):
        FDWave(grid, 0.1, c=1.0)
    step = FDBurgers(grid, 0.01, nu=0.0, scheme="rusanov", integrator="euler")
    with pytest.raises(ValueError, match=r"max\|u\| = 2.*use dt <= 0\.0078125"):
        step.check_dt(2.0 * jnp.ones((1, 64, 1)))
    with pytest.raises(ValueError, match=r"depends on max\|u\|.*check_dt\(state\)"):
        step.check_dt()
    with pytest.raises(ValueError, match=r"max\|u\| = 1\].*use dt <= 0\.0086"):
        FDBurgers(grid, 0.1, nu=0.01, u_max=1.0)


def test_bad_parameters_one_line_errors():
    grid = Grid((16,), (1.0,))
    with pytest.raises(ValueError, match=r"nu: expected a finite value > 0, found -0\.1"):
        FDHeat(grid, 1e-4, nu=-0.1)
    with pytest.raises(ValueError, match=r"nu: expected a finite value >= 0, found -1"):
        FDBurgers(grid, 1e-4, nu=-1.0)
    with pytest.raises(ValueError, match=r"c: expected a finite value > 0, found 0"):
        FDWave(grid, 1e-4, c=0.0)
    with pytest.raises(ValueError, match=r"scheme: fd_heat expects one of .*found 'upwind'"):
        FDHeat(grid, 1e-4, scheme="upwind")
    with pytest.raises(ValueError, match=r"integrator: expected one of .*found 'rk5'"):
        FDAdvection(grid, 1e-4, integrator="rk5")
    with pytest.raises(ValueError, match=r"limiter: expected one of .*found 'superbee'"):
        FDBurgers(grid, 1e-4, limiter="superbee")
    with pytest.raises(ValueError, match=r"Grid\.boundary: expected one of .*found 'robin'"):
        Grid((16,), (1.0,), boundary="robin")
    with pytest.raises(ValueError, match=r"state: fd_wave expects shape \(batch, \*\(16,\), 2\)"):
        FDWave(grid, 1e-3)(jnp.zeros((1, 16, 1)))
    with pytest.raises(ValueError, match=r"grid: fd_burgers supports \[1\] spatial axes"):
        FDBurgers(Grid((8, 8), (1.0, 1.0)), 1e-4)
    spec = get_equation("fd_burgers1d")
    with pytest.raises(ValueError, match=r"parameter 'boundary' expected one of .*'robin'"):
        spec.make_step(spec.grid(), 1e-4, boundary="robin")
    with pytest.raises(ValueError, match=r"parameter 'nu' expected a float >= 0, found -0\.5"):
        spec.make_step(spec.grid(), 1e-4, nu=-0.5)
    with pytest.raises(ValueError, match=r"boundary_value: only used by non-periodic .*found 1\.5"):
        spec.make_step(spec.grid(), 1e-4, boundary_value=1.5)
