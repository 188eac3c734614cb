"""Triangle meshes for P1 finite elements: :class:`TriMesh`, validation and uniform refinement.

A mesh is plain arrays (NumPy, float64 coordinates, int64 indices, 0-based)::

    nodes           (N, 2)  node coordinates x, y (length units)
    triangles       (M, 3)  node indices per triangle, counter-clockwise (positive area)
    boundary_edges  (E, 2)  node indices per boundary edge, oriented with the domain on the left,
                            so the outward unit normal of edge (a, b) is (dy, -dx) / |b - a|
    boundary_tags   (E,)    index into ``tag_names`` per boundary edge (e.g. "outer", "hole")

A boundary edge is an edge that belongs to exactly one triangle. :meth:`TriMesh.from_arrays`
checks everything once (shapes, finite coordinates, indices in range, no zero-area triangles, no
node unused by every triangle, no edge shared by more than two triangles) and orients triangles
counter-clockwise; the solvers then trust the mesh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_TAG = "boundary"


def _edge_keys(edges: np.ndarray, n_nodes: int) -> np.ndarray:
    """Unique integer key per undirected edge ``(a, b)``."""
    lo = np.minimum(edges[:, 0], edges[:, 1]).astype(np.int64)
    hi = np.maximum(edges[:, 0], edges[:, 1]).astype(np.int64)
    return lo * n_nodes + hi


def signed_areas(nodes: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed triangle areas ``(M,)``; positive for counter-clockwise vertex order."""
    p0, p1, p2 = (nodes[triangles[:, i]] for i in range(3))
    d1, d2 = p1 - p0, p2 - p0
    return 0.5 * (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])


@dataclass(frozen=True, eq=False)
class TriMesh:
    """A validated 2-D triangle mesh (see the module docstring for the arrays and conventions).

    Build one with :meth:`from_arrays`, a generator of :mod:`sciml.solvers.fem.meshgen` or
    :func:`sciml.solvers.fem.read_mesh`; the constructor itself does not validate.
    """

    nodes: np.ndarray
    triangles: np.ndarray
    boundary_edges: np.ndarray
    boundary_tags: np.ndarray
    tag_names: tuple[str, ...]
    name: str = "mesh"

    # ----------------------------------------------------------------------------- construction

    @classmethod
    def from_arrays(
        cls,
        nodes: np.ndarray,
        triangles: np.ndarray,
        *,
        boundary_edges: np.ndarray | None = None,
        boundary_tags: Sequence[int] | np.ndarray | None = None,
        tag_names: Sequence[str] | None = None,
        name: str = "mesh",
        drop_unreferenced: bool = False,
    ) -> TriMesh:
        """Validate and orient a mesh.

        Args:
          nodes: ``(N, 2)`` coordinates (an ``(N, 3)`` array with a zero third column, as meshio
            returns, is accepted).
          triangles: ``(M, 3)`` integer node indices (any orientation; reoriented CCW).
          boundary_edges, boundary_tags, tag_names: optional tagged boundary edges (e.g. Gmsh
            physical lines). Every edge given must be a boundary edge of the triangles; boundary
            edges not given get the tag ``"boundary"``. Without them every boundary edge is
            tagged ``"boundary"``.
          drop_unreferenced: remove nodes that no triangle uses (and renumber) instead of
            raising.

        Raises:
          ValueError: one line naming the array, the offending index and the fix.
        """
        where = f"mesh {name!r}"
        nodes = np.asarray(nodes, dtype=np.float64)
        if nodes.ndim == 2 and nodes.shape[1] == 3:
            if np.any(nodes[:, 2] != 0):
                raise ValueError(
                    f"{where}: nodes have a non-zero z coordinate; P1 triangles here are 2-D, "
                    "project the mesh onto a plane (nodes[:, :2]) first"
                )
            nodes = nodes[:, :2]
        if nodes.ndim != 2 or nodes.shape[1] != 2 or nodes.shape[0] < 3:
            raise ValueError(f"{where}: nodes expected shape (N >= 3, 2), found {nodes.shape}")
        if not np.all(np.isfinite(nodes)):
            bad = int(np.flatnonzero(~np.all(np.isfinite(nodes), axis=1))[0])
            raise ValueError(f"{where}: node {bad} has a NaN/Inf coordinate {nodes[bad].tolist()}")
        tri = np.asarray(triangles)
        if tri.ndim != 2 or tri.shape[1] != 3 or tri.shape[0] < 1:
            raise ValueError(
                f"{where}: triangles expected shape (M >= 1, 3) of node indices, found {tri.shape}"
            )
        if not np.issubdtype(tri.dtype, np.integer):
            raise ValueError(f"{where}: triangles must be integer node indices, found {tri.dtype}")
        tri = tri.astype(np.int64)
        n = nodes.shape[0]
        out = (tri < 0) | (tri >= n)
        if np.any(out):
            t = int(np.flatnonzero(out.any(axis=1))[0])
            raise ValueError(
                f"{where}: triangle {t} references node {tri[t][out[t]][0]} outside 0..{n - 1}; "
                "indices are 0-based"
            )
        used = np.zeros(n, bool)
        used[tri.ravel()] = True
        if not used.all():
            unused = np.flatnonzero(~used)
            if not drop_unreferenced:
                raise ValueError(
                    f"{where}: {unused.size} node(s) are referenced by no triangle (first: "
                    f"{unused[:5].tolist()}); remove them or pass drop_unreferenced=True"
                )
            renumber = np.cumsum(used) - 1
            nodes, tri = nodes[used], renumber[tri]
            if boundary_edges is not None:
                be = np.asarray(boundary_edges, np.int64)
                keep = used[be].all(axis=1)
                boundary_edges = renumber[be[keep]]
                if boundary_tags is not None:
                    boundary_tags = np.asarray(boundary_tags)[keep]
            n = nodes.shape[0]
        area = signed_areas(nodes, tri)
        lengths = np.linalg.norm(nodes[tri] - nodes[np.roll(tri, 1, axis=1)], axis=-1)
        scale = np.max(lengths, axis=1) ** 2
        degenerate = np.abs(area) <= 1e-12 * scale
        if np.any(degenerate):
            t = int(np.flatnonzero(degenerate)[0])
            raise ValueError(
                f"{where}: triangle {t} (nodes {tri[t].tolist()}) has zero area "
                f"({int(degenerate.sum())} degenerate triangle(s): repeated or collinear nodes); "
                "remove them from the mesh"
            )
        flip = area < 0
        tri[flip] = tri[flip][:, [0, 2, 1]]

        # edges: interior edges belong to two triangles, boundary edges to one
        directed = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
        keys = _edge_keys(directed, n)
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        if np.any(counts > 2):
            k = int(uniq[np.flatnonzero(counts > 2)[0]])
            raise ValueError(
                f"{where}: edge ({k // n}, {k % n}) is shared by more than two triangles "
                "(overlapping or duplicated triangles); the mesh must be a 2-D manifold"
            )
        is_boundary = counts[inverse] == 1
        bnd = directed[is_boundary]  # domain on the left: CCW triangle orientation
        bkeys = keys[is_boundary]
        names = [DEFAULT_TAG] if tag_names is None else list(tag_names)
        tags = np.full(bnd.shape[0], -1, np.int32)
        if boundary_edges is not None:
            be = np.asarray(boundary_edges, np.int64).reshape(-1, 2)
            bt = (
                np.zeros(be.shape[0], np.int32)
                if boundary_tags is None
                else np.asarray(boundary_tags, np.int32)
            )
            if bt.shape != (be.shape[0],):
                raise ValueError(
                    f"{where}: boundary_tags expected shape ({be.shape[0]},), found {bt.shape}"
                )
            if bt.size and (bt.min() < 0 or bt.max() >= len(names)):
                raise ValueError(
                    f"{where}: boundary_tags must index tag_names (0..{len(names) - 1}), found "
                    f"values {bt.min()}..{bt.max()}"
                )
            order = np.argsort(bkeys)
            pos = np.searchsorted(bkeys[order], _edge_keys(be, n))
            pos = np.minimum(pos, bkeys.size - 1)
            found = bkeys[order][pos] == _edge_keys(be, n)
            if not np.all(found):
                e = int(np.flatnonzero(~found)[0])
                raise ValueError(
                    f"{where}: tagged boundary edge {be[e].tolist()} is not a boundary edge of the "
                    "triangles (it lies inside the mesh or joins unconnected nodes)"
                )
            tags[order[pos]] = bt
        if np.any(tags < 0):
            if DEFAULT_TAG not in names:
                names.append(DEFAULT_TAG)
            tags[tags < 0] = names.index(DEFAULT_TAG)
        return cls(
            nodes=nodes,
            triangles=tri,
            boundary_edges=bnd,
            boundary_tags=tags,
            tag_names=tuple(names),
            name=name,
        )

    # ------------------------------------------------------------------------------ geometry

    @property
    def n_nodes(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def n_triangles(self) -> int:
        return int(self.triangles.shape[0])

    @property
    def areas(self) -> np.ndarray:
        """Triangle areas ``(M,)`` (positive)."""
        return signed_areas(self.nodes, self.triangles)

    @property
    def edges(self) -> np.ndarray:
        """Unique undirected edges ``(n_edges, 2)`` with ``edges[:, 0] < edges[:, 1]``."""
        t = self.triangles
        e = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
        return np.unique(np.sort(e, axis=1), axis=0)

    @property
    def h(self) -> float:
        """Mesh size: the longest edge (length units)."""
        e = self.edges
        return float(np.max(np.linalg.norm(self.nodes[e[:, 1]] - self.nodes[e[:, 0]], axis=1)))

    def min_angle(self) -> float:
        """Smallest interior angle of all triangles, degrees (a quality measure; 60 is ideal)."""
        p = self.nodes[self.triangles]
        angles = []
        for i in range(3):
            a = p[:, (i + 1) % 3] - p[:, i]
            b = p[:, (i + 2) % 3] - p[:, i]
            cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
            angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
        return float(np.min(angles))

    def boundary_normals(self) -> np.ndarray:
        """Outward unit normals of the boundary edges ``(E, 2)``."""
        d = self.nodes[self.boundary_edges[:, 1]] - self.nodes[self.boundary_edges[:, 0]]
        return np.stack([d[:, 1], -d[:, 0]], axis=1) / np.linalg.norm(d, axis=1, keepdims=True)

    def tag_index(self, tag: str) -> int:
        if tag not in self.tag_names:
            raise ValueError(
                f"mesh {self.name!r}: boundary tag {tag!r} unknown; this mesh has "
                f"{list(self.tag_names)}"
            )
        return self.tag_names.index(tag)

    def boundary_nodes(self, tags: Sequence[str] | None = None) -> np.ndarray:
        """Sorted indices of the nodes on boundary edges with the given tags (all if None)."""
        if tags is None:
            edges = self.boundary_edges
        else:
            ids = [self.tag_index(t) for t in tags]
            edges = self.boundary_edges[np.isin(self.boundary_tags, ids)]
        return np.unique(edges)

    def __repr__(self) -> str:
        return (
            f"TriMesh({self.name!r}: {self.n_nodes} nodes, {self.n_triangles} triangles, "
            f"{self.boundary_edges.shape[0]} boundary edges tagged {list(self.tag_names)})"
        )


def refine(mesh: TriMesh) -> TriMesh:
    """Uniform (red) refinement: every triangle splits into four through its edge midpoints.

    Halves the mesh size and keeps the shape quality; boundary edges split in two and keep their
    tags, so the refined mesh covers exactly the same polygon.
    """
    n = mesh.n_nodes
    t = mesh.triangles
    directed = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    keys = _edge_keys(directed, n)
    uniq, inverse = np.unique(keys, return_inverse=True)
    lo, hi = uniq // n, uniq % n
    mid_nodes = 0.5 * (mesh.nodes[lo] + mesh.nodes[hi])
    mid = n + inverse.reshape(3, -1).T  # (M, 3): midpoint of edges (0,1), (1,2), (2,0)
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    m01, m12, m20 = mid[:, 0], mid[:, 1], mid[:, 2]
    new_tri = np.concatenate(
        [
            np.stack([a, m01, m20], 1),
            np.stack([m01, b, m12], 1),
            np.stack([m20, m12, c], 1),
            np.stack([m01, m12, m20], 1),
        ]
    )
    be = mesh.boundary_edges
    bmid = n + np.searchsorted(uniq, _edge_keys(be, n))
    new_be = np.concatenate([np.stack([be[:, 0], bmid], 1), np.stack([bmid, be[:, 1]], 1)])
    new_tags = np.concatenate([mesh.boundary_tags, mesh.boundary_tags])
    return TriMesh.from_arrays(
        np.concatenate([mesh.nodes, mid_nodes]),
        new_tri,
        boundary_edges=new_be,
        boundary_tags=new_tags,
        tag_names=mesh.tag_names,
        name=mesh.name,
    )
