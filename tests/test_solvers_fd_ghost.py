"""Ghost cells (periodic / Dirichlet / Neumann / extrapolation) and linear stability limits."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import Grid, amplification_factor, max_stable_dt, stability_radius
from sciml.solvers.ghost import fill_ghost, fill_ghost_axis, fill_ghost_grid
from sciml.solvers.stability import raise_if_unstable


def _cells(n, dx):
    return (np.arange(n) + 0.5) * dx


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_dirichlet_ghosts_exact_for_polynomials(order, x64):
    # order p reproduces polynomials of degree p - 1 that take the value g on the faces...
    n, dx, halo = 12, 0.1, 3
    x = _cells(n, dx)
    length = n * dx
    deg = order - 1 if order > 2 else 1  # reflections (order 2) are exact for linear fields
    coeffs = np.array([0.3, -1.2, 0.7, 0.4, -0.25])[: deg + 1]
    p = np.polynomial.Polynomial(coeffs)
    # ...with different values on the two faces (a (low, high) pair)
    u = jnp.asarray(p(x))[None, :, None]
    out = fill_ghost(u, halo, "dirichlet", dx=dx, value=(p(0.0), p(length)), order=order)
    xg = np.concatenate([-x[:halo][::-1], x, length + (np.arange(halo) + 0.5) * dx])
    np.testing.assert_allclose(np.asarray(out[0, :, 0]), p(xg), rtol=0, atol=1e-11)


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_neumann_ghosts_use_outward_derivative(order, x64):
    n, dx, halo = 12, 0.1, 2
    x = _cells(n, dx)
    length = n * dx
    deg = order - 1 if order > 2 else 1
    p = np.polynomial.Polynomial(np.array([0.3, -1.2, 0.7, 0.4, -0.25])[: deg + 1])
    dp = p.deriv()
    # outward normal derivative: -u'(0) on the low face, +u'(L) on the high face
    g = (-dp(0.0), dp(length))
    u = jnp.asarray(p(x))[None, :, None]
    out = fill_ghost(u, halo, "neumann", dx=dx, value=g, order=order)
    xg = np.concatenate([-x[:halo][::-1], x, length + (np.arange(halo) + 0.5) * dx])
    np.testing.assert_allclose(np.asarray(out[0, :, 0]), p(xg), rtol=0, atol=1e-11)


def test_reflections_and_periodic_wrap():
    u = jnp.arange(1.0, 6.0)[None, :, None]  # cells 1..5
    dirichlet = fill_ghost(u, 2, "dirichlet", value=1.0)[0, :, 0]
    np.testing.assert_array_equal(np.asarray(dirichlet), [0, 1, 1, 2, 3, 4, 5, -3, -2])
    neumann = fill_ghost(u, 2, "neumann", dx=0.5, value=2.0)[0, :, 0]
    np.testing.assert_array_equal(np.asarray(neumann), [5, 2, 1, 2, 3, 4, 5, 6, 7])
    periodic = fill_ghost(u, 2, "periodic")[0, :, 0]
    np.testing.assert_array_equal(np.asarray(periodic), [4, 5, 1, 2, 3, 4, 5, 1, 2])
    mixed = fill_ghost(u, 1, ("dirichlet", "extrapolate"), value=0.0, order=2)[0, :, 0]
    np.testing.assert_array_equal(np.asarray(mixed), [-1, 1, 2, 3, 4, 5, 6])


def test_multi_axis_shapes_leading_axes_and_grid():
    grid = Grid((6, 5), (1.0, 2.0), boundary="neumann", boundary_value=0.5)
    u = jnp.ones((3, 2, 6, 5, 4), jnp.float32)  # two leading axes, 4 channels
    out = jax.jit(lambda u: fill_ghost_grid(u, grid, 2))(u)
    assert out.shape == (3, 2, 10, 9, 4) and out.dtype == jnp.float32
    # constant field, outward derivative 0.5: ghost j = 1 + (2j+1) dx 0.5 on every face
    np.testing.assert_allclose(np.asarray(out[0, 0, 0, 4, 0]), 1 + 3 * grid.dx[0] * 0.5)
    np.testing.assert_allclose(np.asarray(out[0, 0, 4, -1, 0]), 1 + 3 * grid.dx[1] * 0.5)
    only_y = jax.eval_shape(lambda u: fill_ghost_axis(u, -2, 1, "periodic"), u)
    assert only_y.shape == (3, 2, 6, 7, 4)
    with pytest.raises(ValueError, match=r"fill_ghost_grid: field spatial shape \(5, 6\)"):
        fill_ghost_grid(jnp.ones((1, 5, 6, 1)), grid, 1)


def test_ghosts_feed_a_ghost_conv():
    # the documented use: a Conv with boundary="ghost" consumes the filled array
    from flax import nnx

    from sciml.nn import Conv

    grid = Grid((16,), (1.0,), boundary="dirichlet", boundary_value=0.0)
    conv = Conv(1, 1, 3, ndim=1, boundary="ghost", use_bias=False, rngs=nnx.Rngs(0))
    conv.conv.kernel[...] = jnp.array([1.0, -2.0, 1.0]).reshape(conv.conv.kernel.shape)
    (x,) = grid.coords()
    u = jnp.asarray(np.sin(np.pi * x), jnp.float32)[None, :, None]
    lap = conv(fill_ghost_grid(u, grid, 1)) / grid.dx[0] ** 2
    assert lap.shape == u.shape
    np.testing.assert_allclose(np.asarray(lap[0, :, 0]), -(np.pi**2) * np.sin(np.pi * x), atol=0.05)


def test_ghost_bad_input():
    u = jnp.ones((1, 8, 1))
    with pytest.raises(ValueError, match=r"boundary: expected one of .*found 'robin'"):
        fill_ghost(u, 1, "robin")
    with pytest.raises(ValueError, match=r"'periodic' must be used on both faces"):
        fill_ghost(u, 1, ("periodic", "dirichlet"))
    with pytest.raises(ValueError, match=r"order: expected an integer from 1 to 5, found 7"):
        fill_ghost(u, 1, "dirichlet", order=7)
    with pytest.raises(ValueError, match=r"need >= 4 cells per axis, found 3"):
        fill_ghost(jnp.ones((1, 3, 1)), 1, "dirichlet", order=5)


# -- stability ------------------------------------------------------------------------------


def test_stability_radii_match_known_values():
    real = stability_radius("euler", np.pi)[0], stability_radius("rk4", np.pi)[0]
    np.testing.assert_allclose(real, [2.0, 2.785293563], rtol=1e-6)
    np.testing.assert_allclose(stability_radius("ssprk3", np.pi)[0], 2.512745327, rtol=1e-6)
    imag = stability_radius("ssprk3", np.pi / 2)[0], stability_radius("rk4", np.pi / 2)[0]
    np.testing.assert_allclose(imag, [math.sqrt(3), 2 * math.sqrt(2)], rtol=1e-6)
    assert stability_radius("euler", np.pi / 2)[0] < 1e-3  # forward Euler: none on the axis
    w = np.array([0.3 + 0.2j, -1.0])
    np.testing.assert_allclose(amplification_factor("rk2", w), 1 + w + w**2 / 2)


def test_max_stable_dt_heat_and_upwind(x64):
    theta = np.linspace(-np.pi, np.pi, 257)
    nu, dx = 0.3, 0.05
    lam_heat = nu / dx**2 * (2 * np.cos(theta) - 2)
    np.testing.assert_allclose(max_stable_dt(lam_heat, "euler"), 0.5 * dx**2 / nu, rtol=1e-8)
    a = 2.0
    lam_up = -a / dx * (1 - np.exp(-1j * theta))
    np.testing.assert_allclose(max_stable_dt(lam_up, "euler"), dx / a, rtol=1e-8)
    assert max_stable_dt(np.zeros(3), "rk4") == math.inf


def test_raise_if_unstable_messages():
    raise_if_unstable(0.1, 0.2, 1.0, name="x", integrator="rk4", scale_text="dx/c")
    with pytest.raises(
        ValueError,
        match=r"dt: 0\.3 is above the stable limit of x: dt <= 0\.2 "
        r"\* dx/c = 0\.2; use dt <= 0\.2",
    ):
        raise_if_unstable(0.3, 0.2, 1.0, name="x", integrator="rk4", scale_text="dx/c")
    with pytest.raises(ValueError, match=r"dt: expected a finite value > 0, found -1"):
        raise_if_unstable(-1.0, 0.2, 1.0, name="x", integrator="rk4", scale_text="dx/c")
