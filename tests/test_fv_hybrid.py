"""Hybrid models on the finite-volume NS base: the consistency constraint, the untrained models
reduce to the solver, gradients flow through unrolled solver steps, and training lowers the loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers import Grid
from sciml.solvers.fvns import FiniteVolumeNS2D

from sciml.stepper.fv_hybrid import make_fv_correction, make_fv_interpolation, train_unrolled
from sciml.stepper.learned_interpolation import STENCIL_OFFSETS, ConstrainedStencil

TWO_PI = 2 * np.pi
PARAMS = {"nu": 0.02, "drag": 0.1, "forcing_wavenumber": 2, "forcing_amplitude": 1.0}


@pytest.fixture(scope="module")
def data():
    """Coarse 8^2 trajectories of the FV solver itself at 16^2, coarse-grained (block mean)."""
    fine = FiniteVolumeNS2D(Grid((16, 16), (TWO_PI, TWO_PI)), 0.05, **PARAMS)
    x, y = Grid((16, 16), (TWO_PI, TWO_PI)).mesh()
    rng = np.random.default_rng(0)
    w0 = np.stack(
        [np.sin(x + rng.uniform(0, 6)) * np.cos(y) + 0.5 * np.cos(2 * x - y + rng.uniform(0, 6))
         for _ in range(4)]
    )[..., None].astype(np.float32)  # fmt: skip
    traj = np.asarray(fine.rollout(jnp.asarray(w0), 6, substeps=2))
    return traj.reshape(4, 6, 8, 2, 8, 2, 1).mean(axis=(3, 5))


@pytest.fixture(scope="module")
def coarse_solver():
    return FiniteVolumeNS2D(Grid((8, 8), (TWO_PI, TWO_PI)), 0.05, **PARAMS)


def test_constrained_stencil_is_exact_for_constants_and_linears():
    layer = ConstrainedStencil(order=1, scale=1.0)
    raw = jax.random.normal(jax.random.key(0), (5, 4))
    c = np.asarray(layer(raw), np.float64)  # (5, 2, 4)
    x = np.asarray(STENCIL_OFFSETS)
    np.testing.assert_allclose(c.sum(-1), 0.0, atol=1e-6)
    np.testing.assert_allclose(c @ x, 0.0, atol=1e-6)
    assert np.abs(c).max() > 0.1  # the layer is not trivially zero
    # order 0 only annihilates constants: 3 free coefficients, linear moments non-zero
    c0 = np.asarray(ConstrainedStencil(order=0, scale=1.0)(jnp.ones((1, 6))), np.float64)
    np.testing.assert_allclose(c0.sum(-1), 0.0, atol=1e-6)
    assert np.abs(c0 @ x).max() > 1e-3


def test_untrained_models_are_the_solver(data, coarse_solver):
    train = data
    w = jnp.asarray(train[:, 0])
    ref = coarse_solver.step(coarse_solver.step(w))
    for make in (make_fv_correction, make_fv_interpolation):
        model = make(coarse_solver, dt=0.1, train=train, width=4, depth=2, rngs=nnx.Rngs(0))
        np.testing.assert_allclose(
            np.asarray(nnx.jit(lambda m, x: m(x))(model, w)), np.asarray(ref), atol=1e-5
        )


def test_learned_interpolation_changes_only_advection_and_conserves_mean(data, coarse_solver):
    model = make_fv_interpolation(
        coarse_solver, dt=0.05, train=data, width=4, depth=2, rngs=nnx.Rngs(1)
    )
    last = model.net.convs[-1].conv.kernel
    last[...] = 0.3 * jax.random.normal(jax.random.key(2), last[...].shape)
    w = jnp.asarray(data[:, 0])
    out = np.asarray(nnx.jit(lambda m, x: m(x))(model, w), np.float64)
    ref = np.asarray(coarse_solver.step(w), np.float64)
    assert np.abs(out - ref).max() > 1e-4  # the network acts
    # flux form: the mean vorticity changes only by drag and the (zero-mean) forcing
    np.testing.assert_allclose(out.mean(axis=(1, 2)), ref.mean(axis=(1, 2)), atol=1e-6)


@pytest.mark.parametrize("make", [make_fv_correction, make_fv_interpolation])
def test_unrolled_training_through_the_solver_lowers_the_loss(make, data, coarse_solver):
    model = make(coarse_solver, dt=0.1, train=data, width=8, depth=2, rngs=nnx.Rngs(0))
    res = train_unrolled(model, data, unroll=2, steps=30, batch_size=4, learning_rate=1e-2)
    # the one-step error (the unrolled loss grows with the curriculum's unroll length)
    mse = [r["mse_first_step"] for r in res.history if "mse_first_step" in r]
    assert len(mse) >= 2 and mse[-1] < 0.9 * mse[0], mse


def test_bad_input(data, coarse_solver):
    with pytest.raises(ValueError, match="whole multiple"):
        make_fv_interpolation(coarse_solver, dt=0.07, train=data, rngs=nnx.Rngs(0))
    model = make_fv_interpolation(coarse_solver, dt=0.05, train=data, width=4, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="unroll"):
        train_unrolled(model, data[:, :2], unroll=4, steps=1, batch_size=2)
    with pytest.raises(ValueError, match=r"pushforward \+ unroll = 3"):  # 3 frames: 2 + 1 needed
        train_unrolled(model, data[:, :3], unroll=1, pushforward=2, steps=1, batch_size=2)


def test_exported_correction_runs_in_the_numpy_fv_example(data, coarse_solver, tmp_path):
    """The artifact + hybrid.json in a plain NumPy FV loop reproduce the JAX hybrid model."""
    import importlib.util
    from pathlib import Path

    from sciml.stepper.fv_hybrid import export_fv_correction

    model = make_fv_correction(
        coarse_solver, dt=0.1, train=data, width=4, depth=2, rngs=nnx.Rngs(3)
    )
    last = model.tendency.convs[-1].conv.kernel
    last[...] = 0.2 * jax.random.normal(jax.random.key(4), last[...].shape)
    export_fv_correction(model, tmp_path)
    path = Path(__file__).parents[1] / "examples" / "numpy_fv_kolmogorov_with_learned_correction.py"
    spec = importlib.util.spec_from_file_location("fv_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    w0 = data[0, 0]
    numpy_traj = example.hybrid_rollout(tmp_path, w0[..., 0], 2)
    step = nnx.jit(lambda m, x: m(x))
    jax_traj = [w0[None]]
    for _ in range(2):
        jax_traj.append(np.asarray(step(model, jnp.asarray(jax_traj[-1]))))
    ref = np.stack(jax_traj)[:, 0, ..., 0]
    pure = jnp.asarray(w0[None])
    for _ in range(4):  # 2 model steps of 2 solver steps each, no correction
        pure = coarse_solver.step(pure)
    assert np.abs(ref[-1] - np.asarray(pure)[0, ..., 0]).max() > 1e-3  # the correction acts
    np.testing.assert_allclose(numpy_traj, ref, atol=2e-4)


def test_short_training_runs_compile_without_the_fusion_pass():
    # the fusion pass costs compile time and pays per step: on from FUSION_MIN_STEPS steps on
    from sciml.stepper.fv_hybrid import FUSION_MIN_STEPS, NO_FUSION, cpu_compiler_options

    assert cpu_compiler_options(FUSION_MIN_STEPS) == {}
    assert cpu_compiler_options(10 * FUSION_MIN_STEPS) == {}
    assert cpu_compiler_options(FUSION_MIN_STEPS - 1) == NO_FUSION
    assert NO_FUSION == {"xla_disable_hlo_passes": "fusion"}
