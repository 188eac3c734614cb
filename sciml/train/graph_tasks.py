"""Node regression on graphs: the training objective for padded graph samples.

Batches come from :class:`sciml.datasets.graphs.PaddedGraphs` (data kind ``graphs``): every
sample is one graph padded to a fixed node/edge budget, the Loader stacks them and the mesh
splits the stack over the ``data`` axis (graphs are not split in space: keep ``mesh.space=1``).
Inside the jitted step the stack becomes one flat batch of graphs
(:func:`sciml.datasets.graphs.merge_stacked`) and the model is called as ``model(x, graph)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.datasets.graphs import graph_from_item, merge_stacked


class GraphRegressionTask:
    """Masked mean-squared error of ``model(nodes[input_key], graph)`` against ``nodes[target_key]``.

    Loss: ``sum_{real nodes} |f - y|^2 / (n_real * C)``; padding nodes never count. Aux
    metrics: ``mse``, ``rmse``, ``nrmse = sqrt(mse / mean(y^2))`` over the real nodes.

    Args:
      input_key: node field of the model input (``"nodes.NAME"`` in the samples) ``[N, F]``.
      target_key: node field of the target ``[N, C]``.
    """

    def __init__(self, input_key: str = "x", target_key: str = "y"):
        self.input_key = input_key
        self.target_key = target_key

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        for k in (self.input_key, self.target_key):
            if f"nodes.{k}" not in batch:
                raise ValueError(
                    f"graph_regression task: the batch has no node field {k!r} (found "
                    f"{sorted(batch)}); set task.kwargs.input_key / target_key to the graph "
                    "file's /nodes/NAME datasets"
                )
        graph = merge_stacked(graph_from_item(batch))
        x, y = graph.nodes[self.input_key], graph.nodes[self.target_key]
        pred = model(x, graph)
        if pred.shape != y.shape:
            raise ValueError(
                f"graph_regression task: model output shape {tuple(pred.shape)} differs from the "
                f"target {self.target_key!r} shape {tuple(y.shape)}; check out_features"
            )
        mask = graph.node_mask[:, None]
        count = jnp.maximum(jnp.sum(mask) * y.shape[-1], 1).astype(jnp.float32)
        err = jnp.where(mask, (pred.astype(jnp.float32) - y.astype(jnp.float32)) ** 2, 0)
        mse = jnp.sum(err) / count
        scale = jnp.sum(jnp.where(mask, y.astype(jnp.float32) ** 2, 0)) / count
        return mse, {
            "mse": mse,
            "rmse": jnp.sqrt(mse),
            "nrmse": jnp.sqrt(mse / jnp.maximum(scale, jnp.finfo(jnp.float32).tiny)),
        }
