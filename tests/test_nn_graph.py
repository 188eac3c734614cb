"""Graph layers of the zoo: dense references, stencils, permutation equivariance, batching, padding.

Every layer call goes through one jitted function per layer on graphs padded to one budget
(``BUDGET``), so each layer compiles once; float32 throughout (tolerances rtol 2e-5).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from sciml.datasets import graphs as gd

from sciml.nn.graph import ChebConv, GCNConv, MeshGraphNet, ResGatedGraphConv, SpectralConv

BUDGET = (32, 64, 5)
TOL = {"rtol": 2e-5, "atol": 2e-5}
_JIT = {}


def apply(layer, x, g, **kw):
    """``layer(x, g, **kw)`` jitted (one compile per layer type and shape)."""
    name = type(layer).__name__ + ",".join(sorted(kw))
    if name not in _JIT:
        _JIT[name] = nnx.jit(lambda m, xx, gg, kk: m(xx, gg, **kk))
    return np.asarray(_JIT[name](layer, jnp.asarray(x, jnp.float32), g, kw))


def padded(g, x=None):
    """``g`` padded to ``BUDGET`` (with node features ``x``)."""
    return gd.pad_graphs(g._replace(nodes=g.nodes if x is None else x), *BUDGET)


def _undirected(rng, n, e):
    s, r = rng.integers(0, n, e), rng.integers(0, n, e)
    keep = s != r
    s, r = s[keep], r[keep]
    return np.concatenate([s, r]), np.concatenate([r, s])


@pytest.fixture(scope="module")
def graphs():
    rng = np.random.default_rng(0)
    out = []
    for n, e in [(7, 9), (5, 4), (9, 14)]:
        s, r = _undirected(rng, n, e)
        out.append(gd.make_graph(rng.normal(size=(n, 3)), s, r, edges=rng.normal(size=(len(s), 2))))
    # an isolated node (last) in the second graph: n=5 with edges among the first 4 only
    s, r = [0, 1, 1, 2, 3, 0], [1, 0, 2, 1, 0, 3]
    out[1] = gd.make_graph(out[1].nodes, s, r, edges=rng.normal(size=(6, 2)))
    return out


def _dense_gcn(g, add_self_loops=True):
    n = int(g.n_node.sum())
    a = np.zeros((n, n))
    np.add.at(a, (g.receivers, g.senders), 1.0)  # a[i, j]: edge j -> i
    if add_self_loops:
        a[np.diag(a) == 0, np.diag(a) == 0] += 0  # keep existing loops
        missing = np.flatnonzero(np.diag(a) == 0)
        a[missing, missing] = 1.0
    d = a.sum(1)
    dis = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    return dis[:, None] * a * dis[None]


def test_gcn_equals_dense_formula_isolated_nodes_finite(graphs):
    g = graphs[1]
    x = g.nodes.astype(np.float32)
    layer = GCNConv(3, 4, rngs=nnx.Rngs(0))
    w = np.asarray(layer.linear.kernel[...], np.float64)
    out = apply(layer, x, padded(g, x))[:5]
    np.testing.assert_allclose(out, _dense_gcn(g) @ g.nodes @ w, **TOL)
    bare = GCNConv(3, 4, add_self_loops=False, rngs=nnx.Rngs(0))
    out = apply(bare, x, padded(g, x))
    assert np.isfinite(out).all() and np.all(out[4] == 0)  # node 4 is isolated: 0, not NaN
    # an existing self-loop keeps its weight (2.0); only the missing ones get weight 1
    gl = gd.make_graph(x, np.r_[g.senders, 2], np.r_[g.receivers, 2])
    wts = np.r_[np.ones(g.n_edge[0]), 2.0]
    a = np.zeros((5, 5))
    np.add.at(a, (gl.receivers, gl.senders), wts)
    a[[0, 1, 3, 4], [0, 1, 3, 4]] = 1.0
    dis = 1 / np.sqrt(a.sum(1))
    gp = padded(gl)
    out = apply(layer, gp.nodes, gp, edge_weight=np.r_[wts, np.zeros(BUDGET[1] - len(wts))])
    np.testing.assert_allclose(out[:5], (dis[:, None] * a * dis) @ g.nodes @ w, **TOL)


def test_cheb_equals_dense_chebyshev_polynomial(graphs):
    batch = gd.batch_graphs(graphs)
    lam = gd.lambda_max(batch, "sym", method="exact")
    layer = ChebConv(3, 2, K=4, rngs=nnx.Rngs(1))
    layer.bias[...] = jnp.arange(2.0)
    p = padded(batch)
    lam_p = np.r_[lam, np.ones(BUDGET[2] - len(lam))]
    got = apply(layer, p.nodes, p, lambda_max=lam_p)[: batch.n_node.sum()]
    lap = gd.laplacian(batch, "sym").toarray()
    lt = np.repeat(2 / lam, batch.n_node)[:, None] * lap - np.eye(lap.shape[0])
    t = [np.eye(lap.shape[0]), lt]
    t.append(2 * lt @ t[1] - t[0])
    t.append(2 * lt @ t[2] - t[1])
    w = [np.asarray(lin.kernel[...], np.float64) for lin in layer.linears]
    want = sum(t[k] @ batch.nodes @ w[k] for k in range(4)) + np.arange(2.0)
    np.testing.assert_allclose(got, want, **TOL)
    # the in-layer power-iteration estimate of lambda_max (None) is close on these small graphs
    est = apply(layer, p.nodes, p, lambda_max=None)[: batch.n_node.sum()]
    np.testing.assert_allclose(est, got, rtol=0.05, atol=0.05)


def test_periodic_grid_filters_equal_stencils():
    n = 6
    g = gd.grid_graph((n, n), periodic=True)
    rng = np.random.default_rng(2)
    u = rng.normal(size=(n, n, 2)).astype(np.float32)
    x = u.reshape(-1, 2)

    def nbr_sum(v):
        return sum(np.roll(v, s, axis=a) for a in (0, 1) for s in (1, -1))

    gcn = GCNConv(2, 3, rngs=nnx.Rngs(3))
    h = u @ np.asarray(gcn.linear.kernel[...])
    want = (h + nbr_sum(h)) / 5.0  # (A + I) / 5: every node has degree 4 + its self-loop
    np.testing.assert_allclose(apply(gcn, x, g), want.reshape(-1, 3), **TOL)

    cheb = ChebConv(2, 3, K=3, rngs=nnx.Rngs(4))
    w = [np.asarray(lin.kernel[...]) for lin in cheb.linears]
    # sym Laplacian I - A/4 with lambda_max = 2 on an even periodic grid: L~ = -A/4
    t1 = -nbr_sum(u) / 4
    t2 = 2 * (-nbr_sum(t1) / 4) - u
    want = u @ w[0] + t1 @ w[1] + t2 @ w[2]
    np.testing.assert_allclose(apply(cheb, x, g, lambda_max=2.0), want.reshape(-1, 3), **TOL)


LAYERS = {
    "gcn": (lambda: GCNConv(3, 4, rngs=nnx.Rngs(5)), False),
    "cheb": (lambda: ChebConv(3, 4, K=3, rngs=nnx.Rngs(6)), True),
    "gated": (lambda: ResGatedGraphConv(3, 4, rngs=nnx.Rngs(8)), False),
    "mgn": (
        lambda: MeshGraphNet(
            3, 2, 4, latent=8, hidden=8, n_hidden=1, steps=2, noise_std=0.1, rngs=nnx.Rngs(9)
        ),
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_permutation_batching_padding_jit(name, graphs):
    build, needs_lambda = LAYERS[name]
    layer = build()
    batch = gd.batch_graphs(graphs)
    n = int(batch.n_node.sum())
    lam = np.r_[gd.lambda_max(batch, "sym"), np.ones(BUDGET[2] - len(graphs))]

    def run(g, lam_g, jit=True):
        kw = {"lambda_max": lam_g} if needs_lambda else {}
        return apply(layer, g.nodes, g, **kw) if jit else np.asarray(layer(g.nodes, g, **kw))

    p = padded(batch)
    ref = run(p, lam)[:n]
    assert np.abs(ref).max() > 1e-3  # not trivially zero
    # padding changes nothing and jit agrees with op-by-op execution on the unpadded batch
    # (not for the MeshGraphNet: op-by-op it compiles ~100 primitives, 15 s of test time; its
    # parts, Flax Linear/LayerNorm and segment_sum, are checked op by op elsewhere)
    if name != "mgn":
        np.testing.assert_allclose(
            run(batch._replace(nodes=batch.nodes.astype(np.float32)), lam[:3], jit=False),
            ref,
            **TOL,
        )
    # one graph at a time (each padded to the same budget: no recompilation)
    one = [
        run(padded(gi), np.r_[lam[i], np.ones(BUDGET[2] - 1)])[: gi.n_node[0]]
        for i, gi in enumerate(graphs)
    ]
    np.testing.assert_allclose(np.concatenate(one), ref, **TOL)
    # node permutation within each graph: outputs permute the same way
    rng = np.random.default_rng(7)
    offsets = np.r_[0, np.cumsum(batch.n_node)]
    perm = np.concatenate([o + rng.permutation(k) for o, k in zip(offsets, batch.n_node)])
    inv = np.argsort(perm).astype(np.int32)
    pg = batch._replace(
        nodes=batch.nodes[perm], senders=inv[batch.senders], receivers=inv[batch.receivers]
    )
    np.testing.assert_allclose(run(padded(pg), lam)[:n], ref[perm], **TOL)


def test_gated_equals_explicit_sum(graphs):
    g = graphs[0]
    layer = ResGatedGraphConv(3, 2, rngs=nnx.Rngs(10))
    x = g.nodes.astype(np.float32)
    f = {
        k: (np.asarray(getattr(layer, k).kernel[...], np.float64), getattr(layer, k).bias)
        for k in ("key", "query", "value")
    }
    lin = {k: g.nodes @ w + (0 if b is None else np.asarray(b[...])) for k, (w, b) in f.items()}
    want = g.nodes @ np.asarray(layer.skip.kernel[...], np.float64)
    for s, r in zip(g.senders, g.receivers):
        want[r] += 1 / (1 + np.exp(-(lin["key"][r] + lin["query"][s]))) * lin["value"][s]
    np.testing.assert_allclose(apply(layer, x, padded(g, x))[: g.n_node[0]], want, **TOL)


def test_meshgraphnet_training_noise(graphs):
    model = LAYERS["mgn"][0]()
    p = padded(graphs[0], graphs[0].nodes.astype(np.float32))
    key = jax.random.key(0)
    clean = apply(model, p.nodes, p)
    none = apply(model, p.nodes, p, key=key, noise_mask=np.zeros(BUDGET[0], bool))
    noisy = apply(model, p.nodes, p, key=key, noise_mask=np.ones(BUDGET[0], bool))
    np.testing.assert_allclose(none, clean, **TOL)  # noise only where the mask allows
    assert np.abs(noisy - clean)[p.node_mask].max() > 1e-4
    with pytest.raises(ValueError, match="MeshGraphNet: expected edge features"):
        model(p.nodes, p._replace(edges=None))


@pytest.fixture(scope="module")
def spectral_setup(graphs):
    g = graphs[2]
    lam, u = gd.laplacian_eigenbasis(g, 6)
    return g, lam, u


def test_spectral_equals_dense_eigenbasis_formula(spectral_setup):
    g, lam, u = spectral_setup
    layer = SpectralConv(3, 2, eigenvalues=lam, eigenvectors=u, n_control=4, rngs=nnx.Rngs(11))
    x = np.random.default_rng(12).normal(size=(4, g.n_node[0], 3)).astype(np.float32)
    f = nnx.jit(lambda m, xx: m(xx))
    got = np.asarray(f(layer, x))
    theta = np.asarray(layer.multipliers(), np.float64)  # [k, in, out]
    # the multipliers are the natural cubic spline through the control values
    from scipy.interpolate import CubicSpline

    knots = np.linspace(lam[0], lam[-1], 4)
    spline = CubicSpline(knots, np.asarray(layer.theta[...], np.float64), bc_type="natural")
    np.testing.assert_allclose(theta, spline(lam), rtol=1e-5, atol=1e-6)
    want = np.zeros((4, g.n_node[0], 2))
    for i in range(3):
        for o in range(2):
            want[..., o] += x[..., i] @ (u @ np.diag(theta[:, i, o]) @ u.T).T
    want += np.asarray(layer.bias[...])
    np.testing.assert_allclose(got, want, **TOL)
    # batched signals equal one at a time; jit equals op-by-op
    np.testing.assert_allclose(np.asarray(layer(x[1])), got[1], **TOL)
    # permuting the nodes (and hence the basis rows) permutes the output
    perm = np.random.default_rng(13).permutation(g.n_node[0])
    permuted = SpectralConv(
        3, 2, eigenvalues=lam, eigenvectors=u[perm], n_control=4, rngs=nnx.Rngs(11)
    )
    np.testing.assert_allclose(np.asarray(f(permuted, x[:, perm])), got[:, perm], **TOL)
    with pytest.raises(ValueError, match=r"SpectralConv: x: expected 9 nodes"):
        layer(x[:, :5])
