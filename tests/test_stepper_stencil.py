"""Learned-stencil Burgers model: exactness built into the layer, consistency, training, export."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers.fv import sine_cell_average

from sciml.stepper.stencil import (
    OFFSETS,
    QUANTITIES,
    StencilFluxModel,
    constrained_stencil,
    constraint_system,
)

TWO_PI = 2 * np.pi


def _randomise_last_layer(model, scale, seed=0):
    """Give the zero-initialised output layer random weights (an arbitrary network output)."""
    last = model.net.convs[-1].conv
    k = jax.random.normal(jax.random.key(seed), last.kernel[...].shape) * scale
    last.kernel[...] = k
    last.bias[...] = jax.random.normal(jax.random.key(seed + 1), last.bias[...].shape) * scale


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_constraint_holds_to_round_off_for_any_free_part(degree, quantity):
    a, b = constraint_system(OFFSETS, degree, 1 if quantity == "u_x" else 0)
    c0, basis = constrained_stencil(OFFSETS, degree, quantity)
    assert basis.shape == (len(OFFSETS), len(OFFSETS) - degree - 1)
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-12)
    y = np.random.default_rng(degree).normal(scale=100.0, size=(basis.shape[1], 50))
    resid = a @ (c0[:, None] + basis @ y) - b[:, None]
    assert np.abs(resid).max() < 1e-12 * 100 * len(OFFSETS) ** (degree + 1)


def test_constraint_system_matches_known_stencils():
    # third-order upwind-biased face value and the centred face derivative are exact to degree 2
    for q, c in [("u_minus", {-1: -1 / 6, 0: 5 / 6, 1: 1 / 3}), ("u_x", {0: -1.0, 1: 1.0})]:
        a, b = constraint_system(OFFSETS, 2, 1 if q == "u_x" else 0)
        vec = np.array([c.get(j, 0.0) for j in OFFSETS])
        np.testing.assert_allclose(a @ vec, b, atol=1e-14)
    with pytest.raises(ValueError, match="degree: expected 0 <= degree < 5"):
        constrained_stencil(OFFSETS, 5, "u_x")


@pytest.fixture(scope="module")
def model():
    m = StencilFluxModel(dx=TWO_PI / 32, nu=0.01, dt=0.01, degree=1, width=8, depth=2,
                         rngs=nnx.Rngs(0))  # fmt: skip
    _randomise_last_layer(m, 0.5)
    return m


def test_model_face_values_exact_for_linear_fields(model):
    # cell averages of p(x) = 0.3 + 0.7 x (degree 1): every face value and slope is exact,
    # whatever the (randomised) network outputs, away from the periodic wrap
    n, dx = 32, model.dx
    edges = np.arange(n + 1) * dx
    avg = 0.3 + 0.7 * 0.5 * (edges[1:] + edges[:-1])
    v = np.asarray(model.face_values(jnp.asarray(avg, jnp.float32)[None, :, None]))[0]
    free = np.asarray(model.coefficients(jnp.asarray(avg, jnp.float32)[None, :, None]))
    assert np.abs(free - np.asarray(model.c0[...])).max() > 0.05  # the network does act
    inner = slice(2, n - 3)
    p_face = 0.3 + 0.7 * edges[1:]
    np.testing.assert_allclose(v[inner, 0], p_face[inner], atol=2e-5)
    np.testing.assert_allclose(v[inner, 1], p_face[inner], atol=2e-5)
    np.testing.assert_allclose(v[inner, 2], 0.7, atol=2e-4)


def test_tendency_converges_to_the_exact_flux_divergence():
    nu, errs, ns = 0.05, [], (32, 64, 128)
    for n in ns:
        m = StencilFluxModel(dx=TWO_PI / n, nu=nu, dt=0.01, degree=1, width=8, depth=2,
                             rngs=nnx.Rngs(0))  # fmt: skip
        _randomise_last_layer(m, 0.3)
        dx = TWO_PI / n
        xc = (np.arange(n) + 0.5) * dx
        u = 0.5 + sine_cell_average(xc, dx)
        faces = np.arange(n + 1) * dx
        flux = 0.5 * (0.5 + np.sin(faces)) ** 2 - nu * np.cos(faces)
        exact = -(flux[1:] - flux[:-1]) / dx
        g = np.asarray(m.tendency(jnp.asarray(u, jnp.float32)[None, :, None], jnp.zeros(1)))
        errs.append(np.abs(g[0, :, 0] - exact).max())
    slope = -np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert slope > 0.9 and errs[-1] < 0.05, (errs, slope)


def test_untrained_model_is_the_classical_scheme_and_conserves_mass():
    m = StencilFluxModel(dx=TWO_PI / 32, nu=0.01, dt=0.05, width=8, depth=2, rngs=nnx.Rngs(1))
    u = jnp.asarray(np.random.default_rng(0).normal(size=(2, 32, 1)), jnp.float32)
    c = np.asarray(m.coefficients(u))
    np.testing.assert_allclose(c, np.broadcast_to(np.asarray(m.c0[...]), c.shape), atol=0)
    out, t = m.step(u, jnp.zeros(2))
    np.testing.assert_allclose(np.asarray(out).mean(1), np.asarray(u).mean(1), atol=1e-6)
    np.testing.assert_allclose(np.asarray(t), 0.05)


def test_export_runs_in_numpy_alone_and_matches_jax(model, tmp_path):
    import h5py

    import sciml
    from sciml.stepper.artifact import ArtifactError
    from sciml.stepper.stencil_artifact import export_stencil_model

    path = export_stencil_model(model, tmp_path / "s.h5")
    loaded = sciml.load_stepper(path)
    assert loaded.kind == "stencil_flux"
    u = np.random.default_rng(2).normal(size=(2, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.fluxes(u), np.asarray(model.fluxes(jnp.asarray(u))), rtol=1e-5, atol=1e-5
    )
    want, _ = model.step(jnp.asarray(u), jnp.zeros(2))
    np.testing.assert_allclose(loaded.step(u), np.asarray(want), rtol=1e-5, atol=1e-5)
    with h5py.File(path, "a") as f:
        del f["stencil/c0"]
        f["stencil/c0"] = np.zeros((3, 5), np.float32)
    with pytest.raises(ArtifactError, match=r"'stencil/c0' has shape \(3, 5\)"):
        sciml.load_stepper(path)


def test_numpy_example_matches_the_jax_model(monkeypatch):
    from pathlib import Path

    from sciml.solvers.fv import Forcing

    from sciml.stepper.stencil import rollout

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "examples"))
    import numpy_burgers_learned_flux as ex

    out = ex.main(["--t-end", "0.5"])
    assert out["mass_drift"] < 1e-4
    m = StencilFluxModel(dx=TWO_PI / 32, nu=0.01, dt=0.05, width=8, depth=2, grid_shape=(32,),
                         steps_per_frame=10, rngs=nnx.Rngs(0))  # fmt: skip
    f = Forcing(*(jnp.asarray(out["forcing"][k], jnp.float32)[None] for k in
                  ("amplitude", "omega", "k", "phi")))  # fmt: skip
    dx = TWO_PI / 32
    u0 = sine_cell_average((np.arange(32) + 0.5) * dx, dx)
    traj = rollout(m, jnp.asarray(u0, jnp.float32)[None, :, None], f, t0=jnp.zeros(1), n_frames=1)
    np.testing.assert_allclose(out["u"], np.asarray(traj)[0, -1, :, 0], atol=2e-4)


def test_unrolled_task_scan_equals_the_python_loop_and_reaches_the_targets(model):
    from sciml.solvers.fv import random_forcing

    from sciml.stepper.stencil import rollout
    from sciml.stepper.stencil_task import StencilRolloutTask, make_forced_windows

    f = random_forcing(2, key=jax.random.key(3))
    u0 = jnp.asarray(np.random.default_rng(4).normal(size=(2, 32, 1)) * 0.3, jnp.float32)
    traj = np.asarray(rollout(model, u0, f, t0=jnp.zeros(2), n_frames=4))
    win = make_forced_windows(traj, 0.01 * np.arange(5), f, n_target=3)
    assert win["u0"].shape == (4, 32, 1) and win["targets"].shape == (4, 3, 32, 1)
    batch = {k: jnp.asarray(v) for k, v in win.items()}
    kw = dict(key=jax.random.key(0), step=jnp.asarray(0))
    scan_loss = nnx.jit(lambda m, b: StencilRolloutTask(3).loss(m, b, **kw)[0])
    assert float(scan_loss(model, batch)) < 1e-10  # the model's own trajectories: zero loss
    batch["targets"] = batch["targets"] + 0.1
    a = scan_loss(model, batch)
    b = StencilRolloutTask(3, truncate=100).loss(model, batch, **kw)[0]  # the Python loop
    np.testing.assert_allclose(float(a), float(b), rtol=1e-5)
    with pytest.raises(ValueError, match="stencil task: batch is missing"):
        StencilRolloutTask(3).loss(model, {"u0": batch["u0"]}, **kw)


def test_equal_accuracy_resolution_interpolates_log_log():
    from sciml.experiments.burgers import _equal_accuracy

    ns = np.asarray([32, 64, 128])
    err = 1.0 / ns**2.0
    np.testing.assert_allclose(_equal_accuracy(ns, err, 1.0 / 90.0**2), 90.0, rtol=1e-12)
    assert _equal_accuracy(ns, err, 1e-9) is None  # never reached: the caller reports a bound
    assert _equal_accuracy(ns, err, 1.0) == 32.0


def test_wider_stencil_is_exact_exports_and_runs_in_numpy_alone(tmp_path):
    import json

    import h5py

    import sciml
    from sciml.stepper.artifact import ArtifactError
    from sciml.stepper.stencil_artifact import export_stencil_model

    n = 32
    m = StencilFluxModel(dx=TWO_PI / n, nu=0.01, dt=1e-3, degree=2, stencil_width=10, width=8,
                         depth=2, rngs=nnx.Rngs(3))  # fmt: skip
    _randomise_last_layer(m, 0.1, seed=3)
    assert m.offsets == (-4, -3, -2, -1, 0, 1, 2, 3, 4, 5) and m.n_free == 7
    # cell averages of a quadratic: exact face values and slopes away from the periodic wrap
    edges = np.arange(n + 1) * m.dx
    p = np.polynomial.Polynomial([0.3, 0.7, -0.2])
    avg = (p.integ()(edges[1:]) - p.integ()(edges[:-1])) / m.dx
    v = np.asarray(m.face_values(jnp.asarray(avg, jnp.float32)[None, :, None]))[0]
    inner = slice(4, n - 5)
    np.testing.assert_allclose(v[inner, 0], p(edges[1:])[inner], atol=5e-5)
    np.testing.assert_allclose(v[inner, 1], p(edges[1:])[inner], atol=5e-5)
    np.testing.assert_allclose(v[inner, 2], p.deriv()(edges[1:])[inner], atol=5e-4)
    # the artifact carries the width; NumPy alone reproduces the JAX model
    path = export_stencil_model(m, tmp_path / "w10.h5")
    loaded = sciml.load_stepper(path)
    assert loaded.meta["stencil_width"] == 10 and loaded.offsets == list(m.offsets)
    u = np.random.default_rng(4).normal(size=(2, n, 1)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.fluxes(u), np.asarray(m.fluxes(jnp.asarray(u))), rtol=1e-5, atol=1e-5
    )
    want, _ = m.step(jnp.asarray(u), jnp.zeros(2))
    np.testing.assert_allclose(loaded.step(u), np.asarray(want), rtol=1e-5, atol=1e-5)
    with h5py.File(path, "a") as f:
        meta = json.loads(f.attrs["metadata"])
        meta["stencil_width"] = 8
        f.attrs["metadata"] = json.dumps(meta)
    with pytest.raises(ArtifactError, match=r"stencil_width expected len\(offsets\) = 10, found 8"):
        sciml.load_stepper(path)


@pytest.mark.parametrize("bad", [7, 0, 6.0])
def test_bad_stencil_width_is_refused(bad):
    with pytest.raises(
        ValueError, match=rf"stencil_width: expected an even integer >= 2.*found {bad}"
    ):
        StencilFluxModel(dx=0.1, nu=0.01, dt=0.01, stencil_width=bad, rngs=nnx.Rngs(0))


def test_l1_norm_losses_are_mean_absolute_errors(model):
    from sciml.solvers.fv import random_forcing

    from sciml.stepper.stencil_flux_task import StencilFluxTask
    from sciml.stepper.stencil_task import StencilRolloutTask

    kw = dict(key=jax.random.key(0), step=jnp.asarray(0))
    u = jnp.asarray(np.random.default_rng(5).normal(size=(2, 32, 1)) * 0.3, jnp.float32)
    target = jnp.asarray(np.random.default_rng(6).normal(size=(2, 32, 1)), jnp.float32)
    f = random_forcing(2, key=jax.random.key(7))

    @nnx.jit
    def losses(m):  # one compilation for every loss below
        flux_l1 = StencilFluxTask(0.5, norm="l1").loss(m, {"u": u, "flux": target}, **kw)[0]
        # one frame against the model's own next frame shifted by 0.1
        nxt, _ = m.frame(u, jnp.zeros(2), f)
        batch = {"u0": u, "t0": jnp.zeros(2), "targets": (nxt + 0.1)[:, None]}
        batch.update(zip(("amplitude", "omega", "k", "phi"), f))
        rollout = [StencilRolloutTask(1, norm=n).loss(m, batch, **kw)[0] for n in ("l1", "l2")]
        return flux_l1, rollout, m.fluxes(u)

    flux_l1, (roll_l1, roll_l2), flux = losses(model)
    want = np.mean(np.abs(np.asarray(flux) - np.asarray(target))) / 0.5
    np.testing.assert_allclose(float(flux_l1), want, rtol=1e-5)
    sigma = float(model.state_std[...][0])  # l1 = 0.1 / sigma, l2 its square
    np.testing.assert_allclose([float(roll_l1), float(roll_l2)], [0.1 / sigma, 0.01 / sigma**2],
                               rtol=1e-4)  # fmt: skip
    for cls in (StencilFluxTask, StencilRolloutTask):
        with pytest.raises(ValueError, match=r"norm: expected one of \['l2', 'l1'\], found 'l3'"):
            cls(1, norm="l3")
