"""Graph convolution of Kipf and Welling (2017), ``X' = D^-1/2 (A + I) D^-1/2 X W + b``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.nn.graph.operators import GraphLike, gcn_coefficients
from sciml.nn.graph.segment import segment_sum

__all__ = ["GCNConv"]


class GCNConv(nnx.Module):
    """Kipf-Welling graph convolution (the PyTorch Geometric ``GCNConv`` conventions).

    ``h = x W`` (linear first), then ``out_i = sum_j Â_ij h_j + b`` with
    ``Â = D^-1/2 (A + I) D^-1/2``: self-loops are added only where missing (an existing
    self-loop keeps its weight), the degree is taken at the receiver and ``d^-1/2 = 0`` for
    ``d = 0``, so an isolated node without self-loop (``add_self_loops=False``) gives ``b``,
    never NaN.

    Args:
      in_features, out_features: ``F_in``, ``F_out``.
      add_self_loops: add the missing self-loops (``A + I``).
      use_bias: add ``b`` after the propagation.
      rngs: ``nnx.Rngs`` for the initialiser (Glorot uniform, as in the paper).

    Call:
      ``layer(x, graph, edge_weight=None)``: ``x [N, F_in]``, ``graph`` with ``senders``,
      ``receivers``, ``n_node`` (see :mod:`sciml.nn.graph`), ``edge_weight [E]`` optional
      -> ``[N, F_out]``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        add_self_loops: bool = True,
        use_bias: bool = True,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.add_self_loops = add_self_loops
        self.linear = nnx.Linear(
            in_features,
            out_features,
            use_bias=False,
            kernel_init=nnx.initializers.glorot_uniform(),
            param_dtype=param_dtype,
            rngs=rngs,
        )
        self.bias = nnx.Param(jnp.zeros(out_features, param_dtype)) if use_bias else None

    def __call__(
        self, x: jax.Array, graph: GraphLike, edge_weight: jax.Array | None = None
    ) -> jax.Array:
        n = x.shape[0]
        h = self.linear(x)
        coef, diag = gcn_coefficients(
            graph, n, edge_weight=edge_weight, add_self_loops=self.add_self_loops, dtype=h.dtype
        )
        s, r = jnp.asarray(graph.senders), jnp.asarray(graph.receivers)
        out = diag[:, None] * h + segment_sum(coef[:, None] * h[s], r, n)
        if self.bias is not None:
            out = out + self.bias[...]
        return out
