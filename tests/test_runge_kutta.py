"""The one Runge-Kutta table: order conditions, stability polynomial, NumPy = JAX, one max_stable_dt."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciml.runge_kutta import TABLEAUX, get_tableau, max_stable_dt, rk_step, stability_function


@pytest.mark.parametrize("name", list(TABLEAUX))
def test_tableaux_satisfy_the_order_conditions(name):
    t = TABLEAUX[name]
    s = t.stages
    a = np.zeros((s, s))
    for i, row in enumerate(t.a):
        a[i, : len(row)] = row
    b, c = np.asarray(t.b), np.asarray(t.c)
    assert np.all(np.triu(a) == 0)  # explicit
    conditions = [b.sum() - 1, b @ c - 1 / 2, b @ c**2 - 1 / 3, b @ a @ c - 1 / 6]
    conditions += [b @ c**3 - 1 / 4, b @ (c * (a @ c)) - 1 / 8, b @ a @ c**2 - 1 / 12]
    conditions += [b @ a @ a @ c - 1 / 24]
    n_conditions = {1: 1, 2: 2, 3: 4, 4: 8}[t.order]
    np.testing.assert_allclose(conditions[:n_conditions], 0.0, atol=1e-15)
    # for these methods (order = stages) R(w) is the Taylor polynomial of exp(w)
    gamma = t.stability_coefficients()
    np.testing.assert_allclose(gamma, [1 / math.factorial(m) for m in range(s + 1)], rtol=1e-15)


@pytest.mark.parametrize("name", list(TABLEAUX))
def test_numpy_and_jax_steps_agree_and_match_the_linear_stability_function(name, x64):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 5, 3))
    lam, dt = -0.7 + 0.3j, 0.4

    def f(v):
        return np.real(lam) * v + 0.1 * v**2

    z_np = rk_step(name, f, z, dt)
    z_jax = jax.jit(lambda v: rk_step(name, f, v, dt))(jnp.asarray(z))
    np.testing.assert_allclose(np.asarray(z_jax), z_np, rtol=1e-14, atol=1e-15)
    # linear complex ODE: one step multiplies by R(dt lambda)
    zc = rng.normal(size=4) + 1j * rng.normal(size=4)
    np.testing.assert_allclose(
        rk_step(name, lambda v: lam * v, zc, dt),
        stability_function(name, dt * lam) * zc,
        rtol=1e-14,
    )
    assert rk_step(name, f, z.astype(np.float32), dt).dtype == np.float32


def test_one_max_stable_dt_and_bad_names():
    import sciml.solvers
    from sciml.solvers import stability

    assert sciml.solvers.max_stable_dt is stability.max_stable_dt is max_stable_dt
    # heat equation, second-order Laplacian: max |lambda| = 4 nu / dx^2 on the negative real axis
    nu, dx = 0.1, 0.05
    theta = np.linspace(-np.pi, np.pi, 513)
    lam = nu / dx**2 * (2 * np.cos(theta) - 2)
    np.testing.assert_allclose(max_stable_dt(lam, "euler"), 0.5 * dx**2 / nu, rtol=1e-8)
    assert max_stable_dt(np.zeros(3), "rk4") == math.inf
    with pytest.raises(
        ValueError,
        match=r"integrator: expected one of euler, rk2, ssprk3, rk4, found 'leapfrog'; e\.g\.",
    ):
        get_tableau("leapfrog")
