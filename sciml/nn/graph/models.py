"""A plain stack of graph convolutions, the graph analogue of a small ConvNet."""

from __future__ import annotations

import itertools

import jax
from flax import nnx

from sciml.nn.activations import get_activation
from sciml.nn.graph.cheb import ChebConv
from sciml.nn.graph.gated import ResGatedGraphConv
from sciml.nn.graph.gcn import GCNConv
from sciml.nn.graph.operators import GraphLike

__all__ = ["CONVS", "GraphConvNet"]

CONVS = ("gcn", "cheb", "gated")


class GraphConvNet(nnx.Module):
    """``layers`` graph convolutions with an activation between them (none after the last).

    Args:
      in_features, out_features: node input and output widths.
      hidden: width of the hidden layers.
      layers: number of convolutions (>= 1).
      conv: ``"gcn"`` (:class:`GCNConv`), ``"cheb"`` (:class:`ChebConv`, ``K`` terms) or
        ``"gated"`` (:class:`ResGatedGraphConv`).
      K: Chebyshev terms (``conv="cheb"``).
      normalization: Laplacian of the Chebyshev layers.
      activation: name from :data:`sciml.nn.ACTIVATIONS`.
      rngs: ``nnx.Rngs``.

    Call:
      ``model(x, graph, *, lambda_max=None)``: ``x [N, in_features]`` -> ``[N, out_features]``;
      ``lambda_max`` (per graph) goes to the Chebyshev layers (None: power iteration per call).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        hidden: int = 32,
        layers: int = 2,
        conv: str = "gcn",
        K: int = 3,
        normalization: str = "sym",
        activation: str = "gelu",
        rngs: nnx.Rngs,
    ):
        if conv not in CONVS:
            raise ValueError(f"GraphConvNet: conv: expected one of {CONVS}, found {conv!r}")
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise ValueError(f"GraphConvNet: layers: expected an integer >= 1, found {layers!r}")
        widths = [in_features] + [hidden] * (layers - 1) + [out_features]
        self.conv = conv
        get_activation(activation)  # validate the name now
        self.activation = activation

        def make(a: int, b: int) -> nnx.Module:
            if conv == "gcn":
                return GCNConv(a, b, rngs=rngs)
            if conv == "cheb":
                return ChebConv(a, b, K, normalization=normalization, rngs=rngs)
            return ResGatedGraphConv(a, b, rngs=rngs)

        self.convs = nnx.List([make(a, b) for a, b in itertools.pairwise(widths)])

    def __call__(self, x: jax.Array, graph: GraphLike, *, lambda_max=None) -> jax.Array:
        kw = {"lambda_max": lambda_max} if self.conv == "cheb" else {}
        act = get_activation(self.activation)
        for i, layer in enumerate(self.convs):
            if i:
                x = act(x)
            x = layer(x, graph, **kw)
        return x
