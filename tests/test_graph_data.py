"""Graph data: batching, padding, segment ops, builders, conversions, Laplacians."""

import itertools

import jax
import numpy as np
import pytest
import scipy.sparse as sp
from sciml.datasets import graphs as gd

from sciml.nn.graph import segment_max, segment_mean, segment_softmax, segment_sum


def _random_graph(rng, n, e, f=3, fe=2):
    s, r = rng.integers(0, n, e), rng.integers(0, n, e)
    return gd.make_graph(
        {"x": rng.normal(size=(n, f)), "y": rng.normal(size=(n,))},
        s,
        r,
        edges=rng.normal(size=(e, fe)),
        globals=rng.normal(size=(2,)),
    )


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert jax.tree.structure(a) == jax.tree.structure(b)


def test_batch_unbatch_pad_unpad_round_trip():
    rng = np.random.default_rng(0)
    graphs = [_random_graph(rng, n, e) for n, e in [(4, 6), (1, 0), (7, 12)]]
    batch = gd.batch_graphs(graphs)
    assert batch.n_node.tolist() == [4, 1, 7] and batch.senders.dtype == np.int32
    # graph 2's edges are shifted by 4 + 1 nodes
    np.testing.assert_array_equal(batch.senders[6:], graphs[2].senders + 5)
    for a, b in zip(gd.unbatch(batch), graphs):
        _assert_same(a, b)
    budget = gd.padding_budget(batch)
    assert budget == (16, 32, 4)
    padded = gd.pad_graphs(batch, *budget)
    assert padded.nodes["x"].shape == (16, 3) and padded.senders.shape == (32,)
    assert padded.n_node.tolist() == [4, 1, 7, 4] and padded.graph_mask.tolist() == [1, 1, 1, 0]
    # padding edges point at the first padding node, inside the padding graph
    assert set(padded.senders[18:]) == {12} and set(padded.receivers[18:]) == {12}
    gd.check_graph(padded)
    _assert_same(gd.unpad(padded), batch)


def test_padding_budget_and_index_errors():
    rng = np.random.default_rng(1)
    batch = gd.batch_graphs([_random_graph(rng, 5, 4), _random_graph(rng, 3, 2)])
    with pytest.raises(ValueError, match=r"n_node: the budget 8 is too small .* at least 9"):
        gd.pad_graphs(batch, 8, 8, 4)
    with pytest.raises(ValueError, match=r"n_edge: the budget 5 is too small"):
        gd.pad_graphs(batch, 16, 5, 4)
    with pytest.raises(ValueError, match=r"n_graph: the budget 2 is too small .* at least 3"):
        gd.pad_graphs(batch, 16, 8, 2)
    with pytest.raises(ValueError, match=r"senders: expected node indices in \[0, 3\), found 3"):
        gd.make_graph(np.zeros((3, 1)), [0, 3], [1, 2])
    with pytest.raises(ValueError, match=r"receivers: expected node indices in \[0, 3\), found -1"):
        gd.make_graph(np.zeros((3, 1)), [0, 1], [1, -1])
    senders = batch.senders.copy()
    senders[4] = 0  # edge 4 belongs to graph 1 (nodes 5..7)
    with pytest.raises(
        ValueError, match=r"edge 4 \(0 -> \d\) of graph 1 leaves its graph's nodes \[5, 8\)"
    ):
        gd.check_graph(batch._replace(senders=senders))


def test_two_batches_same_budget_compile_once():
    rng = np.random.default_rng(2)
    traces = []

    @jax.jit
    def f(g):
        traces.append(1)
        return segment_sum(g.nodes["x"][g.senders], g.receivers, g.nodes["x"].shape[0])

    a = gd.pad_graphs(
        gd.batch_graphs([_random_graph(rng, 5, 7), _random_graph(rng, 9, 3)]), 32, 32, 4
    )
    b = gd.pad_graphs(gd.batch_graphs([_random_graph(rng, 20, 30)]), 32, 32, 4)
    f(a), f(b)
    assert len(traces) == 1


def test_segment_ops_ignore_padding():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(9, 2))
    ids = np.array([0, 0, 2, 2, 2, 1, 0, 4, 4])
    mask = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0], bool)  # segment 4 is padding only; 3 empty
    ops = (segment_sum, segment_mean, segment_max, segment_softmax)
    outs = jax.jit(lambda d, i, m: [op(d, i, 5, m) for op in ops])(data, ids, mask)
    got_sum, got_mean, got_max, sm = map(np.asarray, outs)
    for seg in range(5):
        sel = (ids == seg) & mask
        exp_sum = data[sel].sum(0) if sel.any() else np.zeros(2)
        np.testing.assert_allclose(got_sum[seg], exp_sum, rtol=1e-6)
        np.testing.assert_allclose(got_mean[seg], exp_sum / max(sel.sum(), 1), rtol=1e-6)
        np.testing.assert_allclose(got_max[seg], data[sel].max(0) if sel.any() else 0, rtol=1e-6)
        if sel.any():
            z = np.exp(data[sel] - data[sel].max(0))
            np.testing.assert_allclose(sm[sel], z / z.sum(0), rtol=1e-6)
    np.testing.assert_array_equal(sm[~mask], 0)
    assert np.isfinite(np.asarray(got_max)).all()


def test_mesh_graph_edges_and_features():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [0.0, 2.0]])
    g = gd.mesh_graph(pts, np.array([[0, 1, 2], [0, 2, 3]]))
    pairs = set(zip(g.senders.tolist(), g.receivers.tolist()))
    undirected = {(0, 1), (1, 2), (0, 2), (2, 3), (0, 3)}
    assert pairs == undirected | {(b, a) for a, b in undirected} and g.n_edge[0] == 10
    k = int(np.flatnonzero((g.senders == 2) & (g.receivers == 0))[0])
    np.testing.assert_allclose(g.edges[k], [1.0, 2.0, np.sqrt(5.0)])
    with pytest.raises(ValueError, match=r"cell 1 \(vertices \[0, 1, 4\]\) is degenerate: area 0"):
        gd.mesh_graph(np.vstack([pts, [[2.0, 0.0]]]), np.array([[0, 1, 2], [0, 1, 4]]))
    with pytest.raises(ValueError, match=r"1 point\(s\) belong to no cell \(first: point 4\)"):
        gd.mesh_graph(np.vstack([pts, [[5.0, 5.0]]]), np.array([[0, 1, 2], [0, 2, 3]]))
    iso = gd.mesh_graph(np.vstack([pts, [[5.0, 5.0]]]), [[0, 1, 2], [0, 2, 3]], allow_isolated=True)
    assert iso.n_node[0] == 5 and iso.n_edge[0] == 10
    tet = gd.mesh_graph(np.eye(4, 3), np.array([[0, 1, 2, 3]]))
    assert tet.n_edge[0] == 12 and tet.edges.shape == (12, 4)


@pytest.mark.parametrize("box", [None, 1.0])
def test_knn_and_radius_graphs_match_brute_force(box):
    rng = np.random.default_rng(4)
    pts = rng.uniform(size=(40, 2))
    d = pts[:, None] - pts[None]
    if box is not None:
        d -= box * np.round(d / box)
    dist = np.linalg.norm(d, axis=-1)
    g = gd.knn_graph(pts, 3, box=box)
    np.fill_diagonal(dist, np.inf)
    for i in range(40):
        assert set(g.senders[g.receivers == i]) == set(np.argsort(dist[i])[:3])
    k = 5
    np.testing.assert_allclose(g.edges[k, :2], d[g.senders[k], g.receivers[k]], atol=1e-12)
    rg = gd.radius_graph(pts, 0.2, box=box)
    expect = {(i, j) for i, j in itertools.permutations(range(40), 2) if dist[i, j] < 0.2}
    assert set(zip(rg.senders.tolist(), rg.receivers.tolist())) == expect
    np.testing.assert_allclose(rg.edges[:, 2], dist[rg.senders, rg.receivers], atol=1e-12)
    with pytest.raises(ValueError, match=r"expected coordinates in \[0, box\)"):
        gd.knn_graph(pts + 1.5, 3, box=1.0)


def test_scipy_and_networkx_round_trips():
    rng = np.random.default_rng(5)
    a = sp.random_array((12, 12), density=0.3, random_state=6, format="csr")
    g = gd.from_scipy_sparse(a, edge_feature=True)
    np.testing.assert_allclose(gd.to_scipy_sparse(g, g.edges[:, 0]).toarray(), a.toarray())
    nx = pytest.importorskip("networkx")
    kc = nx.karate_club_graph()
    gk = gd.from_networkx(kc, edge_attr="weight")
    assert gk.n_node[0] == 34 and gk.n_edge[0] == 2 * kc.number_of_edges()
    back = gd.to_networkx(gk, directed=False)
    assert set(map(frozenset, back.edges)) == set(map(frozenset, kc.edges))
    dg = gd.to_networkx(_random_graph(rng, 6, 10)._replace(nodes=np.arange(6.0)[:, None]))
    assert dg.number_of_nodes() == 6


def test_laplacians_and_lambda_max():
    # path 0-1-2 plus isolated node 3 and a self-loop on 0 (ignored by the Laplacians)
    g = gd.make_graph(None, [0, 1, 1, 2, 0], [1, 0, 2, 1, 0], n_node=4)
    a = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], float)
    d = a.sum(1)
    dis = np.where(d > 0, 1 / np.sqrt(np.maximum(d, 1e-300)), 0)
    np.testing.assert_allclose(gd.laplacian(g, "combinatorial").toarray(), np.diag(d) - a)
    np.testing.assert_allclose(gd.laplacian(g, "sym").toarray(), np.eye(4) - dis[:, None] * a * dis)
    rw = np.eye(4) - np.where(d > 0, 1 / np.maximum(d, 1e-300), 0)[:, None] * a
    np.testing.assert_allclose(gd.laplacian(g, "rw").toarray(), rw)
    np.testing.assert_allclose(gd.lambda_max(g, "combinatorial"), [3.0])
    np.testing.assert_allclose(gd.lambda_max(g, "sym"), [2.0])
    # periodic 16x16 grid: lambda_max(sym) = 2, (combinatorial) = 8; Lanczos on 256 nodes
    grid = gd.batch_graphs([gd.grid_graph((16, 16)), gd.grid_graph((5, 3), periodic=False)])
    exact = [
        np.linalg.eigvalsh(gd.laplacian(u, "combinatorial").toarray())[-1] for u in gd.unbatch(grid)
    ]
    np.testing.assert_allclose(
        gd.lambda_max(grid, "combinatorial", method="lanczos"), exact, rtol=1e-7
    )
    np.testing.assert_allclose(exact[0], 8.0, rtol=1e-12)
    padded = gd.pad_graphs(grid, 300, 1100, 4)
    lam = gd.lambda_max(padded, "sym", method="exact")
    np.testing.assert_allclose(lam[:2], gd.lambda_max(grid, "sym", method="exact"), rtol=1e-12)
    assert lam[2] == 1 and lam[3] == 0  # padding nodes are isolated (L = I); empty graph: 0
