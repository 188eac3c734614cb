"""Diagnostics of a learned tendency, checked on a network whose weights are a known FD stencil."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers import max_stable_dt

from sciml.nn import Tendency
from sciml.stepper import diagnostics as D
from sciml.stepper.model import LearnedStepper

NU, DX, DT = 0.1, 0.05, 0.005
# Negative-real-axis stability limits |R(w)| <= 1 of the explicit RK methods (w = -x, x in [0, X]).
REAL_AXIS_LIMIT = {"euler": 2.0, "rk2": 2.0, "ssprk3": 2.5127453266183286, "rk4": 2.785293563405282}


def heat_stepper(integrator="euler", dx=DX, nu=NU, dt=DT):
    """A depth-1 Tendency whose kernel is the centred second difference: G(u) = nu u_xx."""
    g = Tendency(1, kernel_size=3, depth=1, ndim=1, rngs=nnx.Rngs(0))
    g.convs[0].conv.kernel[...] = jnp.array([1.0, -2.0, 1.0]).reshape(3, 1, 1) * nu / dx**2
    g.convs[0].conv.bias[...] = jnp.zeros(1)
    return LearnedStepper(g, dt=dt, integrator=integrator, dx=[dx], grid_shape=(32,))


def test_stencil_is_recovered():
    s = D.linear_stencil(heat_stepper())
    np.testing.assert_allclose(s[:, 0, 0], np.array([1.0, -2.0, 1.0]) * NU / DX**2, rtol=1e-5)


def test_euler_amplification_is_the_heat_equation_factor():
    k = np.linspace(0.0, np.pi / DX, 17)[:, None]
    g = D.amplification(heat_stepper("euler"), k)
    exact = 1 - 4 * NU * DT / DX**2 * np.sin(k[:, 0] * DX / 2) ** 2
    np.testing.assert_allclose(g, np.abs(exact), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("integrator", ["euler", "rk2", "ssprk3", "rk4"])
def test_max_stable_dt_matches_the_known_limit(integrator):
    # Largest eigenvalue magnitude of nu * D2 is 4 nu / dx^2 (at the Nyquist mode).
    expected = REAL_AXIS_LIMIT[integrator] * DX**2 / (4 * NU)
    got = max_stable_dt(D.stepper_eigenvalues(heat_stepper(integrator)), integrator)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    if integrator == "rk4":  # the old stepper-first signature: a deprecated alias, same number
        with pytest.warns(DeprecationWarning, match="use sciml.solvers.max_stable_dt"):
            np.testing.assert_allclose(D.max_stable_dt(heat_stepper("rk4")), got, rtol=1e-12)


def test_instability_above_the_limit_is_real():
    """Rolling out just above the predicted limit grows the Nyquist mode; just below it decays."""
    limit = max_stable_dt(D.stepper_eigenvalues(heat_stepper("euler")), "euler")
    x = np.arange(32)
    u0 = jnp.asarray(
        (np.cos(np.pi * x) + 0.01 * np.sin(2 * np.pi * x / 32))[None, :, None], jnp.float32
    )
    for factor, grows in ((0.98, False), (1.05, True)):
        st = heat_stepper("euler", dt=factor * limit)
        u = u0
        for _ in range(200):
            u = st.step(u)
        assert (float(jnp.abs(u).max()) > 1.0) == grows


def test_jacobian_of_linear_tendency_is_the_circulant_matrix():
    st = heat_stepper()
    z = jax.random.normal(jax.random.key(0), (8, 1))
    j = np.asarray(D.jacobian(st, z))
    expected = (np.roll(np.eye(8), 1, 1) + np.roll(np.eye(8), -1, 1) - 2 * np.eye(8)) * NU / DX**2
    np.testing.assert_allclose(j, expected, rtol=1e-5, atol=1e-3)


def test_conserved_drift_of_the_heat_stepper():
    """The centred Laplacian conserves mass exactly and dissipates energy."""
    st = heat_stepper("rk4")
    z = jax.random.normal(jax.random.key(1), (2, 32, 1))
    from sciml.solvers import rollout

    traj = rollout(jax.jit(st.step), z, 20)
    d = D.conserved_drift(np.asarray(traj), DX)
    np.testing.assert_allclose(d["mass_drift"], 0.0, atol=1e-4)
    assert np.all(np.diff(d["energy"], axis=1) <= 1e-7)
    assert d["mass"].shape == (2, 21, 1)


def test_stability_function_rejects_unknown():
    with pytest.raises(ValueError, match="integrator: expected one of"):
        D.stability_function("leapfrog", np.zeros(3))
