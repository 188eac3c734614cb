"""The fixed graph a graph stepper lives on: a mesh's edges or a grid's neighbours (NumPy only).

A learned stepper on a mesh advances node fields ``z`` ``(batch, N, C)`` on ONE graph, fixed for
the stepper's life (the mesh of the finite-element solver that made the training data). This
module holds that graph as plain arrays, the same ones the exported artifact stores:

- ``senders``, ``receivers`` ``(E,)`` int32: directed edges ``j -> i`` (both directions of each
  mesh edge), sorted by receiver;
- ``positions`` ``(N, d)``: node coordinates (length units);
- ``edge_features`` ``(E, d + 1)``: ``[x_j - x_i, |x_j - x_i|]`` (MeshGraphNets' relative
  position and length);
- ``lambda_max``: largest eigenvalue of the symmetric normalised Laplacian
  ``I - D^-1/2 A D^-1/2`` (for the Chebyshev filter's scaling ``2 L / lambda_max - I``).

Imports NumPy and SciPy only, so the NumPy evaluator of exported graph steppers can use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh


def sym_laplacian(senders: np.ndarray, receivers: np.ndarray, n: int) -> sp.csr_matrix:
    """``L = I - D^-1/2 A D^-1/2`` with ``A_ij`` the number of edges ``j -> i`` (no self-loops)."""
    keep = senders != receivers
    a = sp.csr_matrix(
        (np.ones(int(keep.sum())), (receivers[keep], senders[keep])), shape=(n, n), dtype=np.float64
    )
    deg = np.asarray(a.sum(axis=1)).ravel()
    dis = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    return (sp.identity(n, format="csr") - sp.diags(dis) @ a @ sp.diags(dis)).tocsr()


def lambda_max_sym(senders: np.ndarray, receivers: np.ndarray, n: int) -> float:
    """Largest eigenvalue of :func:`sym_laplacian` (dense below 500 nodes, else Lanczos)."""
    lap = sym_laplacian(senders, receivers, n)
    if n < 500:
        return float(np.linalg.eigvalsh(lap.toarray())[-1])
    return float(eigsh(lap, k=1, which="LA", return_eigenvectors=False, tol=1e-8)[0])


@dataclass(frozen=True, eq=False)
class FixedGraph:
    """A directed graph with node positions and edge features (see the module docstring)."""

    senders: np.ndarray
    receivers: np.ndarray
    positions: np.ndarray
    edge_features: np.ndarray
    lambda_max: float
    name: str = "graph"

    @property
    def n_nodes(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.senders.shape[0])

    @classmethod
    def from_edges(
        cls,
        senders: np.ndarray,
        receivers: np.ndarray,
        positions: np.ndarray,
        *,
        box: np.ndarray | None = None,
        name: str = "graph",
    ) -> FixedGraph:
        """Build from directed edges and node positions; ``box`` gives minimum-image relative
        positions for periodic domains. Checks indices and isolated nodes (one-line errors)."""
        s = np.asarray(senders).astype(np.int32)
        r = np.asarray(receivers).astype(np.int32)
        p = np.asarray(positions, np.float64)
        if p.ndim != 2 or not 1 <= p.shape[1] <= 3:
            raise ValueError(f"graph {name!r}: positions expected (N, d <= 3), found {p.shape}")
        n = p.shape[0]
        if s.shape != r.shape or s.ndim != 1:
            raise ValueError(
                f"graph {name!r}: senders {s.shape} and receivers {r.shape} must be equal 1-D arrays"
            )
        for what, idx in (("senders", s), ("receivers", r)):
            bad = (idx < 0) | (idx >= n)
            if bad.any():
                raise ValueError(
                    f"graph {name!r}: {what} hold node {int(idx[bad][0])} outside 0..{n - 1}; "
                    "indices are 0-based rows of positions"
                )
        isolated = np.setdiff1d(np.arange(n), r)
        if isolated.size:
            raise ValueError(
                f"graph {name!r}: {isolated.size} node(s) receive no edge (first: "
                f"{isolated[:5].tolist()}); a stepper cannot update them, connect or drop them"
            )
        order = np.lexsort((s, r))
        s, r = s[order], r[order]
        d = p[s] - p[r]
        if box is not None:
            d = d - np.asarray(box) * np.round(d / np.asarray(box))
        feats = np.concatenate([d, np.linalg.norm(d, axis=1, keepdims=True)], axis=1)
        return cls(
            senders=s,
            receivers=r,
            positions=p,
            edge_features=feats.astype(np.float32),
            lambda_max=lambda_max_sym(s, r, n),
            name=name,
        )

    @classmethod
    def from_mesh(
        cls, nodes: np.ndarray, triangles: np.ndarray, *, name: str = "mesh"
    ) -> FixedGraph:
        """Both directions of every edge of a triangle mesh (nodes ``(N, 2)``, triangles ``(M, 3)``)."""
        t = np.asarray(triangles, np.int64)
        n = int(np.asarray(nodes).shape[0])
        pairs = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
        lo, hi = pairs.min(1), pairs.max(1)
        keys = np.unique(lo * n + hi)
        a, b = keys // n, keys % n
        return cls.from_edges(
            np.concatenate([a, b]), np.concatenate([b, a]), np.asarray(nodes), name=name
        )

    @classmethod
    def from_grid(
        cls, shape: tuple[int, ...], *, spacing: float = 1.0, periodic: bool = True
    ) -> FixedGraph:
        """Nearest neighbours of a regular grid; node ``i`` is grid point ``unravel_index(i, shape)``
        (C order), so a field ``u[*shape, C]`` is ``u.reshape(-1, C)`` on the graph."""
        shape = tuple(int(m) for m in shape)
        idx = np.arange(int(np.prod(shape))).reshape(shape)
        s, r = [], []
        for ax, m in enumerate(shape):
            nb = np.roll(idx, -1, axis=ax)
            sl = [slice(None)] * len(shape)
            if not periodic:
                sl[ax] = slice(0, m - 1)
            a, b = idx[tuple(sl)].ravel(), nb[tuple(sl)].ravel()
            s += [a, b]
            r += [b, a]
        pos = np.stack(np.unravel_index(np.arange(idx.size), shape), 1) * float(spacing)
        box = np.asarray(shape, np.float64) * spacing if periodic else None
        return cls.from_edges(
            np.concatenate(s), np.concatenate(r), pos, box=box, name=f"grid{list(shape)}"
        )
