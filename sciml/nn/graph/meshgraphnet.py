"""Encode-process-decode message passing in the style of MeshGraphNets (Pfaff et al. 2021).

::

    h = MLP_v(x),  e = MLP_e(edge features)                          (encoders, LayerNorm)
    repeat for each of `steps` blocks (weights NOT shared between blocks):
        e_k <- e_k + MLP_e^b([e_k, h_{s_k}, h_{r_k}])                 (edge update, residual)
        h_i <- h_i + MLP_v^b([h_i, sum_{k: r_k = i} e_k])             (node update, residual)
    y = MLP_out(h)                                                    (decoder, no LayerNorm)

MLPs have ``n_hidden`` hidden layers of ``hidden`` units with ReLU and a LayerNorm on the output
(all but the decoder), as in the paper (2 x 128, 15 steps). Training noise: with ``noise_std > 0``
and a ``key``, Gaussian noise of that standard deviation is added to the INPUT node features
(where ``noise_mask`` and the node mask are True); the caller corrects its target accordingly
(e.g. predicts the change from the noisy state), as the paper does.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.nn.graph.operators import GraphLike
from sciml.nn.graph.segment import segment_sum

__all__ = ["MLP", "MeshGraphNet"]


class MLP(nnx.Module):
    """``in -> [hidden, ReLU] x n_hidden -> out`` with an optional LayerNorm on the output."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        hidden: int = 128,
        n_hidden: int = 2,
        layer_norm: bool = True,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        widths = [in_features] + [hidden] * n_hidden + [out_features]
        self.layers = nnx.List(
            [
                nnx.Linear(a, b, param_dtype=param_dtype, rngs=rngs)
                for a, b in itertools.pairwise(widths)
            ]
        )
        self.norm = (
            nnx.LayerNorm(out_features, param_dtype=param_dtype, rngs=rngs) if layer_norm else None
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        x = self.layers[-1](x)
        return x if self.norm is None else self.norm(x)


class _Block(nnx.Module):
    def __init__(self, latent: int, mlp_kw: dict, rngs: nnx.Rngs):
        self.edge_mlp = MLP(3 * latent, latent, rngs=rngs, **mlp_kw)
        self.node_mlp = MLP(2 * latent, latent, rngs=rngs, **mlp_kw)

    def __call__(self, h, e, s, r, edge_mask):
        e = e + self.edge_mlp(jnp.concatenate([e, h[s], h[r]], axis=-1))
        agg = segment_sum(e, r, h.shape[0], edge_mask)
        h = h + self.node_mlp(jnp.concatenate([h, agg], axis=-1))
        return h, e


class MeshGraphNet(nnx.Module):
    """Encode-process-decode graph network (see the module docstring).

    Args:
      node_features, edge_features: input widths ``F``, ``Fe``.
      out_features: output width per node.
      latent: width of the node and edge latents (128 in the paper).
      hidden, n_hidden: MLP hidden width and depth (128, 2).
      steps: message-passing blocks, unshared (15 in the paper).
      noise_std: training-noise standard deviation on the input node features (0: none).
      rngs: ``nnx.Rngs``.

    Call:
      ``model(x, graph, *, edges=None, key=None, noise_mask=None)``: ``x [N, F]``, edge features
      from ``edges`` or ``graph.edges`` ``[E, Fe]`` -> ``[N, out_features]``. ``key`` (a JAX PRNG
      key) switches the training noise on; ``noise_mask [N]`` restricts it (e.g. to interior
      nodes).
    """

    def __init__(
        self,
        node_features: int,
        edge_features: int,
        out_features: int,
        *,
        latent: int = 128,
        hidden: int = 128,
        n_hidden: int = 2,
        steps: int = 15,
        noise_std: float = 0.0,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"MeshGraphNet: steps: expected an integer >= 1, found {steps!r}")
        if not noise_std >= 0:
            raise ValueError(f"MeshGraphNet: noise_std: expected >= 0, found {noise_std!r}")
        kw = {"hidden": hidden, "n_hidden": n_hidden, "param_dtype": param_dtype}
        self.noise_std = float(noise_std)
        self.node_encoder = MLP(node_features, latent, rngs=rngs, **kw)
        self.edge_encoder = MLP(edge_features, latent, rngs=rngs, **kw)
        self.blocks = nnx.List([_Block(latent, kw, rngs) for _ in range(steps)])
        self.decoder = MLP(latent, out_features, layer_norm=False, rngs=rngs, **kw)

    def __call__(
        self,
        x: jax.Array,
        graph: GraphLike,
        *,
        edges: jax.Array | None = None,
        key: jax.Array | None = None,
        noise_mask: jax.Array | None = None,
    ) -> jax.Array:
        edges = graph.edges if edges is None else edges
        if edges is None:
            raise ValueError(
                "MeshGraphNet: expected edge features (graph.edges or edges=), found None; "
                "build the graph with sciml.datasets.graphs.mesh_graph (relative positions)"
            )
        if key is not None and self.noise_std > 0:
            mask = jnp.ones(x.shape[0], bool)
            node_mask = getattr(graph, "node_mask", None)
            if node_mask is not None:
                mask = mask & jnp.asarray(node_mask)
            if noise_mask is not None:
                mask = mask & jnp.asarray(noise_mask)
            noise = self.noise_std * jax.random.normal(key, x.shape, x.dtype)
            x = x + jnp.where(mask[:, None], noise, 0)
        s, r = jnp.asarray(graph.senders), jnp.asarray(graph.receivers)
        edge_mask = getattr(graph, "edge_mask", None)
        edge_mask = None if edge_mask is None else jnp.asarray(edge_mask)
        h = self.node_encoder(x)
        e = self.edge_encoder(jnp.asarray(edges, x.dtype))
        for block in self.blocks:
            h, e = block(h, e, s, r, edge_mask)
        return self.decoder(h)
