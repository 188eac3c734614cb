"""NumPy/SciPy evaluation of exported graph tendencies (no JAX): GCN, Chebyshev, message passing.

This module must never import JAX: ``sciml.load_stepper`` runs it inside solvers without JAX.
Node arrays are ``(B, N, F)``; neighbourhood sums are ``scipy.sparse`` products applied to the
``(N, B F)`` view. Semantics match the zoo layers (:mod:`sciml.nn.graph`) exactly, for graphs
without self-loops and unit edge weights (what :class:`~sciml.graphs.graph.FixedGraph` builds):

- GCN: ``h = x W``; ``out_i = h_i / d_i + sum_{j -> i} h_j / sqrt(d_i d_j) + b`` with
  ``d_i = 1 + (number of edges into i)`` (Kipf and Welling's ``D^-1/2 (A + I) D^-1/2``);
- Chebyshev: ``L~ = 2 L / lambda_max - I``, ``L = I - D^-1/2 A D^-1/2`` (``d_i`` = edges into
  ``i``); ``T_0 = x``, ``T_1 = L~ x``, ``T_k = 2 L~ T_{k-1} - T_{k-2}``; ``out = sum_k T_k W_k + b``;
- message passing (MeshGraphNets): MLP = ``Linear -> ReLU -> ... -> Linear [-> LayerNorm]``,
  LayerNorm ``(y - mean) / sqrt(var + 1e-6) * scale + bias`` with ``var = mean(y^2) - mean(y)^2``
  (clipped at 0); encoders on nodes and edge features; per block ``e += MLP_e([e, h_s, h_r])``,
  ``h += MLP_v([h, sum_{edges into i} e])``; decoder without LayerNorm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

LN_EPS = 1e-6


def _apply(mat: sp.spmatrix, x: np.ndarray) -> np.ndarray:
    """``mat @ x`` over the node axis of ``x`` ``(B, N, F)``."""
    b, n, f = x.shape
    y = mat @ x.transpose(1, 0, 2).reshape(n, b * f)
    return np.asarray(y).reshape(mat.shape[0], b, f).transpose(1, 0, 2)


def gcn_matrix(senders: np.ndarray, receivers: np.ndarray, n: int, dtype) -> sp.csr_matrix:
    """``D^-1/2 (A + I) D^-1/2`` (self-loops added where missing, degree at the receiver)."""
    loop = senders == receivers
    self_w = np.bincount(receivers[loop], minlength=n).astype(np.float64)
    self_w = np.where(self_w > 0, self_w, 1.0)
    s, r = senders[~loop], receivers[~loop]
    deg = np.bincount(r, minlength=n).astype(np.float64) + self_w
    dis = deg**-0.5
    coef = (dis[s] * dis[r]).astype(dtype)
    off = sp.csr_matrix((coef, (r, s)), shape=(n, n))
    return (off + sp.diags((self_w * dis * dis).astype(dtype))).tocsr()


def scaled_laplacian(
    senders: np.ndarray, receivers: np.ndarray, n: int, lambda_max: float, dtype
) -> sp.csr_matrix:
    """``2 L / lambda_max - I`` with the symmetric normalised Laplacian ``L``."""
    keep = senders != receivers
    s, r = senders[keep], receivers[keep]
    deg = np.bincount(r, minlength=n).astype(np.float64)
    dis = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    lam = lambda_max if lambda_max > 0 else 1.0
    scale = 2.0 / lam
    a = sp.csr_matrix(((scale * dis[s] * dis[r]).astype(dtype), (r, s)), shape=(n, n))
    return (sp.diags(np.full(n, scale - 1.0, dtype)) - a).tocsr()


@dataclass
class Linear:
    kernel: np.ndarray  # (F_in, F_out)
    bias: np.ndarray | None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.kernel.astype(x.dtype)
        return y if self.bias is None else y + self.bias.astype(x.dtype)


@dataclass
class MLP:
    linears: list[Linear]
    norm: tuple[np.ndarray, np.ndarray] | None  # (scale, bias) of the LayerNorm

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for lin in self.linears[:-1]:
            x = np.maximum(lin(x), 0)
        x = self.linears[-1](x)
        if self.norm is None:
            return x
        mu = x.mean(-1, keepdims=True)
        var = np.maximum((x * x).mean(-1, keepdims=True) - mu * mu, 0)
        y = (x - mu) / np.sqrt(var + x.dtype.type(LN_EPS))
        return y * self.norm[0].astype(x.dtype) + self.norm[1].astype(x.dtype)


class GraphOps:
    """The sparse operators of one graph, cached per dtype."""

    def __init__(self, senders, receivers, n_nodes: int, lambda_max: float, edge_features):
        self.s = np.asarray(senders, np.int64)
        self.r = np.asarray(receivers, np.int64)
        self.n = int(n_nodes)
        self.lambda_max = float(lambda_max)
        self.edge_features = np.asarray(edge_features)
        self._cache: dict[tuple[str, str], sp.csr_matrix] = {}

    def get(self, what: str, dtype) -> sp.csr_matrix:
        key = (what, np.dtype(dtype).name)
        if key not in self._cache:
            if what == "gcn":
                m = gcn_matrix(self.s, self.r, self.n, dtype)
            elif what == "cheb":
                m = scaled_laplacian(self.s, self.r, self.n, self.lambda_max, dtype)
            else:  # incidence: sum over edges into each node
                e = self.s.size
                m = sp.csr_matrix((np.ones(e, dtype), (self.r, np.arange(e))), shape=(self.n, e))
            self._cache[key] = m
        return self._cache[key]


def gcn_tendency(
    x: np.ndarray,
    ops: GraphOps,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activation: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Stack of GCN layers, ``x`` ``(B, N, C)``."""
    p = ops.get("gcn", x.dtype)
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = _apply(p, h @ w.astype(x.dtype)) + b.astype(x.dtype)
        if i < len(weights) - 1:
            h = activation(h)
    return h


def cheb_tendency(
    x: np.ndarray,
    ops: GraphOps,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activation: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Stack of Chebyshev layers; ``weights[i]`` ``(K, F_in, F_out)``."""
    lt = ops.get("cheb", x.dtype)
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        w = w.astype(x.dtype)
        t_prev, out = h, h @ w[0]
        if w.shape[0] > 1:
            t = _apply(lt, h)
            out = out + t @ w[1]
            for k in range(2, w.shape[0]):
                t_prev, t = t, 2 * _apply(lt, t) - t_prev
                out = out + t @ w[k]
        h = out + b.astype(x.dtype)
        if i < len(weights) - 1:
            h = activation(h)
    return h


def mpnn_tendency(
    x: np.ndarray,
    ops: GraphOps,
    node_encoder: MLP,
    edge_encoder: MLP,
    blocks: Sequence[tuple[MLP, MLP]],
    decoder: MLP,
) -> np.ndarray:
    """Encode-process-decode message passing, ``x`` ``(B, N, C)``."""
    inc = ops.get("incidence", x.dtype)
    h = node_encoder(x)
    e = edge_encoder(ops.edge_features.astype(x.dtype))
    e = np.broadcast_to(e, (x.shape[0], *e.shape))
    for edge_mlp, node_mlp in blocks:
        e = e + edge_mlp(np.concatenate([e, h[:, ops.s], h[:, ops.r]], axis=-1))
        h = h + node_mlp(np.concatenate([h, _apply(inc, e)], axis=-1))
    return decoder(h)
