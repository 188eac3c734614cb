"""LearnedStepper built from plain values, G variants, integrator swaps, hybrid, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers.integrators import INTEGRATORS

from sciml.stepper.hybrid import HybridStepper, make_hybrid_stepper
from sciml.stepper.model import make_learned_stepper


def _stepper(**kw):
    args = dict(
        dx=[0.5],
        dt=0.1,
        network_kwargs={"width": 8, "kernel_size": 3},
        state_mean=[0.3],
        state_std=[2.0],
        tendency_mean=[-0.1],
        tendency_std=[0.5],
        grid_shape=[16],
        rngs=nnx.Rngs(0),
    )
    args.update(kw)
    return make_learned_stepper(**args)


def _z(shape=(2, 16, 1), seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def test_step_is_the_integrator_applied_to_the_normalised_tendency():
    m = _stepper()
    z = _z()
    g = jax.jit(lambda z: m.tendency((z - 0.3) / 2.0) * 0.5 - 0.1)(z)
    np.testing.assert_allclose(jax.jit(m.tendency_fn)(z), g, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(m.step)(z), z + 0.1 * g, rtol=1e-6, atol=1e-6)
    for name in ("rk2", "rk4"):
        m2 = m.with_integrator(name, dt=0.05)
        both = jax.jit(lambda z: (m2(z), INTEGRATORS[name](m2.tendency_fn, z, 0.05)))  # noqa: B023
        got, want = both(z)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert m2.metadata()["integrator"] == "rk4" and m2.metadata()["dt"] == 0.05
    assert m2.metadata()["grid_shape"] == [16]
    # a new stepper: the original is not mutated, the weights are shared
    assert m.integrator == "euler" and m.dt == 0.1
    assert m2.tendency.convs[0].conv.kernel[...] is m.tendency.convs[0].conv.kernel[...]


@pytest.mark.parametrize(
    ("network", "kwargs", "shift"),
    [
        ("tendency", {"width": 8, "kernel_size": 5}, 5),
        ("resnet", {"width": 4, "num_blocks": 1}, 5),
    ],
)
def test_periodic_stepper_is_translation_equivariant(network, kwargs, shift):
    m = _stepper(network=network, network_kwargs=kwargs)
    z = _z()
    both = jax.jit(lambda z: (m(jnp.roll(z, shift, axis=1)), jnp.roll(m(z), shift, axis=1)))
    shifted_in, shifted_out = both(z)
    np.testing.assert_allclose(shifted_in, shifted_out, rtol=1e-5, atol=1e-5)


def test_unet_tendency_builds_with_the_stepper_contract():
    # abstract build only (the zoo's own tests run the U-Net; compiling it here costs seconds)
    m = nnx.eval_shape(
        lambda: _stepper(network="unet", network_kwargs={"width": 2, "depth": 1}, rngs=nnx.Rngs(0))
    )
    assert m.tendency.boundary == "periodic" and m.channels == 1


def test_ghost_cell_stepper_on_dirichlet_data_sees_the_boundary_value():
    kw = dict(network_kwargs={"width": 4, "kernel_size": 3})
    a = _stepper(boundary="dirichlet", boundary_value=0.0, rngs=nnx.Rngs(1), **kw)
    b = _stepper(boundary="dirichlet", boundary_value=1.0, rngs=nnx.Rngs(1), **kw)
    assert a.tendency.boundary == "ghost"
    z = _z()
    ya, yb = np.asarray(a(z)), np.asarray(b(z))
    assert ya.shape == z.shape
    # only cells within the halo of a face feel the boundary value
    halo = a.tendency.halo
    np.testing.assert_allclose(ya[:, halo:-halo], yb[:, halo:-halo], rtol=1e-6)
    assert np.abs(ya[:, 0] - yb[:, 0]).max() > 1e-4


def test_hybrid_adds_a_learned_correction_to_the_classical_step_with_gradients_through_it():
    h = make_hybrid_stepper(
        equation="ks1d",
        grid_shape=(32,),
        length=64.0,
        dt=0.5,
        solver_dt=0.25,
        network_kwargs={"width": 4, "kernel_size": 3},
        rngs=nnx.Rngs(0),
    )
    assert isinstance(h, HybridStepper) and h.substeps == 2
    z = _z((1, 32, 1)) * 0.5
    v = _z((1, 32, 1), seed=3)

    def f(eps):
        return jnp.sum(h(z + eps * v) * v)

    @jax.jit
    def check(z):
        zs = h.classical(z)
        eps = 1e-2
        fd = (f(eps) - f(-eps)) / (2 * eps)
        return h(z), zs + 0.5 * h.tendency_fn(zs), jax.grad(f)(0.0), fd

    step, want, grad, fd = check(z)
    np.testing.assert_allclose(step, want, rtol=1e-5, atol=1e-6)
    # d step / d z includes the solver's Jacobian: compare with a central finite difference
    np.testing.assert_allclose(grad, fd, rtol=2e-2)
    assert h.metadata()["hybrid"]["solver"]["equation"] == "ks1d"
    with pytest.raises(ValueError, match="whole multiple"):
        make_hybrid_stepper(
            equation="ks1d", grid_shape=(32,), length=64.0, dt=0.5, solver_dt=0.3, rngs=nnx.Rngs(0)
        )


def test_bad_input_is_reported_in_one_line():
    m = _stepper()
    with pytest.raises(ValueError, match=r"state: expected shape \(batch, <1 spatial axes>, 1\)"):
        m(jnp.zeros((16, 1)))
    with pytest.raises(ValueError, match="state: expected shape"):
        m(jnp.zeros((2, 16, 3)))
    with pytest.raises(ValueError, match="periodic tendency network cannot step 'dirichlet'"):
        _stepper(boundary="dirichlet", network_boundary="periodic")
    with pytest.raises(ValueError, match="integrator: expected one of"):
        _stepper(integrator="leapfrog")
    with pytest.raises(ValueError, match="network: expected one of"):
        _stepper(network="transformer")
    with pytest.raises(ValueError, match="no ghost-cell mode"):
        _stepper(network="resnet", boundary="neumann", network_kwargs={"width": 4})
    with pytest.raises(ValueError, match="dt: expected a positive time step"):
        m.with_integrator(dt=-1.0)


def test_a_blowing_up_learned_rollout_names_the_step():
    from sciml.solvers import BlowUpError, rollout

    m = _stepper(tendency_std=[1e30], dt=1e10)
    with pytest.raises(BlowUpError, match=r"sample \d+ is NaN/Inf by step \d+"):
        rollout(m, _z(), 4)
