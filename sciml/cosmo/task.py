"""The D3M training objective for :func:`sciml.train.fit` (``task.name: d3m``).

Batches are dicts of displacement fields ``(batch, n, n, n, 3)`` in Mpc/h on the Lagrangian grid,
e.g. from the ``h5`` data kind reading the datasets ``za`` and ``pm`` of a file written by
``sciml simulate nbody``. Each step, with ``augment`` on, every sample gets its own random flip
pattern and axis permutation (:mod:`sciml.cosmo.augment`), the same on input and target, drawn
from the step's key (so a resumed run draws the same ones).

Loss (He et al. 2019, plus an optional density term)::

    L = mean |Psi_pred - Psi_true|^2  +  density_weight * mean |delta_pred - delta_true|^2

with ``delta`` the CIC density contrast of the particles on the ``n^3`` particle grid
(:mod:`sciml.cosmo.density`; needs ``box``). Aux metrics: ``mse`` ((Mpc/h)^2), ``rmse`` (Mpc/h),
``displacement_error`` (``mean |Psi_pred - Psi_true| / mean |Psi_true|``) and ``density_mse``
when the density term is on.

Importing :mod:`sciml.cosmo` registers the model ``d3m`` and the task ``d3m``; configs may also
name them ``sciml.cosmo.model:d3m`` and ``sciml.cosmo.task:D3MTask``, which restore without it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from sciml.cosmo.augment import augment_pair
from sciml.cosmo.density import batch_density


class D3MTask:
    """MSE on displacements (+ optional CIC density term) with the paper's augmentation.

    Args:
      input_key: batch key of the input (ZA) displacements.
      target_key: batch key of the target (N-body) displacements.
      augment: random flips and axis permutations per sample during training.
      density_weight: weight of the density term (0: off, the paper).
      box: side of the box in Mpc/h (needed only with ``density_weight > 0``).
    """

    def __init__(
        self,
        input_key: str = "za",
        target_key: str = "pm",
        *,
        augment: bool = True,
        density_weight: float = 0.0,
        box: float | None = None,
    ):
        if density_weight < 0:
            raise ValueError(f"density_weight: expected >= 0, found {density_weight}")
        if density_weight > 0 and (box is None or box <= 0):
            raise ValueError(
                f"box: the density term needs the box side in Mpc/h, found {box!r}; set "
                "task.kwargs.box (e.g. 128.0) or density_weight=0"
            )
        self.input_key = input_key
        self.target_key = target_key
        self.augment = augment
        self.density_weight = float(density_weight)
        self.box = box

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        for k in (self.input_key, self.target_key):
            if k not in batch:
                raise ValueError(
                    f"d3m task: batch has no key {k!r} (found {sorted(batch)}); set "
                    "task.kwargs.input_key / target_key to the data's dataset names"
                )
        x = batch[self.input_key].astype(jnp.float32)
        y = batch[self.target_key].astype(jnp.float32)
        # ``model.eval()`` sets ``use_running_average`` (D3M and its batch norms): no augmentation
        # in evaluation, where it would only add noise to the metric.
        if self.augment and not getattr(model, "use_running_average", False):
            x, y = augment_pair(key, x, y)
        pred = model(x).astype(jnp.float32)
        if pred.shape != y.shape:
            raise ValueError(
                f"d3m task: model output {tuple(pred.shape)} differs from the target "
                f"{tuple(y.shape)}; the model must map (batch, n, n, n, 3) to the same shape"
            )
        diff = pred - y
        mse = jnp.mean(diff**2)
        err = jnp.mean(jnp.linalg.norm(diff, axis=-1)) / jnp.mean(jnp.linalg.norm(y, axis=-1))
        aux = {"mse": mse, "rmse": jnp.sqrt(mse), "displacement_error": err}
        loss = mse
        if self.density_weight > 0:
            dmse = jnp.mean((batch_density(pred, self.box) - batch_density(y, self.box)) ** 2)
            aux["density_mse"] = dmse
            loss = loss + self.density_weight * dmse
        return loss, aux


def d3m_task(**kwargs: Any) -> D3MTask:
    """Builder for the task registry."""
    return D3MTask(**kwargs)


def register() -> None:
    """Register the model ``d3m`` and the task ``d3m`` with :mod:`sciml.train`."""
    from sciml.cosmo.model import d3m
    from sciml.train import register_model, register_task

    register_model("d3m", d3m)
    register_task("d3m", d3m_task)
