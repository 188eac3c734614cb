"""Graph learned steppers: NumPy export matches JAX, sciml.load_stepper dispatch without JAX,
training recovers the heat stencil on a grid graph, bad artifacts are refused."""

import subprocess
import sys
import textwrap

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.solvers.fem import l_shape

import sciml
from sciml.artifacts import ArtifactError
from sciml.graphs import (
    FixedGraph,
    LoadedGraphStepper,
    export_graph_stepper,
    make_graph_stepper,
    normalisation_stats,
    rollout,
    score,
    train_graph_stepper,
)

RTOL, ATOL = 2e-5, 2e-5  # float32 round-off between XLA and NumPy/SciPy summation orders


KINDS = ["gcn", "cheb", "mpnn"]


@pytest.fixture(scope="module")
def mesh_graph():
    m = l_shape(0.4)
    return m, FixedGraph.from_mesh(m.nodes, m.triangles)


def _stepper(graph, kind, *, fixed=None, integrator="rk4", activation="gelu"):
    return make_graph_stepper(
        graph,
        kind=kind,
        variables=("u", "v"),
        dt=0.05,
        integrator=integrator,
        network_kwargs={"width": 6, "depth": 2, "K": 3, "activation": activation},
        state_mean=[0.1, -0.2],
        state_std=[1.5, 0.7],
        tendency_mean=[0.01, -0.02],
        tendency_std=[0.3, 2.0],
        fixed_nodes=fixed,
        data_hash="sha256:test",
        rngs=nnx.Rngs(0),
    )


def _state(shape, seed=1):
    return np.asarray(jax.random.normal(jax.random.key(seed), shape), np.float32)


@pytest.mark.parametrize("kind", KINDS)
def test_numpy_evaluator_matches_jax(tmp_path, mesh_graph, kind):
    m, g = mesh_graph
    fixed = m.boundary_nodes()
    s = _stepper(g, kind, fixed=fixed, integrator="euler")
    path = export_graph_stepper(s, tmp_path / f"{kind}.h5")
    loaded = sciml.load_stepper(path)
    assert isinstance(loaded, LoadedGraphStepper)
    assert loaded.state_shape == (g.n_nodes, 2) and loaded.variables == ("u", "v")
    z = _state((3, g.n_nodes, 2))
    want_g, want_step = jax.jit(lambda v: (s.tendency_fn(v), s.step(v)))(jnp.asarray(z))
    np.testing.assert_allclose(loaded.tendency(z), np.asarray(want_g), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(loaded.step(z), np.asarray(want_step), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(loaded.step(z[1]), loaded.step(z)[1], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(loaded.tendency(z)[:, fixed], 0.0)  # held nodes never move
    np.testing.assert_allclose(
        loaded.rhs(0.0, z[0].ravel()), loaded.tendency(z[0]).ravel(), rtol=1e-6
    )
    # float64 in, float64 arithmetic
    assert loaded.step(z.astype(np.float64)).dtype == np.float64


NO_JAX = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {'jax', 'jaxlib', 'flax', 'optax', 'orbax'}:
                raise ImportError("blocked: " + name)
    sys.meta_path.insert(0, Block())
    """
)


def test_loader_runs_without_jax(tmp_path, mesh_graph):
    _, g = mesh_graph
    s = _stepper(g, "cheb", integrator="ssprk3")
    path = export_graph_stepper(s, tmp_path / "s.h5")
    z = _state((2, g.n_nodes, 2))
    np.save(tmp_path / "z.npy", z)
    code = NO_JAX + textwrap.dedent(
        f"""
        import numpy as np, sciml
        st = sciml.load_stepper({str(path)!r})
        np.save({str(tmp_path / "out.npy")!r}, st.step(np.load({str(tmp_path / "z.npy")!r})))
        assert "jax" not in sys.modules, "jax was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(
        np.load(tmp_path / "out.npy"),
        np.asarray(jax.jit(s.step)(jnp.asarray(z))),
        rtol=RTOL,
        atol=ATOL,
    )


def test_training_recovers_the_heat_stencil_on_a_grid_graph():
    """u_t = nu * (5-point Laplacian) on a periodic grid is a Chebyshev filter of degree 1:
    nu/dx^2 (A - 4 I) = -4 nu/dx^2 L_sym. A linear one-layer Chebyshev stepper trained on exact
    forward-Euler data must reproduce that operator."""
    n, nu, dt = 8, 0.1, 0.2
    g = FixedGraph.from_grid((n, n), periodic=True)
    np.testing.assert_allclose(g.lambda_max, 2.0, rtol=1e-12)  # bipartite even torus
    rng = np.random.default_rng(0)
    u = rng.normal(size=(12, n, n))
    frames = [u]
    for _ in range(4):
        lap = sum(np.roll(u, k, ax) for k in (1, -1) for ax in (1, 2)) - 4 * u
        u = u + dt * nu * lap
        frames.append(u)
    traj = np.stack(frames, 1).reshape(12, 5, n * n, 1)
    s = make_graph_stepper(
        g,
        kind="cheb",
        dt=dt,
        network_kwargs={"width": 1, "depth": 1, "K": 2, "activation": "identity"},
        **normalisation_stats(traj, dt),
        rngs=nnx.Rngs(0),
    )
    # unrolled training (2 steps, back-propagation through the rollout), as for grid steppers
    train_graph_stepper(s, traj[:8], steps=300, batch_size=8, learning_rate=0.05, unroll=2, seed=0)
    test = traj[8:]
    z = jnp.asarray(test[:, 0], jnp.float32)
    want = (test[:, 1] - test[:, 0]) / dt
    np.testing.assert_allclose(
        np.asarray(s.tendency_fn(z)), want, rtol=0, atol=2e-3 * np.abs(want).max()
    )
    pred = rollout(s.step, test[:, 0], 4)
    assert score(pred, test, np.arange(5) * dt)["nrmse_final"] < 5e-3


def _corrupt(path, name, value):
    with h5py.File(path, "r+") as f:
        del f[name]
        f[name] = value


def test_bad_graph_artifacts(tmp_path, mesh_graph):
    _, g = mesh_graph
    s = _stepper(g, "gcn")
    good = export_graph_stepper(s, tmp_path / "good.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(good.read_bytes())
    _corrupt(bad, "graph/senders", np.full(g.n_edges, g.n_nodes + 3, np.int64))
    with pytest.raises(ArtifactError, match=r"'/graph/senders' must hold node indices in 0\.\.\d+"):
        sciml.load_stepper(bad)
    bad.write_bytes(good.read_bytes())
    _corrupt(bad, "tendency/layer_1/weight", np.zeros((3, 2), np.float32))
    with pytest.raises(
        ArtifactError, match=r"layer_1/weight' has shape \(3, 2\), the architecture needs \(6, 2\)"
    ):
        sciml.load_stepper(bad)
    with pytest.raises(FileExistsError, match="output exists"):
        export_graph_stepper(s, good)
    st = sciml.load_stepper(good)
    with pytest.raises(ValueError, match=r"state: expected shape \(\d+, 2\)"):
        st.step(np.zeros((g.n_nodes + 1, 2)))


def test_bad_graph_input():
    with pytest.raises(ValueError, match=r"senders hold node 7 outside 0\.\.2"):
        FixedGraph.from_edges([0, 7], [1, 0], np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"1 node\(s\) receive no edge \(first: \[2\]\)"):
        FixedGraph.from_edges([0, 1], [1, 0], np.zeros((3, 2)))


def _homogeneous(graph, kind, *, anchor):
    """A stepper with G(0) = 0 by construction: bias-free layers and zero means, or anchored."""
    kw = {"width": 6, "depth": 2, "K": 3, "activation": "tanh"}
    if kind != "mpnn":
        kw["use_bias"] = anchor  # the anchored ones keep their biases and means
    mean = [0.1, -0.2] if anchor else [0.0, 0.0]
    return make_graph_stepper(
        graph,
        kind=kind,
        variables=("u", "v"),
        dt=0.05,
        integrator="euler",
        network_kwargs=kw,
        state_mean=mean,
        state_std=[1.5, 0.7],
        tendency_mean=[0.01, -0.02] if anchor else [0.0, 0.0],
        tendency_std=[0.3, 2.0],
        zero_anchor=anchor,
        rngs=nnx.Rngs(0),
    )


@pytest.mark.parametrize(
    "kind, anchor",
    [("cheb", False), ("mpnn", True)],
)
def test_zero_is_a_fixed_point_by_construction(tmp_path, mesh_graph, kind, anchor):
    _, g = mesh_graph
    zero = np.zeros((1, g.n_nodes, 2), np.float32)
    z = _state((1, g.n_nodes, 2))
    s = _homogeneous(g, kind, anchor=anchor)
    params = nnx.state(s, nnx.Param)
    names = {str(p[-1]) for p, _ in nnx.to_flat_state(params)}
    assert ("bias" in names) == anchor  # bias-free means no bias parameter at all
    step0, got = s.step(jnp.asarray(zero)), s.tendency_fn(jnp.asarray(z))
    # bias-free: exactly; anchored: G(0) - G(0) up to float32 round-off between two batch sizes
    np.testing.assert_allclose(np.asarray(step0), 0.0, atol=1e-7 if anchor else 0.0)
    got = np.asarray(got)
    assert np.abs(got).max() > 1e-3  # G is not the zero map
    if anchor:  # G(z) - G(0) of the same network, whose G(0) is not small
        g0 = np.asarray(s._raw_tendency(jnp.asarray(zero)))
        assert np.abs(g0).max() > 1e-3
        raw = np.asarray(s._raw_tendency(jnp.asarray(z))) - g0
        np.testing.assert_allclose(got, raw, rtol=1e-5, atol=1e-6)
    loaded = sciml.load_stepper(export_graph_stepper(s, tmp_path / f"{kind}.h5"))
    np.testing.assert_allclose(loaded.step(zero), 0.0, atol=1e-7 if anchor else 0.0)
    np.testing.assert_allclose(loaded.tendency(z), got, rtol=RTOL, atol=ATOL)


def test_mpnn_refuses_bias_free(mesh_graph):
    _, g = mesh_graph
    with pytest.raises(ValueError, match=r"use_bias: kind='mpnn' needs its biases.*zero_anchor"):
        make_graph_stepper(
            g, kind="mpnn", dt=0.1, network_kwargs={"use_bias": False}, rngs=nnx.Rngs(0)
        )
