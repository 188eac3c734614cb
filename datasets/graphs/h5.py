"""Graphs in HDF5 (layout in ``docs/graph_layout.md``): writer, reader and a random-access source.

One file holds ``G`` graphs as flat arrays with per-graph offsets, so graph ``g`` is read with
two slices and no scan::

    /n_node [G], /n_edge [G]                         int64
    /node_offset [G+1], /edge_offset [G+1]           int64 (cumulative sums, starting at 0)
    /senders [E], /receivers [E]                     int32, LOCAL indices (within the graph)
    /nodes [N, ...]  or  /nodes/NAME [N, ...]        node features (array or named fields)
    /edges [E, ...]  or  /edges/NAME [E, ...]        optional
    /globals [G, ...] or /globals/NAME [G, ...]      optional
    attributes of /: sciml_format = "graphs", version = 1
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np
from sciml.datasets.graphs.batch import GraphBatch, batch_graphs, check_graph, unpad
from sciml.datasets.graphs.items import graph_from_item
from sciml.datasets.sources import LazyHandle, check_file, sample_index

from sciml.atomic import atomic_path

__all__ = ["FORMAT", "GraphSource", "read_graphs", "write_graphs"]

FORMAT, VERSION = "graphs", 1
_FIELDS = ("nodes", "edges", "globals")


def write_graphs(path: str | os.PathLike, graphs: GraphBatch | Sequence[GraphBatch]) -> None:
    """Write graphs (a batch, or a list of graphs/batches; padding dropped) atomically."""
    batch = graphs if isinstance(graphs, GraphBatch) else batch_graphs(list(graphs))
    batch = unpad(batch)
    check_graph(batch, where=f"write_graphs {os.fspath(path)}")
    n_node, n_edge = np.asarray(batch.n_node, np.int64), np.asarray(batch.n_edge, np.int64)
    no = np.concatenate([[0], np.cumsum(n_node)])
    eo = np.concatenate([[0], np.cumsum(n_edge)])
    edge_graph = np.repeat(np.arange(len(n_node)), n_edge)
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["sciml_format"] = FORMAT
            f.attrs["version"] = VERSION
            f["n_node"], f["n_edge"] = n_node, n_edge
            f["node_offset"], f["edge_offset"] = no, eo
            f["senders"] = (np.asarray(batch.senders) - no[edge_graph]).astype(np.int32)
            f["receivers"] = (np.asarray(batch.receivers) - no[edge_graph]).astype(np.int32)
            for name in _FIELDS:
                value = getattr(batch, name)
                if isinstance(value, dict):
                    for k, v in value.items():
                        f[f"{name}/{k}"] = np.asarray(v)
                elif value is not None:
                    f[name] = np.asarray(value)


def _open(path: str) -> h5py.File:
    f = h5py.File(path, "r")
    if f.attrs.get("sciml_format") != FORMAT:
        found = f.attrs.get("sciml_format")
        f.close()
        raise ValueError(
            f"{path}: expected a sciml graph file (attribute sciml_format='{FORMAT}'), found "
            f"{found!r}; write it with sciml.datasets.graphs.write_graphs (docs/graph_layout.md)"
        )
    for key in ("n_node", "n_edge", "node_offset", "edge_offset", "senders", "receivers"):
        if key not in f:
            f.close()
            raise ValueError(
                f"{path}: missing dataset '/{key}' of the graph layout; rewrite the file"
            )
    return f


def _read_field(f: h5py.File, name: str, sl: slice) -> Any:
    if name not in f:
        return None
    obj = f[name]
    if isinstance(obj, h5py.Group):
        return {k: obj[k][sl] for k in obj}
    return obj[sl]


class GraphSource:
    """Random-access source over a graph file: ``source[g]`` is graph ``g`` as a graph sample
    (``{"nodes"|"nodes.NAME", "edges"..., "senders", "receivers"}``, local indices).

    Samples have different sizes: batch them with ``Loader(..., collate=GraphCollate(...))``
    or wrap in :class:`~sciml.datasets.graphs.PaddedGraphs` for fixed shapes. Thread-safe; the
    handle is opened lazily once per process. ``sizes [G, 2]`` holds (nodes, edges) per graph.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = check_file(path, "GraphSource")
        f = _open(self.path)
        try:
            self._n = int(f["n_node"].shape[0])
            self.sizes = np.stack([f["n_node"][...], f["n_edge"][...]], axis=1)
            self._no, self._eo = f["node_offset"][...], f["edge_offset"][...]
            spec: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
            for name in _FIELDS:
                if name in f:
                    obj = f[name]
                    items = obj.items() if isinstance(obj, h5py.Group) else [(None, obj)]
                    for k, ds in items:
                        key = name if k is None else f"{name}.{k}"
                        spec[key] = ((-1 if name != "globals" else 1, *ds.shape[1:]), ds.dtype)
            spec["senders"] = spec["receivers"] = ((-1,), np.dtype(np.int32))
            self._spec = spec
        finally:
            f.close()
        self._handle = LazyHandle(functools.partial(h5py.File, self.path, "r"))

    def __len__(self) -> int:
        return self._n

    @property
    def element_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shapes with ``-1`` for the per-graph node/edge axis (samples vary in size)."""
        return dict(self._spec)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        g = sample_index(index, self._n, f"GraphSource {self.path}")
        ns = slice(int(self._no[g]), int(self._no[g + 1]))
        es = slice(int(self._eo[g]), int(self._eo[g + 1]))
        item: dict[str, np.ndarray] = {}
        with self._handle.lock:
            f = self._handle.get()
            for name, sl in (("nodes", ns), ("edges", es), ("globals", slice(g, g + 1))):
                value = _read_field(f, name, sl)
                if isinstance(value, dict):
                    item.update({f"{name}.{k}": v for k, v in value.items()})
                elif value is not None:
                    item[name] = value if name != "globals" else value[0]
            item["senders"] = f["senders"][es]
            item["receivers"] = f["receivers"][es]
        return item

    def graph(self, index: int) -> GraphBatch:
        """Graph ``index`` as a one-graph :class:`GraphBatch`."""
        return graph_from_item(self[index])

    def __repr__(self) -> str:
        return f"GraphSource({self.path!r}, n={self._n})"


def read_graphs(path: str | os.PathLike, indices: Sequence[int] | None = None) -> GraphBatch:
    """Read graphs ``indices`` (default all) of a graph file as one batch (absolute indices)."""
    source = GraphSource(path)
    idx = range(len(source)) if indices is None else indices
    return batch_graphs([source.graph(int(i)) for i in idx])
