"""Conversions between :class:`~sciml.datasets.graphs.GraphBatch` and scipy.sparse / networkx.

Adjacency convention (PyTorch Geometric's and networkx's): ``A[j, i] = w`` for an edge
``j -> i`` (row = sender, column = receiver); duplicate edges are summed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sciml.datasets.graphs.batch import GraphBatch, make_graph

__all__ = ["from_networkx", "from_scipy_sparse", "to_networkx", "to_scipy_sparse"]


def to_scipy_sparse(graph: GraphBatch, edge_weight=None) -> sp.csr_array:
    """``[N, N]`` adjacency of all nodes of the batch (block diagonal over graphs).

    Padding edges (``edge_mask == False``) are left out; weights default to 1.
    """
    s, r = np.asarray(graph.senders), np.asarray(graph.receivers)
    w = np.ones(s.shape[0]) if edge_weight is None else np.asarray(edge_weight, np.float64)
    if graph.edge_mask is not None:
        m = np.asarray(graph.edge_mask, bool)
        s, r, w = s[m], r[m], w[m]
    n = int(np.sum(graph.n_node))
    return sp.csr_array(sp.coo_array((w, (s, r)), shape=(n, n)))


def from_scipy_sparse(adjacency, *, nodes=None, edge_feature: bool = False) -> GraphBatch:
    """One graph from a square sparse (or dense) adjacency: edge ``j -> i`` for ``A[j, i] != 0``.

    Args:
      adjacency: ``[n, n]`` scipy.sparse matrix/array or dense array.
      nodes: ``[n, F]`` node features (default: none, ``n_node = n``).
      edge_feature: store the nonzero values as edge features ``[E, 1]``.
    """
    a = sp.coo_array(adjacency)
    if a.shape[0] != a.shape[1]:
        raise ValueError(
            f"from_scipy_sparse: adjacency: expected a square matrix, found shape {a.shape}"
        )
    a.sum_duplicates()
    a.eliminate_zeros()
    order = np.lexsort((a.row, a.col))
    s, r, v = a.row[order], a.col[order], a.data[order]
    return make_graph(nodes, s, r, edges=v[:, None] if edge_feature else None, n_node=a.shape[0])


def to_networkx(graph: GraphBatch, *, directed: bool = True) -> Any:
    """A ``networkx.DiGraph`` (or ``Graph``) of the unpadded nodes and edges of ``graph``.

    Node ``i`` gets attribute ``"x"`` (its feature row) when ``nodes`` is an array; edge
    ``(j, i)`` gets ``"edge_attr"`` when ``edges`` is an array.
    """
    import networkx as nx

    g = nx.DiGraph() if directed else nx.Graph()
    n = int(np.sum(graph.n_node))
    nm = np.ones(n, bool) if graph.node_mask is None else np.asarray(graph.node_mask, bool)
    nodes = graph.nodes if isinstance(graph.nodes, np.ndarray) else None
    for i in np.flatnonzero(nm):
        g.add_node(int(i), **({"x": nodes[i]} if nodes is not None else {}))
    s, r = np.asarray(graph.senders), np.asarray(graph.receivers)
    em = np.ones(len(s), bool) if graph.edge_mask is None else np.asarray(graph.edge_mask, bool)
    edges = graph.edges if isinstance(graph.edges, np.ndarray) else None
    for k in np.flatnonzero(em):
        attrs = {"edge_attr": edges[k]} if edges is not None else {}
        g.add_edge(int(s[k]), int(r[k]), **attrs)
    return g


def from_networkx(
    g: Any, *, node_attr: str | None = None, edge_attr: str | None = None
) -> GraphBatch:
    """One graph from a networkx graph; nodes are numbered in ``g.nodes`` order.

    An undirected graph gives both ``j -> i`` and ``i -> j``. ``node_attr`` / ``edge_attr`` name
    a numeric attribute to store as features (``[n, F]`` / ``[E, F]``).
    """
    index = {v: k for k, v in enumerate(g.nodes)}
    pairs = [(index[u], index[v], d) for u, v, d in g.edges(data=True)]
    if not g.is_directed():
        pairs += [(v, u, d) for u, v, d in pairs if u != v]
    s = np.array([p[0] for p in pairs], np.int64)
    r = np.array([p[1] for p in pairs], np.int64)
    order = np.lexsort((s, r)) if len(s) else np.zeros(0, int)

    def column(values, what):
        try:
            arr = np.asarray([np.atleast_1d(np.asarray(v, np.float64)) for v in values])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"from_networkx: {what}: expected a numeric attribute on every item ({err})"
            ) from None
        return arr

    nodes = None
    if node_attr is not None:
        nodes = column([g.nodes[v][node_attr] for v in g.nodes], f"node_attr {node_attr!r}")
    edges = None
    if edge_attr is not None:
        edges = column([p[2][edge_attr] for p in pairs], f"edge_attr {edge_attr!r}")[order]
    return make_graph(nodes, s[order], r[order], edges=edges, n_node=len(index))
