"""Graph structure helpers and sparse graph operators (GCN propagation, Laplacians) in JAX.

A *graph* here is any object with integer arrays ``senders [E]``, ``receivers [E]`` (absolute
node rows), ``n_node [G]``, ``n_edge [G]`` and, optionally, boolean ``node_mask [N]``,
``edge_mask [E]`` and an ``edges`` feature array (e.g. ``sciml.datasets.graphs.GraphBatch``;
see :mod:`sciml.nn.graph`). Node features travel separately as ``x [N, F]``.

Conventions (those of PyTorch Geometric): an edge ``j -> i`` carries a message from sender
``j`` to receiver ``i``; degrees are taken at the receiver,
``d_i = sum_{e: r_e = i} w_e``. Self-loops are removed before building Laplacians
(they do not change ``D - A``). With the aggregation matrix ``M_ij = sum_{e: j -> i} w_e``:

* combinatorial ``L = D - M``
* symmetric ``L = I - D^-1/2 M D^-1/2``
* random walk ``L = I - D^-1 M``

where ``d^-1/2`` and ``d^-1`` are 0 for isolated nodes (so an isolated node has ``L_ii = 1``
in the normalised Laplacians and 0 in the combinatorial one, never NaN).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from sciml.nn.graph.segment import segment_sum

__all__ = [
    "LAPLACIANS",
    "GraphLike",
    "LaplacianOperator",
    "edge_weights",
    "estimate_lambda_max",
    "gcn_coefficients",
    "laplacian_operator",
    "node_graph_ids",
]

LAPLACIANS = ("sym", "rw", "combinatorial")


class GraphLike(Protocol):
    """What the graph layers read from a graph (duck typed; masks and edges optional)."""

    senders: Any
    receivers: Any
    n_node: Any
    n_edge: Any


def node_graph_ids(graph: GraphLike, num_nodes: int) -> jax.Array:
    """Graph index of every node, ``[num_nodes]`` int32 (static length, jit friendly)."""
    n_node = jnp.asarray(graph.n_node)
    return jnp.repeat(
        jnp.arange(n_node.shape[0], dtype=jnp.int32), n_node, total_repeat_length=num_nodes
    )


def edge_weights(graph: GraphLike, edge_weight: jax.Array | None, dtype) -> jax.Array:
    """Edge weights ``[E]`` (default 1), zero on padding edges (``edge_mask == False``)."""
    e = jnp.asarray(graph.senders).shape[0]
    w = jnp.ones(e, dtype) if edge_weight is None else jnp.asarray(edge_weight, dtype).reshape(e)
    mask = getattr(graph, "edge_mask", None)
    return w if mask is None else jnp.where(jnp.asarray(mask), w, 0)


def _inv(x: jax.Array, power: float) -> jax.Array:
    safe = jnp.where(x > 0, x, 1)
    return jnp.where(x > 0, safe**power, 0)


def gcn_coefficients(
    graph: GraphLike,
    num_nodes: int,
    *,
    edge_weight: jax.Array | None = None,
    add_self_loops: bool = True,
    dtype=jnp.float32,
) -> tuple[jax.Array, jax.Array]:
    """Kipf-Welling propagation ``D^-1/2 (A + I) D^-1/2`` as per-edge and per-node coefficients.

    Self-loops are added only where missing (an existing self-loop keeps its weight); the degree
    is taken at the receiver and ``d^-1/2 = 0`` for ``d = 0``.

    Returns:
      ``(coef [E], diag [N])`` with ``out_i = diag_i h_i + sum_{e: j -> i, j != i} coef_e h_j``.
    """
    s, r = jnp.asarray(graph.senders), jnp.asarray(graph.receivers)
    w = edge_weights(graph, edge_weight, dtype)
    loop = s == r
    loop_w = segment_sum(jnp.where(loop, w, 0), r, num_nodes)
    if add_self_loops:
        valid = getattr(graph, "edge_mask", None)
        is_loop = loop if valid is None else loop & jnp.asarray(valid)
        has_loop = segment_sum(is_loop.astype(dtype), r, num_nodes) > 0
        self_w = jnp.where(has_loop, loop_w, 1)
    else:
        self_w = loop_w
    w_nl = jnp.where(loop, 0, w)
    deg = segment_sum(w_nl, r, num_nodes) + self_w
    dis = _inv(deg, -0.5)
    return dis[s] * w_nl * dis[r], self_w * dis * dis


class LaplacianOperator(NamedTuple):
    """``L x = diag * x - sum_{e: j -> i} coef_e x_j`` (self-loops removed), a sparse operator."""

    diag: jax.Array
    coef: jax.Array
    senders: jax.Array
    receivers: jax.Array

    def __call__(self, x: jax.Array) -> jax.Array:
        """Apply to ``x [N, ...]``."""
        n = x.shape[0]
        c = self.coef.reshape(self.coef.shape + (1,) * (x.ndim - 1)).astype(x.dtype)
        d = self.diag.reshape(self.diag.shape + (1,) * (x.ndim - 1)).astype(x.dtype)
        return d * x - segment_sum(c * x[self.senders], self.receivers, n)


def laplacian_operator(
    graph: GraphLike,
    num_nodes: int,
    *,
    normalization: str = "sym",
    edge_weight: jax.Array | None = None,
    dtype=jnp.float32,
) -> LaplacianOperator:
    """The graph Laplacian (``"sym"``, ``"rw"`` or ``"combinatorial"``) as a sparse operator."""
    if normalization not in LAPLACIANS:
        raise ValueError(
            f"normalization: expected one of {LAPLACIANS}, found {normalization!r}; pass "
            "normalization='sym'"
        )
    s, r = jnp.asarray(graph.senders), jnp.asarray(graph.receivers)
    w = jnp.where(s == r, 0, edge_weights(graph, edge_weight, dtype))
    deg = segment_sum(w, r, num_nodes)
    if normalization == "combinatorial":
        return LaplacianOperator(deg, w, s, r)
    if normalization == "sym":
        dis = _inv(deg, -0.5)
        return LaplacianOperator(jnp.ones(num_nodes, dtype), dis[s] * w * dis[r], s, r)
    return LaplacianOperator(jnp.ones(num_nodes, dtype), _inv(deg, -1.0)[r] * w, s, r)


def estimate_lambda_max(
    operator: LaplacianOperator, graph: GraphLike, *, num_iters: int = 30
) -> jax.Array:
    """Largest eigenvalue of the Laplacian, per graph, by power iteration: ``[G]``.

    The Rayleigh quotient of ``L^k v0`` is a lower bound converging to ``lambda_max``; for the
    exact value use ``sciml.datasets.graphs.lambda_max`` on the host (Lanczos). Not
    differentiated. ``num_iters`` sparse products per graph batch; the error decays like
    ``(lambda_2 / lambda_max)^(2 k)``, slowly on large meshes whose top eigenvalues cluster, so
    pass ``lambda_max`` there. (For ``"rw"``, not symmetric, the quotient is approximate.)
    """
    n = operator.diag.shape[0]
    g = jnp.asarray(graph.n_node).shape[0]
    ids = node_graph_ids(graph, n)
    v0 = 1.0 + 0.5 * jnp.sin(jnp.arange(n, dtype=operator.diag.dtype) * 1.618 + 0.3)

    def normalise(v):
        norm = jnp.sqrt(segment_sum(v * v, ids, g))
        return v / jnp.where(norm > 0, norm, 1)[ids]

    v = jax.lax.fori_loop(0, num_iters, lambda _, v: normalise(operator(v)), normalise(v0))
    lam = segment_sum(v * operator(v), ids, g) / jnp.maximum(segment_sum(v * v, ids, g), 1e-30)
    return jax.lax.stop_gradient(lam)
