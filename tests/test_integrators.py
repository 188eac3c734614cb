"""Explicit Runge-Kutta integrators: convergence order in time, stability polynomials, API."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers.integrators import INTEGRATORS, ORDER, STAGES, get_integrator


def _integrate(name, f, z0, t_end, n_steps):
    integ = INTEGRATORS[name]

    @jax.jit
    def run(z, n):
        dt = t_end / n
        return jax.lax.fori_loop(0, n, lambda i, z: integ(f, z, dt), z)

    return [run(z0, n) for n in n_steps]


def _slope(dts, errors):
    return np.polyfit(np.log(dts), np.log(errors), 1)[0]


@pytest.mark.parametrize("name", list(INTEGRATORS))
def test_order_in_time_nonlinear_scalar(name, x64):
    # y' = -y^2, y(0) = 1  ->  y(t) = 1 / (1 + t)
    n_steps = [10, 20, 40, 80]
    finals = _integrate(name, lambda y: -(y**2), jnp.ones(3), 1.0, n_steps)
    errors = [float(jnp.max(jnp.abs(y - 0.5))) for y in finals]
    slope = _slope([1.0 / n for n in n_steps], errors)
    assert abs(slope - ORDER[name]) < 0.2, (name, slope, errors)


@pytest.mark.parametrize("name", list(INTEGRATORS))
def test_order_in_time_pytree_oscillator(name, x64):
    # (q, p)' = (p, -q): a pytree state; exact solution is a rotation
    def f(z):
        return {"q": z["p"], "p": -z["q"]}

    z0 = {"q": jnp.array([1.0, 0.0]), "p": jnp.array([0.0, 2.0])}
    t_end = 2.0
    n_steps = [20, 40, 80, 160]
    finals = _integrate(name, f, z0, t_end, n_steps)
    c, s = math.cos(t_end), math.sin(t_end)
    q_exact = c * z0["q"] + s * z0["p"]
    p_exact = -s * z0["q"] + c * z0["p"]
    errors = [
        float(jnp.max(jnp.abs(z["q"] - q_exact)) + jnp.max(jnp.abs(z["p"] - p_exact)))
        for z in finals
    ]
    slope = _slope([t_end / n for n in n_steps], errors)
    assert abs(slope - ORDER[name]) < 0.2, (name, slope, errors)


@pytest.mark.parametrize("name", list(INTEGRATORS))
def test_linear_step_is_taylor_polynomial(name, x64):
    # One step on z' = lam z gives R(dt lam) z with R the degree-p Taylor polynomial of exp.
    lam = jnp.array([-1.3, 0.7, -0.2])
    dt = 0.37
    z = jnp.array([1.0, -2.0, 0.5])
    out = INTEGRATORS[name](lambda y: lam * y, z, dt)
    w = np.asarray(lam) * dt
    r = sum(w**k / math.factorial(k) for k in range(STAGES[name] + 1))
    np.testing.assert_allclose(np.asarray(out), r * np.asarray(z), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", list(INTEGRATORS))
def test_float32_preserved_and_differentiable(name):
    f = INTEGRATORS[name]
    z = jnp.linspace(0.0, 1.0, 5, dtype=jnp.float32)
    out = jax.jit(lambda z: f(jnp.sin, z, 0.1))(z)
    assert out.dtype == jnp.float32
    # d/dz of one step of z' = a z is R(dt a); compare the gradient with that polynomial
    a = -0.8
    g = jax.grad(lambda z: jnp.sum(f(lambda y: a * y, z, 0.5)))(z)
    r = sum((0.5 * a) ** k / math.factorial(k) for k in range(STAGES[name] + 1))
    np.testing.assert_allclose(np.asarray(g), np.full(5, r, np.float32), rtol=1e-6)


def test_attributes_and_lookup():
    for name, fn in INTEGRATORS.items():
        assert fn.order == ORDER[name]
        assert get_integrator(name) is fn
    with pytest.raises(ValueError, match=r"integrator: expected one of .*found 'rk5'"):
        get_integrator("rk5")
