"""Graphs from meshes, point clouds (k nearest neighbours, radius) and regular grids.

Every builder returns a one-graph :class:`~sciml.datasets.graphs.GraphBatch` whose edges go
both ways and carry the MeshGraphNets edge features ``[x_sender - x_receiver, |x_sender -
x_receiver|]`` (relative position, then length; in the units of ``points``). In a periodic box
the relative position is the minimum image.
"""

from __future__ import annotations

import itertools

import numpy as np
from sciml.datasets.graphs.batch import GraphBatch, make_graph
from scipy.spatial import cKDTree

__all__ = ["grid_graph", "knn_graph", "mesh_edges", "mesh_graph", "radius_graph"]


def _points(points, where: str) -> np.ndarray:
    p = np.asarray(points)
    p = p if p.dtype in (np.float32, np.float64) else p.astype(np.float64)
    if p.ndim != 2 or p.shape[1] not in (1, 2, 3) or p.shape[0] == 0:
        raise ValueError(
            f"{where}: points: expected shape (n, d) with n >= 1 and d in 1..3, found "
            f"{p.shape}; pass node coordinates, one row per node"
        )
    if not np.isfinite(p).all():
        raise ValueError(f"{where}: points: expected finite coordinates, found NaN or Inf")
    return p


def _box(box, dim: int, points: np.ndarray, where: str) -> np.ndarray | None:
    if box is None:
        return None
    b = np.broadcast_to(np.asarray(box, np.float64), (dim,)).copy()
    if (b <= 0).any():
        raise ValueError(f"{where}: box: expected positive side lengths, found {b.tolist()}")
    if (points < 0).any() or (points >= b).any():
        raise ValueError(
            f"{where}: points: expected coordinates in [0, box) = [0, {b.tolist()}) for a periodic "
            f"box, found range [{points.min():g}, {points.max():g}]; wrap them with points % box"
        )
    return b


def edge_features(
    points: np.ndarray, senders: np.ndarray, receivers: np.ndarray, box: np.ndarray | None = None
) -> np.ndarray:
    """``[x_s - x_r, |x_s - x_r|]`` per edge, ``[E, d + 1]`` (minimum image in a periodic box)."""
    d = points[senders] - points[receivers]
    if box is not None:
        d = d - box * np.round(d / box)
    return np.concatenate([d, np.linalg.norm(d, axis=1, keepdims=True)], axis=1).astype(
        points.dtype
    )


def _both_ways(pairs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected pairs -> directed edges both ways, sorted by (receiver, sender)."""
    a, b = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    keys = np.unique(a.astype(np.int64) * n + b)
    a, b = keys // n, keys % n
    s, r = np.concatenate([a, b]), np.concatenate([b, a])
    order = np.lexsort((s, r))
    return s[order].astype(np.int32), r[order].astype(np.int32)


def mesh_edges(cells, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges of triangles ``[M, 3]`` or tetrahedra ``[M, 4]``, both ways: (senders, receivers)."""
    c = np.asarray(cells)
    pairs = np.concatenate([c[:, [i, j]] for i, j in itertools.combinations(range(c.shape[1]), 2)])
    return _both_ways(pairs, n_points)


def _check_cells(p: np.ndarray, c: np.ndarray, rtol: float) -> None:
    where = "mesh_graph"
    if c.ndim != 2 or c.shape[1] not in (3, 4) or c.dtype.kind not in "iu":
        raise ValueError(
            f"{where}: cells: expected integer triangles (M, 3) or tetrahedra (M, 4), found "
            f"{c.dtype} {c.shape}"
        )
    if c.size and (c.min() < 0 or c.max() >= p.shape[0]):
        raise ValueError(
            f"{where}: cells: expected vertex indices in [0, {p.shape[0]}), found "
            f"[{c.min()}, {c.max()}]; cells index the rows of points"
        )
    v = p[c]  # [M, k, d]
    e = v[:, 1:] - v[:, :1]
    pairs = itertools.combinations(range(c.shape[1]), 2)
    longest = np.max([np.linalg.norm(v[:, i] - v[:, j], axis=-1) for i, j in pairs], axis=0)
    if c.shape[1] == 3:
        if p.shape[1] == 2:
            measure = 0.5 * np.abs(e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0])
        elif p.shape[1] == 3:
            measure = 0.5 * np.linalg.norm(np.cross(e[:, 0], e[:, 1]), axis=-1)
        else:
            raise ValueError(f"{where}: triangles need 2-D or 3-D points, found {p.shape[1]}-D")
        scale, kind = longest**2, "area"
    else:
        if p.shape[1] != 3:
            raise ValueError(f"{where}: tetrahedra need 3-D points, found {p.shape[1]}-D")
        measure, scale, kind = np.abs(np.linalg.det(e)) / 6.0, longest**3, "volume"
    bad = measure <= rtol * scale
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"{where}: cell {k} (vertices {c[k].tolist()}) is degenerate: {kind} {measure[k]:.3g} "
            f"<= {rtol:g} x (longest edge)^{c.shape[1] - 1}; {int(bad.sum())} such cells; remove "
            "them (merge duplicate points) or re-mesh"
        )


def mesh_graph(
    points,
    cells,
    *,
    node_features=None,
    degenerate_rtol: float = 1e-10,
    allow_isolated: bool = False,
) -> GraphBatch:
    """Graph of a triangle or tetrahedron mesh: its unique edges, both ways, with features.

    Args:
      points: ``[n, d]`` vertex coordinates (d = 2 or 3 for triangles, 3 for tetrahedra).
      cells: ``[M, 3]`` triangles or ``[M, 4]`` tetrahedra (vertex rows).
      node_features: ``[n, F]`` (or a dict); default the coordinates ``points``.
      degenerate_rtol: a cell whose area (volume) is at most ``rtol * longest_edge^2`` (``^3``)
        is refused with a one-line error.
      allow_isolated: accept points that belong to no cell (isolated nodes); refused by default
        because they are usually a meshing error (unused vertices of a mesh file).

    Returns:
      One graph: edges ``[E, d + 1] = [x_s - x_r, |x_s - x_r|]``, ``E`` = 2 x unique edges.
    """
    p = _points(points, "mesh_graph")
    c = np.asarray(cells)
    _check_cells(p, c, degenerate_rtol)
    s, r = mesh_edges(c, p.shape[0])
    used = np.zeros(p.shape[0], bool)
    used[c.reshape(-1)] = True
    if not allow_isolated and not used.all():
        idle = np.flatnonzero(~used)
        raise ValueError(
            f"mesh_graph: {idle.size} point(s) belong to no cell (first: point {idle[0]}), so "
            "they would be disconnected nodes; drop unused points or pass allow_isolated=True"
        )
    nodes = p if node_features is None else node_features
    return make_graph(nodes, s, r, edges=edge_features(p, s, r))


def knn_graph(
    points, k: int, *, box=None, node_features=None, self_loops: bool = False
) -> GraphBatch:
    """Each node receives edges from its ``k`` nearest neighbours (``j -> i``, PyG's flow).

    Args:
      points: ``[n, d]`` coordinates; in ``[0, box)`` when ``box`` is given.
      k: neighbours per node (``k < n``).
      box: side length(s) of a periodic box (minimum-image distances), or None.
      self_loops: include ``i -> i``.

    The graph is directed in general (``j`` among ``i``'s neighbours does not imply the
    converse); use :func:`radius_graph` for a symmetric one.
    """
    p = _points(points, "knn_graph")
    n = p.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n:
        raise ValueError(f"knn_graph: k: expected an integer in [1, {n - 1}], found {k!r}")
    b = _box(box, p.shape[1], p, "knn_graph")
    tree = cKDTree(p, boxsize=b)
    _, idx = tree.query(p, k=k + 1)
    # drop the node itself (not always column 0 when points coincide), else the (k+1)-th
    is_self = idx == np.arange(n)[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), k] = False
    nbr = idx[keep].reshape(n, k)
    s, r = nbr.reshape(-1), np.repeat(np.arange(n), k)
    if self_loops:
        s, r = np.concatenate([s, np.arange(n)]), np.concatenate([r, np.arange(n)])
    order = np.lexsort((s, r))
    s, r = s[order].astype(np.int32), r[order].astype(np.int32)
    nodes = p if node_features is None else node_features
    return make_graph(nodes, s, r, edges=edge_features(p, s, r, b))


def radius_graph(points, radius: float, *, box=None, node_features=None) -> GraphBatch:
    """Edges both ways between every pair closer than ``radius`` (periodic box optional)."""
    p = _points(points, "radius_graph")
    if not radius > 0:
        raise ValueError(f"radius_graph: radius: expected a positive length, found {radius!r}")
    b = _box(box, p.shape[1], p, "radius_graph")
    pairs = cKDTree(p, boxsize=b).query_pairs(radius, output_type="ndarray")
    s, r = _both_ways(pairs.reshape(-1, 2), p.shape[0])
    nodes = p if node_features is None else node_features
    return make_graph(nodes, s, r, edges=edge_features(p, s, r, b))


def grid_graph(shape, *, periodic: bool = True, spacing: float = 1.0) -> GraphBatch:
    """Nearest-neighbour graph of a regular grid (2 d neighbours per node), both ways.

    Node ``i`` is grid point ``np.unravel_index(i, shape)`` (C order, axis 0 = x), so a field
    ``u[*shape, C]`` becomes node features ``u.reshape(-1, C)``. Nodes carry their coordinates
    ``spacing * index``; edges the relative position (minimum image when periodic) and length.
    """
    shape = tuple(int(s) for s in shape)
    if not shape or min(shape) < 2 or len(shape) > 3:
        raise ValueError(f"grid_graph: shape: expected 1-3 axes of size >= 2, found {shape}")
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    pairs = []
    for ax, m in enumerate(shape):
        nb = np.roll(idx, -1, axis=ax)
        if periodic:
            pairs.append(np.stack([idx.ravel(), nb.ravel()], 1))
        else:
            sl = [slice(None)] * len(shape)
            sl[ax] = slice(0, m - 1)
            pairs.append(np.stack([idx[tuple(sl)].ravel(), nb[tuple(sl)].ravel()], 1))
    s, r = _both_ways(np.concatenate(pairs), idx.size)
    coords = np.stack(np.unravel_index(np.arange(idx.size), shape), 1) * float(spacing)
    box = np.asarray(shape, np.float64) * spacing if periodic else None
    return make_graph(coords, s, r, edges=edge_features(coords, s, r, box))
