"""Chebyshev spectral graph filter of Defferrard, Bresson and Vandergheynst (2016).

``out = sum_{k<K} T_k(L~) x W_k + b`` with the scaled Laplacian ``L~ = 2 L / lambda_max - I``
(eigenvalues in ``[-1, 1]``) and the recurrence ``T_0 = x``, ``T_1 = L~ x``,
``T_k = 2 L~ T_{k-1} - T_{k-2}``. A K-term filter is K-1 hops localised and costs K-1 sparse
products. ``lambda_max`` is taken PER GRAPH of the batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.nn.graph.operators import (
    GraphLike,
    estimate_lambda_max,
    laplacian_operator,
    node_graph_ids,
)

__all__ = ["ChebConv", "scaled_laplacian_apply"]


def scaled_laplacian_apply(
    graph: GraphLike,
    num_nodes: int,
    *,
    normalization: str = "sym",
    lambda_max: jax.Array | float | None = None,
    edge_weight: jax.Array | None = None,
    dtype=jnp.float32,
):
    """``x -> (2 L / lambda_max - I) x`` with ``lambda_max`` per graph (``[G]``, a scalar, or
    None: estimated per graph by power iteration). A non-positive ``lambda_max`` (a graph
    without edges) is replaced by 1, giving ``L~ = -I`` there."""
    op = laplacian_operator(
        graph, num_nodes, normalization=normalization, edge_weight=edge_weight, dtype=dtype
    )
    g = jnp.asarray(graph.n_node).shape[0]
    if lambda_max is None:
        lam = estimate_lambda_max(op, graph)
    else:
        lam = jnp.broadcast_to(jnp.asarray(lambda_max, dtype), (g,))
    lam = jnp.where(lam > 0, lam, 1)
    scale = (2.0 / lam)[node_graph_ids(graph, num_nodes)]

    def apply(x: jax.Array) -> jax.Array:
        s = scale.reshape(scale.shape + (1,) * (x.ndim - 1)).astype(x.dtype)
        return s * op(x) - x

    return apply


class ChebConv(nnx.Module):
    """Chebyshev filter with ``K`` terms (polynomial degree ``K - 1``; PyG's ``K``).

    Kipf and Welling's "K = 2" (degree 2) is ``K = 3`` here.

    Args:
      in_features, out_features: ``F_in``, ``F_out``.
      K: number of Chebyshev terms (>= 1); one ``F_in x F_out`` matrix per term.
      normalization: Laplacian, ``"sym"`` (default), ``"rw"`` or ``"combinatorial"``.
      use_bias: one bias added after the sum.
      rngs: ``nnx.Rngs``.

    Call:
      ``layer(x, graph, *, lambda_max=None, edge_weight=None)``: ``x [N, F_in]`` -> ``[N, F_out]``.
      ``lambda_max``: per graph ``[G]`` (``sciml.datasets.graphs.lambda_max`` computes it exactly
      or by Lanczos on the host), a scalar (e.g. 2.0, an upper bound for the normalised
      Laplacians), or None (power iteration per graph inside the call).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        K: int,
        *,
        normalization: str = "sym",
        use_bias: bool = True,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if isinstance(K, bool) or not isinstance(K, int) or K < 1:
            raise ValueError(
                f"ChebConv: K: expected an integer >= 1 (terms), found {K!r}; pass K=3"
            )
        self.K = K
        self.normalization = normalization
        self.linears = nnx.List(
            [
                nnx.Linear(
                    in_features,
                    out_features,
                    use_bias=False,
                    kernel_init=nnx.initializers.glorot_uniform(),
                    param_dtype=param_dtype,
                    rngs=rngs,
                )
                for _ in range(K)
            ]
        )
        self.bias = nnx.Param(jnp.zeros(out_features, param_dtype)) if use_bias else None

    def __call__(
        self,
        x: jax.Array,
        graph: GraphLike,
        *,
        lambda_max: jax.Array | float | None = None,
        edge_weight: jax.Array | None = None,
    ) -> jax.Array:
        lt = scaled_laplacian_apply(
            graph,
            x.shape[0],
            normalization=self.normalization,
            lambda_max=lambda_max,
            edge_weight=edge_weight,
            dtype=x.dtype,
        )
        t_prev, t = x, None
        out = self.linears[0](x)
        if self.K > 1:
            t = lt(x)
            out = out + self.linears[1](t)
        for k in range(2, self.K):
            t_prev, t = t, 2 * lt(t) - t_prev
            out = out + self.linears[k](t)
        if self.bias is not None:
            out = out + self.bias[...]
        return out
