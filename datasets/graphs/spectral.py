"""Graph Laplacians (scipy.sparse), their largest eigenvalue per graph, and eigenbases.

With the aggregation matrix ``M = A^T`` (``M_ij`` = weight of the edge ``j -> i``), in-degrees
``d_i = sum_j M_ij`` and self-loops removed (the conventions of :mod:`sciml.nn.graph`):

* ``"combinatorial"``: ``L = D - M``
* ``"sym"``: ``L = I - D^-1/2 M D^-1/2`` (``d^-1/2 = 0`` for an isolated node, so ``L_ii = 1``)
* ``"rw"``: ``L = I - D^-1 M``

For an undirected graph ``M = A`` and these are the usual Laplacians; the eigenvalues of the
normalised ones lie in ``[0, 2]``, and ``"rw"`` has the same eigenvalues as ``"sym"``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sciml.datasets.graphs.batch import GraphBatch
from sciml.datasets.graphs.convert import to_scipy_sparse

__all__ = ["LAPLACIANS", "lambda_max", "laplacian", "laplacian_eigenbasis"]

LAPLACIANS = ("sym", "rw", "combinatorial")


def _check_kind(kind: str, where: str) -> None:
    if kind not in LAPLACIANS:
        raise ValueError(f"{where}: kind: expected one of {LAPLACIANS}, found {kind!r}")


def laplacian(graph: GraphBatch, kind: str = "sym", *, edge_weight=None) -> sp.csr_array:
    """``[N, N]`` Laplacian of all nodes of the batch (block diagonal; padding edges dropped)."""
    _check_kind(kind, "laplacian")
    a = to_scipy_sparse(graph, edge_weight).tocoo()
    off = a.row != a.col
    n = a.shape[0]
    m = sp.csr_array(sp.coo_array((a.data[off], (a.col[off], a.row[off])), shape=(n, n)))
    deg = np.asarray(m.sum(axis=1)).reshape(-1)
    if kind == "combinatorial":
        return sp.csr_array(sp.diags_array(deg) - m)
    with np.errstate(divide="ignore"):
        p = -0.5 if kind == "sym" else -1.0
        dinv = np.where(deg > 0, np.abs(deg) ** p, 0.0)
    eye = sp.identity(n, format="csr")
    if kind == "sym":
        return sp.csr_array(eye - sp.diags_array(dinv) @ m @ sp.diags_array(dinv))
    return sp.csr_array(eye - sp.diags_array(dinv) @ m)


def _blocks(graph: GraphBatch) -> list[slice]:
    o = np.concatenate([[0], np.cumsum(np.asarray(graph.n_node))])
    return [slice(int(o[k]), int(o[k + 1])) for k in range(len(o) - 1)]


def lambda_max(
    graph: GraphBatch,
    kind: str = "sym",
    *,
    method: str = "auto",
    edge_weight=None,
    tol: float = 1e-8,
) -> np.ndarray:
    """Largest Laplacian eigenvalue of every graph of the batch, ``[G]`` float64.

    Args:
      kind: ``"sym"``, ``"rw"`` or ``"combinatorial"``.
      method: ``"exact"`` (dense eigenvalues), ``"lanczos"`` (``scipy.sparse.linalg.eigsh``,
        implicitly restarted Lanczos), or ``"auto"`` (exact below 400 nodes, else Lanczos).
        A graph of isolated nodes (e.g. the padding graph) has ``L = I`` (normalised) or
        ``L = 0`` (combinatorial); an empty graph gets 0.
    """
    _check_kind(kind, "lambda_max")
    if method not in ("auto", "exact", "lanczos"):
        raise ValueError(
            f"lambda_max: method: expected 'auto', 'exact' or 'lanczos', found {method!r}"
        )
    # rw has the spectrum of sym, and sym is symmetric for undirected graphs
    lap = laplacian(graph, "sym" if kind == "rw" else kind, edge_weight=edge_weight)
    out = np.zeros(len(np.asarray(graph.n_node)))
    for k, sl in enumerate(_blocks(graph)):
        block = lap[sl, sl]
        n = block.shape[0]
        if n == 0 or block.nnz == 0:
            continue
        sym = 0.5 * (block + block.T)  # the symmetric part (exact for undirected graphs)
        if method == "exact" or (method == "auto" and n < 400) or n < 3:
            out[k] = float(np.linalg.eigvalsh(sym.toarray())[-1])
        else:
            v0 = np.ones(n) + 0.1 * np.sin(np.arange(n))
            out[k] = float(spla.eigsh(sym, k=1, which="LA", tol=tol, v0=v0)[0][0])
    return out


def laplacian_eigenbasis(
    graph: GraphBatch, k: int, kind: str = "sym", *, edge_weight=None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest eigenvalues ``[k]`` and eigenvectors ``[n, k]`` of ONE graph's Laplacian.

    The basis of Bruna et al.'s spectral ConvNet (:class:`sciml.nn.graph.SpectralConv`).
    Eigenvector signs are fixed so that the largest-magnitude entry is positive.
    """
    _check_kind(kind, "laplacian_eigenbasis")
    if len(np.asarray(graph.n_node)) != 1:
        raise ValueError(
            f"laplacian_eigenbasis: expected one graph, found {len(graph.n_node)}; the spectral "
            "basis belongs to a fixed graph (unbatch first)"
        )
    lap = laplacian(graph, "sym" if kind == "rw" else kind, edge_weight=edge_weight)
    n = lap.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"laplacian_eigenbasis: k: expected 1 <= k <= {n}, found {k}")
    sym = (0.5 * (lap + lap.T)).toarray()
    w, u = np.linalg.eigh(sym)
    w, u = w[:k], u[:, :k]
    sign = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(k)])
    return w, u * np.where(sign == 0, 1, sign)
