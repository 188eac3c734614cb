"""Residual gated graph ConvNet of Bresson and Laurent (2017).

``x_i' = W_1 x_i + sum_{j -> i} eta_ij * (W_2 x_j) + b``, with edge gates
``eta_ij = sigmoid(W_3 x_i + W_4 x_j)`` (elementwise), PyTorch Geometric's ``ResGatedGraphConv``.
The gates let every edge decide how much of the neighbour passes, which suits anisotropic
physics on graphs (e.g. flux across a face).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.nn.graph.operators import GraphLike
from sciml.nn.graph.segment import segment_sum

__all__ = ["ResGatedGraphConv"]


class ResGatedGraphConv(nnx.Module):
    """Residual gated graph convolution.

    Args:
      in_features, out_features: ``F_in``, ``F_out``.
      root_weight: include the skip term ``W_1 x_i`` (the "residual" of the name).
      use_bias: add ``b``.
      rngs: ``nnx.Rngs``.

    Call:
      ``layer(x, graph)``: ``x [N, F_in]`` -> ``[N, F_out]``; padding edges
      (``graph.edge_mask == False``) send nothing.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        root_weight: bool = True,
        use_bias: bool = True,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        def lin(bias: bool) -> nnx.Linear:
            return nnx.Linear(
                in_features, out_features, use_bias=bias, param_dtype=param_dtype, rngs=rngs
            )

        self.key = lin(True)  # W_3 (receiver)
        self.query = lin(True)  # W_4 (sender)
        self.value = lin(True)  # W_2 (sender)
        self.skip = lin(False) if root_weight else None  # W_1
        self.bias = nnx.Param(jnp.zeros(out_features, param_dtype)) if use_bias else None

    def __call__(self, x: jax.Array, graph: GraphLike) -> jax.Array:
        n = x.shape[0]
        s, r = jnp.asarray(graph.senders), jnp.asarray(graph.receivers)
        gate = jax.nn.sigmoid(self.key(x)[r] + self.query(x)[s])
        mask = getattr(graph, "edge_mask", None)
        out = segment_sum(
            gate * self.value(x)[s], r, n, None if mask is None else jnp.asarray(mask)
        )
        if self.skip is not None:
            out = out + self.skip(x)
        return out if self.bias is None else out + self.bias[...]
