"""Supervised face-flux stage of the learned-stencil model: the exact coarse flux, the task."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers import Grid
from sciml.solvers.fv import Forcing, FVBurgers, forcing_cell_average, random_forcing

from sciml.stepper.stencil import StencilFluxModel
from sciml.stepper.stencil_flux_task import StencilFluxTask, exact_face_flux, make_flux_samples

TWO_PI = 2 * np.pi


def _rough_field(m, seed):
    """Cell averages on ``m`` cells with a steep front and small-scale noise, ``(2, m, 1)``."""
    x = (np.arange(m) + 0.5) * TWO_PI / m
    rng = np.random.default_rng(seed)
    u = np.stack([np.tanh(8 * np.sin(x + p)) + 0.3 * np.cos(3 * x) for p in (0.0, 1.3)])
    return (u + 0.05 * rng.normal(size=u.shape))[..., None]


def test_exact_flux_reproduces_the_coarse_grained_fine_tendency(x64):
    # d/dt of the coarse averages of a fine FV solution = -(flux difference) / dx_c + <f>_c,
    # with the fine fluxes at the coarse faces: an identity (telescoping), so round-off only
    m, r, nu = 256, 8, 0.01
    n = m // r
    fine = jnp.asarray(_rough_field(m, 0))
    f32 = random_forcing(2, key=jax.random.key(3))
    forcing = Forcing(*(jnp.asarray(a, jnp.float64) for a in f32))
    t = jnp.asarray([0.7, 2.1])
    solver = FVBurgers(Grid((m,), (TWO_PI,)), 1e-3, nu=nu, scheme="weno5")
    coarse_rate = (
        np.asarray(jax.jit(solver.tendency)(fine, t, forcing)).reshape(2, n, r, 1).mean(axis=2)
    )
    flux = np.asarray(exact_face_flux(fine, r, nu=nu))
    assert flux.shape == (2, n, 1) and flux.dtype == np.float64
    dxc = TWO_PI / n
    xc = jnp.asarray((np.arange(n) + 0.5) * dxc)
    rate = -(flux - np.roll(flux, 1, axis=1)) / dxc + np.asarray(
        forcing_cell_average(forcing, xc, dxc, t)
    )
    scale = np.abs(coarse_rate).max()
    assert scale > 1.0  # a real test: the field is steep, the rate large
    np.testing.assert_allclose(rate, coarse_rate, atol=1e-12 * scale, rtol=0)
    # the wrong face (cell centre of the coarse cell) does not satisfy it
    wrong = np.asarray(jax.jit(solver.fluxes)(fine))[:, r // 2 :: r]
    bad = -(wrong - np.roll(wrong, 1, axis=1)) / dxc
    assert np.abs(bad - (rate - np.asarray(forcing_cell_average(forcing, xc, dxc, t)))).max() > 0.1


def test_flux_samples_and_bad_input():
    fine = _rough_field(64, 1).astype(np.float32)[:, None]  # (batch, T=1, M, 1)
    s = make_flux_samples(fine, 4, nu=0.01, chunk=1)
    assert s["u"].shape == s["flux"].shape == (2, 16, 1)
    np.testing.assert_allclose(s["u"], fine[:, 0].reshape(2, 16, 4, 1).mean(axis=2), rtol=1e-6)
    np.testing.assert_allclose(
        s["flux"], np.asarray(exact_face_flux(fine[:, 0], 4, nu=0.01)), rtol=1e-6
    )
    with pytest.raises(ValueError, match="M a multiple of factor=5"):
        exact_face_flux(fine[:, 0], 5, nu=0.01)
    with pytest.raises(ValueError, match="flux_scale: expected > 0"):
        StencilFluxTask(0.0)
    with pytest.raises(ValueError, match=r"missing \['flux'\]"):
        StencilFluxTask().loss(None, {"u": fine[:, 0]}, key=None, step=0)


def test_flux_task_loss_is_the_model_flux_error_and_its_gradient_fits_the_target():
    # the loss is the scaled MSE of the model's flux; one gradient step on a mismatched target
    # lowers it (the task trains the stencils through the Godunov flux)
    n = 32
    model = StencilFluxModel(dx=TWO_PI / n, nu=0.01, dt=0.01, width=8, depth=2, rngs=nnx.Rngs(0))
    u = jnp.asarray(_rough_field(n, 2), jnp.float32)
    task = StencilFluxTask(0.5)
    target = exact_face_flux(jnp.repeat(u, 4, axis=1), 4, nu=0.01) + 0.05
    batch = {"u": u, "flux": target}

    @nnx.jit
    def loss_and_grad(m):
        out = nnx.value_and_grad(lambda m: task.loss(m, batch, key=None, step=0), has_aux=True)(m)
        return out, m.fluxes(u)

    ((loss0, aux), grads), flux = loss_and_grad(model)
    np.testing.assert_allclose(
        float(loss0), np.mean(((np.asarray(flux) - np.asarray(target)) / 0.5) ** 2), rtol=1e-5
    )
    np.testing.assert_allclose(float(aux["flux_rmse"]) ** 2, float(loss0), rtol=1e-5)
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p, g: p - 1e-2 * g, params, nnx.state(grads, nnx.Param)))
    assert float(loss_and_grad(model)[0][0][0]) < 0.99 * float(loss0)
