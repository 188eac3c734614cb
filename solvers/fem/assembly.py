"""P1 finite-element assembly on triangle meshes (scipy.sparse, float64).

With the hat functions ``phi_i`` (1 at node i, 0 at the other nodes, linear on each triangle):

- stiffness ``K_ij = int grad(phi_i) . grad(phi_j) dx``; per triangle of area ``A`` with
  barycentric gradients ``g_k``: ``K^e = A g g^T``;
- consistent mass ``M_ij = int phi_i phi_j dx``; per triangle ``A / 12 [[2, 1, 1], [1, 2, 1],
  [1, 1, 2]]``; lumped mass (row sums on the diagonal) ``A / 3`` per vertex;
- load ``b_i = int f phi_i dx`` by the 7-point degree-5 rule of Dunavant (1985), exact for
  quadratics times P1, so the quadrature error is below the O(h^2) discretisation error;
- boundary load ``b_i = int_Gamma g phi_i ds`` by 3-point Gauss-Legendre on every boundary edge;
- the L2 norm of ``u_h - u`` by the same 7-point rule.

Functions of space take points ``(..., 2)`` and return values ``(...)``; constants are allowed
wherever a function is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from sciml.solvers.fem.mesh import TriMesh

SpaceFunction = Callable[[np.ndarray], np.ndarray] | float

# Dunavant degree-5 rule: barycentric coordinates (Q, 3) and weights (Q,) summing to 1.
_A1, _B1 = 0.059715871789770, 0.470142064105115
_A2, _B2 = 0.797426985353087, 0.101286507323456
QUAD7_BARY = np.array(
    [
        [1 / 3, 1 / 3, 1 / 3],
        [_A1, _B1, _B1],
        [_B1, _A1, _B1],
        [_B1, _B1, _A1],
        [_A2, _B2, _B2],
        [_B2, _A2, _B2],
        [_B2, _B2, _A2],
    ]
)
QUAD7_WEIGHTS = np.array([0.225] + [0.132394152788506] * 3 + [0.125939180544827] * 3)
# Gauss-Legendre on [0, 1], 3 points (exact for degree 5)
_GL = np.array([0.5 - np.sqrt(0.15), 0.5, 0.5 + np.sqrt(0.15)])
_GL_W = np.array([5 / 18, 8 / 18, 5 / 18])


def evaluate(f: SpaceFunction, x: np.ndarray) -> np.ndarray:
    """``f(x)`` for a callable, or the constant broadcast to ``x.shape[:-1]``."""
    if callable(f):
        v = np.asarray(f(x), np.float64)
        if v.shape != x.shape[:-1]:
            v = np.broadcast_to(v, x.shape[:-1])
        return v
    return np.full(x.shape[:-1], float(f))


def gradients(mesh: TriMesh) -> tuple[np.ndarray, np.ndarray]:
    """Triangle areas ``(M,)`` and gradients of the three hat functions ``(M, 3, 2)``."""
    p = mesh.nodes[mesh.triangles]  # (M, 3, 2)
    area = mesh.areas
    # grad(lambda_k) = rot90(p_{k+2} - p_{k+1}) / (2 A), counter-clockwise vertices
    d = np.roll(p, -2, axis=1) - np.roll(p, -1, axis=1)
    grad = np.stack([-d[..., 1], d[..., 0]], axis=-1) / (2 * area[:, None, None])
    return area, grad


def _assemble(mesh: TriMesh, local: np.ndarray) -> sp.csr_matrix:
    t = mesh.triangles
    rows = np.repeat(t, 3, axis=1).ravel()
    cols = np.tile(t, (1, 3)).ravel()
    n = mesh.n_nodes
    return sp.csr_matrix((local.ravel(), (rows, cols)), shape=(n, n))


def stiffness(mesh: TriMesh) -> sp.csr_matrix:
    """Stiffness matrix ``K`` ``(N, N)``: ``u^T K u = int |grad u_h|^2 dx``."""
    area, g = gradients(mesh)
    return _assemble(mesh, area[:, None, None] * np.einsum("mid,mjd->mij", g, g))


def mass(mesh: TriMesh, *, lumped: bool = False) -> sp.csr_matrix:
    """Mass matrix ``M`` ``(N, N)``, consistent (``u^T M u = int u_h^2``) or lumped (diagonal)."""
    area = mesh.areas
    if lumped:
        diag = np.bincount(mesh.triangles.ravel(), np.repeat(area / 3, 3), mesh.n_nodes)
        return sp.diags(diag).tocsr()
    ref = (np.ones((3, 3)) + np.eye(3)) / 12.0
    return _assemble(mesh, area[:, None, None] * ref)


def quadrature(mesh: TriMesh) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points ``(M, 7, 2)`` and weights ``(M, 7)`` (area included)."""
    x = np.einsum("qk,mkd->mqd", QUAD7_BARY, mesh.nodes[mesh.triangles])
    return x, mesh.areas[:, None] * QUAD7_WEIGHTS


def load_vector(mesh: TriMesh, f: SpaceFunction) -> np.ndarray:
    """``b_i = int f phi_i dx`` ``(N,)``."""
    x, w = quadrature(mesh)
    fw = evaluate(f, x) * w  # (M, Q)
    local = fw @ QUAD7_BARY  # (M, 3)
    return np.bincount(mesh.triangles.ravel(), local.ravel(), mesh.n_nodes)


def boundary_load(mesh: TriMesh, g: SpaceFunction, edge_mask: np.ndarray) -> np.ndarray:
    """``b_i = int_Gamma g phi_i ds`` over the boundary edges selected by ``edge_mask`` ``(E,)``."""
    e = mesh.boundary_edges[edge_mask]
    a, b = mesh.nodes[e[:, 0]], mesh.nodes[e[:, 1]]
    length = np.linalg.norm(b - a, axis=1)
    x = a[:, None] + _GL[None, :, None] * (b - a)[:, None]  # (E, 3, 2)
    gw = evaluate(g, x) * _GL_W * length[:, None]  # (E, 3)
    local = np.stack([gw @ (1 - _GL), gw @ _GL], axis=1)  # (E, 2)
    return np.bincount(e.ravel(), local.ravel(), mesh.n_nodes)


def interpolate(mesh: TriMesh, f: SpaceFunction) -> np.ndarray:
    """Nodal interpolant ``f(nodes)`` ``(N,)``."""
    return evaluate(f, mesh.nodes)


def l2_norm(mesh: TriMesh, u: np.ndarray, exact: SpaceFunction | None = None) -> float:
    """``||u_h - u||_{L2}`` (or ``||u_h||`` without ``exact``), by the 7-point rule."""
    x, w = quadrature(mesh)
    uh = np.einsum("qk,mk->mq", QUAD7_BARY, np.asarray(u, np.float64)[mesh.triangles])
    if exact is not None:
        uh = uh - evaluate(exact, x)
    return float(np.sqrt(np.sum(w * uh**2)))
