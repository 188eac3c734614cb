"""Graphs as Loader samples: flat dicts, the padding collate, and a fixed-shape padded source.

A graph SAMPLE (what a source's ``__getitem__`` returns) is a flat ``dict[str, np.ndarray]``:
``"senders"``, ``"receivers"`` (local indices), ``"nodes"`` or ``"nodes.NAME"`` for each field
of a dict of node features, likewise ``"edges"``/``"edges.NAME"`` and
``"globals"``/``"globals.NAME"``, and, for padded samples, ``"n_node"``, ``"n_edge"`` and the
masks. :func:`graph_to_item` and :func:`graph_from_item` convert.

Two ways to batch graphs with :class:`~sciml.datasets.Loader`:

* ``Loader(source, collate=GraphCollate(n_node, n_edge, n_graph))``: variable-size samples are
  batched and padded to fixed budgets into one flat :class:`GraphBatch` per step.
* :class:`PaddedGraphs`: every sample padded to the same budget (fixed shapes), so the default
  stacking and the mesh sharding of :func:`sciml.train.fit` apply; a jitted step turns the
  stack back into one flat batch with :func:`~sciml.datasets.graphs.merge_stacked`.

Either way the order, resumability and per-process sharding are the Loader's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sciml.datasets.graphs.batch import GraphBatch, batch_graphs, pad_graphs

__all__ = ["GraphCollate", "PaddedGraphs", "graph_from_item", "graph_to_item"]

_FIELDS = ("nodes", "edges", "globals")
_PLAIN = ("senders", "receivers", "n_node", "n_edge", "node_mask", "edge_mask", "graph_mask")


def graph_to_item(g: GraphBatch) -> dict[str, np.ndarray]:
    """Flatten a graph (batch) into ``{key: array}`` with dotted keys for dict features."""
    item: dict[str, np.ndarray] = {}
    for name in _FIELDS:
        value = getattr(g, name)
        if isinstance(value, dict):
            item.update({f"{name}.{k}": np.asarray(v) for k, v in value.items()})
        elif value is not None:
            item[name] = np.asarray(value)
    for name in _PLAIN:
        value = getattr(g, name)
        if value is not None:
            item[name] = np.asarray(value)
    return item


def graph_from_item(item: dict[str, Any]) -> GraphBatch:
    """Inverse of :func:`graph_to_item` (NumPy or JAX arrays, stacked or not).

    A sample without ``n_node`` is one graph: ``n_node``/``n_edge`` are inferred and the
    indices are taken as local.
    """
    fields: dict[str, Any] = {}
    for name in _FIELDS:
        sub = {k.split(".", 1)[1]: v for k, v in item.items() if k.startswith(name + ".")}
        fields[name] = sub if sub else item.get(name)
    for key in ("senders", "receivers"):
        if key not in item:
            raise ValueError(
                f"graph sample: missing {key!r} (found keys {sorted(item)}); a graph sample "
                "needs senders and receivers"
            )
    plain = {k: item.get(k) for k in _PLAIN}
    if plain["n_node"] is None:
        leaves = [
            v
            for v in (
                fields["nodes"].values() if isinstance(fields["nodes"], dict) else [fields["nodes"]]
            )
            if v is not None
        ]
        if not leaves:
            raise ValueError("graph sample: expected node features ('nodes' or 'nodes.NAME')")
        plain["n_node"] = np.array([leaves[0].shape[0]], np.int32)
        plain["n_edge"] = np.array([np.shape(item["senders"])[0]], np.int32)
        if fields["globals"] is not None:
            fields["globals"] = _tree_map(lambda v: np.asarray(v)[None], fields["globals"])
    return GraphBatch(**fields, **plain)


def _tree_map(f, tree):
    if isinstance(tree, dict):
        return {k: f(v) for k, v in tree.items()}
    return f(tree)


class GraphCollate:
    """Loader ``collate``: a list of graph samples -> one :class:`GraphBatch` padded to budgets.

    Args:
      n_node, n_edge, n_graph: the fixed budgets (``n_node`` > total nodes of a batch,
        ``n_graph`` > graphs per batch; see :func:`~sciml.datasets.graphs.pad_graphs`). A batch
        that does not fit raises a one-line ``ValueError`` naming the budget.
    """

    def __init__(self, n_node: int, n_edge: int, n_graph: int):
        self.budget = (int(n_node), int(n_edge), int(n_graph))

    def __call__(self, items: Sequence[dict[str, np.ndarray]]) -> GraphBatch:
        return pad_graphs(batch_graphs([graph_from_item(it) for it in items]), *self.budget)

    def __repr__(self) -> str:
        return f"GraphCollate(n_node={self.budget[0]}, n_edge={self.budget[1]}, n_graph={self.budget[2]})"


class PaddedGraphs:
    """Fixed-shape source: sample ``i`` is graph ``i`` padded to ``n_node`` nodes, ``n_edge`` edges.

    Each sample holds one real graph and one padding graph (``n_node``, ``n_edge`` and
    ``graph_mask`` have shape ``[2]``), flattened by :func:`graph_to_item`.

    Args:
      graphs: a sequence of one-graph :class:`GraphBatch` (e.g. from :func:`read_graphs` with
        ``as_list=True``), or any source whose samples are graph samples (:class:`GraphSource`).
      n_node, n_edge: budgets; default the largest graph's node count + 1 and edge count.
    """

    def __init__(self, graphs: Any, *, n_node: int | None = None, n_edge: int | None = None):
        self.graphs = graphs
        if len(graphs) == 0:
            raise ValueError("PaddedGraphs: graphs: expected at least one graph, found none")
        sizes = getattr(graphs, "sizes", None)
        if sizes is None:
            sizes = np.array([(int(np.sum(g.n_node)), int(np.sum(g.n_edge))) for g in graphs])
        sizes = np.asarray(sizes).reshape(-1, 2)
        self.n_node = int(sizes[:, 0].max()) + 1 if n_node is None else int(n_node)
        self.n_edge = int(sizes[:, 1].max()) if n_edge is None else int(n_edge)
        big = np.flatnonzero((sizes[:, 0] >= self.n_node) | (sizes[:, 1] > self.n_edge))
        if big.size:
            k = int(big[0])
            raise ValueError(
                f"PaddedGraphs: graph {k} has {sizes[k, 0]} nodes and {sizes[k, 1]} edges, more "
                f"than the budget n_node={self.n_node} (needs > nodes), n_edge={self.n_edge}; "
                f"raise n_node to >= {sizes[:, 0].max() + 1} and n_edge to >= {sizes[:, 1].max()}"
            )
        self._spec = {k: (v.shape, v.dtype) for k, v in self[0].items()}

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        g = self.graphs[index]
        if isinstance(g, dict):
            g = graph_from_item(g)
        return graph_to_item(pad_graphs(g, self.n_node, self.n_edge, 2))

    @property
    def element_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        return dict(self._spec)

    def __repr__(self) -> str:
        return f"PaddedGraphs(n={len(self)}, n_node={self.n_node}, n_edge={self.n_edge})"
