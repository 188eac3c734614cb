"""A batch of graphs as flat arrays (:class:`GraphBatch`), batching, padding to fixed budgets.

Layout (the jraph ``GraphsTuple`` convention)::

    nodes      [N, ...]   N = sum(n_node); graph g owns rows offset[g] : offset[g] + n_node[g]
    edges      [E, ...]   E = sum(n_edge); or None
    senders    [E] int32  absolute row of the edge's source node (message j -> i: sender j)
    receivers  [E] int32  absolute row of the edge's target node (receiver i)
    n_node     [G] int32  nodes per graph;  n_edge [G] int32 edges per graph
    globals    [G, ...]   or None
    node_mask  [N] bool, edge_mask [E] bool, graph_mask [G] bool: False on padding

``nodes``, ``edges`` and ``globals`` may be arrays or dicts of arrays (e.g. ``{"x": ..., "y":
...}``). :class:`GraphBatch` is a ``NamedTuple``, hence a JAX pytree: it passes through ``jit``,
``grad`` and ``tree.map`` as is.

Padding (:func:`pad_graphs`) appends ONE padding graph that holds all padding nodes and edges;
padding edges go from the first padding node to itself, so no message ever reaches a real node
and segment reductions over real nodes are unchanged. Budgets must therefore leave at least one
padding node and one padding graph. With fixed budgets every batch has the same shapes and a
jitted function compiles once; :func:`padding_budget` rounds up to powers of two to bound the
number of distinct shapes when batches vary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

__all__ = [
    "GraphBatch",
    "batch_graphs",
    "check_graph",
    "make_graph",
    "merge_stacked",
    "pad_graphs",
    "padding_budget",
    "unbatch",
    "unpad",
]


class GraphBatch(NamedTuple):
    """Graphs as flat node/edge arrays with absolute ``senders``/``receivers`` (see module doc)."""

    nodes: Any
    edges: Any
    senders: Any
    receivers: Any
    n_node: Any
    n_edge: Any
    globals: Any = None
    node_mask: Any = None
    edge_mask: Any = None
    graph_mask: Any = None

    @property
    def num_graphs(self) -> int:
        return int(self.n_node.shape[0])

    @property
    def num_nodes(self) -> int:
        return _rows(self.nodes, self.n_node)

    @property
    def num_edges(self) -> int:
        return int(self.senders.shape[0])


def _rows(tree: Any, n_node: Any) -> int:
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return int(np.sum(np.asarray(n_node)))
    return int(leaves[0].shape[0])


def _tmap(f, *trees):
    return jax.tree.map(f, *trees, is_leaf=lambda x: x is None)


def _cat(parts: Sequence[Any]) -> Any:
    if parts[0] is None:
        return None
    return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *parts)


def make_graph(
    nodes: Any,
    senders: Any,
    receivers: Any,
    *,
    edges: Any = None,
    globals: Any = None,
    n_node: int | None = None,
) -> GraphBatch:
    """One graph as a :class:`GraphBatch` of one graph (checked, int32 indices, all masks True).

    Args:
      nodes: ``[n, F]`` node features (or a dict of ``[n, ...]`` arrays, or None with ``n_node``).
      senders, receivers: ``[e]`` integer node indices in ``[0, n)`` of each directed edge.
      edges: ``[e, Fe]`` edge features or None.
      globals: ``[Fg]`` graph features or None (stored as ``[1, Fg]``).
      n_node: number of nodes when ``nodes`` is None.
    """
    senders = np.asarray(senders).reshape(-1)
    receivers = np.asarray(receivers).reshape(-1)
    n = _rows(nodes, n_node if n_node is not None else 0)
    e = senders.shape[0]
    g = GraphBatch(
        nodes=_tmap(lambda x: None if x is None else np.asarray(x), nodes),
        edges=_tmap(lambda x: None if x is None else np.asarray(x), edges),
        senders=senders.astype(np.int32),
        receivers=receivers.astype(np.int32),
        n_node=np.array([n], np.int32),
        n_edge=np.array([e], np.int32),
        globals=_tmap(lambda x: None if x is None else np.asarray(x)[None], globals),
        node_mask=np.ones(n, bool),
        edge_mask=np.ones(e, bool),
        graph_mask=np.ones(1, bool),
    )
    check_graph(g, where="make_graph")
    return g


def check_graph(g: GraphBatch, *, where: str = "graph") -> None:
    """Raise a one-line ``ValueError`` if the arrays of ``g`` are inconsistent (host arrays)."""
    n_node, n_edge = np.asarray(g.n_node), np.asarray(g.n_edge)
    senders, receivers = np.asarray(g.senders), np.asarray(g.receivers)
    n, e = int(n_node.sum()), int(n_edge.sum())
    rows = _rows(g.nodes, n_node)
    if rows != n:
        raise ValueError(
            f"{where}: nodes: expected sum(n_node) = {n} rows, found {rows}; pass n_node that "
            "sums to the node count"
        )
    for name, arr in (("senders", senders), ("receivers", receivers)):
        if arr.shape != (e,):
            raise ValueError(
                f"{where}: {name}: expected shape ({e},) = (sum(n_edge),), found {arr.shape}; "
                "give one index per edge"
            )
        if arr.dtype.kind not in "iu":
            raise ValueError(
                f"{where}: {name}: expected integer node indices, found dtype {arr.dtype}; "
                "cast with .astype(np.int32)"
            )
        if e and (arr.min() < 0 or arr.max() >= n):
            bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
            raise ValueError(
                f"{where}: {name}: expected node indices in [0, {n}), found {bad}; indices are "
                "absolute rows of nodes (add each graph's node offset)"
            )
    for name, tree, size in (("edges", g.edges, e), ("globals", g.globals, n_node.shape[0])):
        for leaf in jax.tree.leaves(tree):
            if leaf.shape[0] != size:
                raise ValueError(
                    f"{where}: {name}: expected {size} rows, found {leaf.shape[0]}; one row per "
                    f"{'edge' if name == 'edges' else 'graph'}"
                )
    if e:  # every edge must stay inside its own graph
        offsets = np.concatenate([[0], np.cumsum(n_node)])
        edge_graph = np.repeat(np.arange(n_node.shape[0]), n_edge)
        lo, hi = offsets[edge_graph], offsets[edge_graph + 1]
        out = (senders < lo) | (senders >= hi) | (receivers < lo) | (receivers >= hi)
        if out.any():
            k = int(np.argmax(out))
            raise ValueError(
                f"{where}: edge {k} ({senders[k]} -> {receivers[k]}) of graph {edge_graph[k]} "
                f"leaves its graph's nodes [{lo[k]}, {hi[k]}); fix senders/receivers"
            )


def _masks(g: GraphBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, e, k = int(np.sum(g.n_node)), int(np.sum(g.n_edge)), len(g.n_node)
    return (
        np.ones(n, bool) if g.node_mask is None else np.asarray(g.node_mask, bool),
        np.ones(e, bool) if g.edge_mask is None else np.asarray(g.edge_mask, bool),
        np.ones(k, bool) if g.graph_mask is None else np.asarray(g.graph_mask, bool),
    )


def batch_graphs(graphs: Sequence[GraphBatch]) -> GraphBatch:
    """Concatenate graphs (each a :class:`GraphBatch` of one or more graphs) into one batch.

    Node indices of graph ``k`` are shifted by the node count of the graphs before it.
    """
    if not graphs:
        raise ValueError("batch_graphs: expected at least one graph, found an empty list")
    offsets = np.cumsum([0] + [int(np.sum(g.n_node)) for g in graphs])
    masks = [_masks(g) for g in graphs]
    return GraphBatch(
        nodes=_cat([g.nodes for g in graphs]),
        edges=_cat([g.edges for g in graphs]),
        senders=np.concatenate([np.asarray(g.senders) + o for g, o in zip(graphs, offsets)]).astype(
            np.int32
        ),
        receivers=np.concatenate(
            [np.asarray(g.receivers) + o for g, o in zip(graphs, offsets)]
        ).astype(np.int32),
        n_node=np.concatenate([np.asarray(g.n_node) for g in graphs]).astype(np.int32),
        n_edge=np.concatenate([np.asarray(g.n_edge) for g in graphs]).astype(np.int32),
        globals=_cat([g.globals for g in graphs]),
        node_mask=np.concatenate([m[0] for m in masks]),
        edge_mask=np.concatenate([m[1] for m in masks]),
        graph_mask=np.concatenate([m[2] for m in masks]),
    )


def unbatch(batch: GraphBatch) -> list[GraphBatch]:
    """Split a batch into single graphs (local indices); the inverse of :func:`batch_graphs`."""
    n_node, n_edge = np.asarray(batch.n_node), np.asarray(batch.n_edge)
    no = np.concatenate([[0], np.cumsum(n_node)])
    eo = np.concatenate([[0], np.cumsum(n_edge)])
    nm, em, gm = _masks(batch)
    out = []
    for k in range(len(n_node)):
        ns, es = slice(no[k], no[k + 1]), slice(eo[k], eo[k + 1])
        out.append(
            GraphBatch(
                nodes=_tmap(lambda x, s=ns: None if x is None else np.asarray(x)[s], batch.nodes),
                edges=_tmap(lambda x, s=es: None if x is None else np.asarray(x)[s], batch.edges),
                senders=(np.asarray(batch.senders)[es] - no[k]).astype(np.int32),
                receivers=(np.asarray(batch.receivers)[es] - no[k]).astype(np.int32),
                n_node=n_node[k : k + 1].astype(np.int32),
                n_edge=n_edge[k : k + 1].astype(np.int32),
                globals=_tmap(
                    lambda x, s=k: None if x is None else np.asarray(x)[s : s + 1], batch.globals
                ),
                node_mask=nm[ns],
                edge_mask=em[es],
                graph_mask=gm[k : k + 1],
            )
        )
    return out


def _pad_rows(tree: Any, count: int) -> Any:
    return _tmap(
        lambda x: (
            None
            if x is None
            else np.concatenate(
                [np.asarray(x), np.zeros((count, *np.shape(x)[1:]), np.asarray(x).dtype)]
            )
        ),
        tree,
    )


def pad_graphs(batch: GraphBatch, n_node: int, n_edge: int, n_graph: int) -> GraphBatch:
    """Pad ``batch`` to exactly ``n_node`` nodes, ``n_edge`` edges and ``n_graph`` graphs.

    One padding graph gets all ``n_node - N`` padding nodes and ``n_edge - E`` padding edges
    (``first padding node -> itself``); further padding graphs are empty. Padded features are 0
    and the masks are False on padding. Requires ``n_node > N``, ``n_edge >= E`` and
    ``n_graph > G`` (one-line ``ValueError`` otherwise).
    """
    n, e, g = int(np.sum(batch.n_node)), int(np.sum(batch.n_edge)), len(batch.n_node)
    for name, budget, found, need in (
        ("n_node", n_node, n, n + 1),
        ("n_edge", n_edge, e, e),
        ("n_graph", n_graph, g, g + 1),
    ):
        if budget < need:
            raise ValueError(
                f"pad_graphs: {name}: the budget {budget} is too small for a batch with {found} "
                f"({'one padding entry is needed, ' if need > found else ''}so at least {need}); "
                f"raise {name} (padding_budget() rounds up to a power of two) or split the batch"
            )
    pn, pe, pg = n_node - n, n_edge - e, n_graph - g
    nm, em, gm = _masks(batch)
    return GraphBatch(
        nodes=_pad_rows(batch.nodes, pn),
        edges=_pad_rows(batch.edges, pe),
        senders=np.concatenate([np.asarray(batch.senders), np.full(pe, n)]).astype(np.int32),
        receivers=np.concatenate([np.asarray(batch.receivers), np.full(pe, n)]).astype(np.int32),
        n_node=np.concatenate([np.asarray(batch.n_node), [pn], np.zeros(pg - 1)]).astype(np.int32),
        n_edge=np.concatenate([np.asarray(batch.n_edge), [pe], np.zeros(pg - 1)]).astype(np.int32),
        globals=_pad_rows(batch.globals, pg),
        node_mask=np.concatenate([nm, np.zeros(pn, bool)]),
        edge_mask=np.concatenate([em, np.zeros(pe, bool)]),
        graph_mask=np.concatenate([gm, np.zeros(pg, bool)]),
    )


def unpad(batch: GraphBatch) -> GraphBatch:
    """Drop padding nodes, edges and graphs (``mask == False``); inverse of :func:`pad_graphs`."""
    nm, em, gm = _masks(batch)
    new_index = np.cumsum(nm) - 1
    return GraphBatch(
        nodes=_tmap(lambda x: None if x is None else np.asarray(x)[nm], batch.nodes),
        edges=_tmap(lambda x: None if x is None else np.asarray(x)[em], batch.edges),
        senders=new_index[np.asarray(batch.senders)[em]].astype(np.int32),
        receivers=new_index[np.asarray(batch.receivers)[em]].astype(np.int32),
        n_node=np.asarray(batch.n_node)[gm].astype(np.int32),
        n_edge=np.asarray(batch.n_edge)[gm].astype(np.int32),
        globals=_tmap(lambda x: None if x is None else np.asarray(x)[gm], batch.globals),
        node_mask=np.ones(int(nm.sum()), bool),
        edge_mask=np.ones(int(em.sum()), bool),
        graph_mask=np.ones(int(gm.sum()), bool),
    )


def padding_budget(
    batch: GraphBatch | Sequence[GraphBatch], *, power_of_two: bool = True
) -> tuple[int, int, int]:
    """Budgets ``(n_node, n_edge, n_graph)`` that fit ``batch`` plus its padding graph.

    With ``power_of_two`` each is rounded up to the next power of two (as jraph does), so
    batches of varying size share few shapes and a jitted function compiles few times.
    """
    graphs = [batch] if isinstance(batch, GraphBatch) else list(batch)
    n = sum(int(np.sum(g.n_node)) for g in graphs) + 1
    e = sum(int(np.sum(g.n_edge)) for g in graphs)
    k = sum(len(g.n_node) for g in graphs) + 1
    if not power_of_two:
        return n, e, k
    up = lambda v: 1 << max(int(v) - 1, 0).bit_length()  # noqa: E731
    return up(n), up(e), up(k)


def merge_stacked(batch: GraphBatch) -> GraphBatch:
    """Flatten a STACK of equally padded batches into one batch (``jax.numpy``; works under jit).

    The :class:`~sciml.datasets.Loader` stacks per-sample padded graphs (from
    :class:`~sciml.datasets.graphs.PaddedGraphs`) into arrays with a leading batch axis ``B``:
    nodes ``[B, N, ...]``, senders ``[B, E]``, n_node ``[B, G]``... This returns the flat batch
    of ``B * G`` graphs with ``B * N`` nodes, shifting sample ``b``'s indices by ``b * N``.
    """
    import jax.numpy as jnp

    B, N = batch.senders.shape[0], batch.node_mask.shape[1]
    shift = (jnp.arange(B, dtype=jnp.int32) * N)[:, None]
    flat = lambda x: None if x is None else x.reshape(-1, *x.shape[2:])  # noqa: E731
    return GraphBatch(
        nodes=_tmap(flat, batch.nodes),
        edges=_tmap(flat, batch.edges),
        senders=(batch.senders + shift).reshape(-1),
        receivers=(batch.receivers + shift).reshape(-1),
        n_node=batch.n_node.reshape(-1),
        n_edge=batch.n_edge.reshape(-1),
        globals=_tmap(flat, batch.globals),
        node_mask=batch.node_mask.reshape(-1),
        edge_mask=batch.edge_mask.reshape(-1),
        graph_mask=batch.graph_mask.reshape(-1),
    )
