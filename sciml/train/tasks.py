"""Training objectives: the :class:`Task` protocol and the built-in regression task."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
from flax import nnx


@runtime_checkable
class Task(Protocol):
    """What the training loop optimises.

    ``loss`` is called inside the jitted update step on the GLOBAL batch (a dict of arrays, each
    ``(batch, ...)``, sharded over the mesh), so it must be written with ``jax.numpy`` only and
    return the scalar MEAN loss over the batch plus a dict of scalar auxiliary metrics (also means
    over the batch; they are averaged over evaluation batches and logged). ``key`` is this step's
    PRNG key (``fold_in(run_key, step)``), ``step`` the global step as an int32 array.

    Optional attribute ``spatial_axes: dict[str, int]``: for each batch key, the array axis that a
    ``space`` mesh axis splits (default: axis ``1 + mesh.space_axis``, i.e. the spatial axis of a
    ``(batch, *spatial, channels)`` field).

    Optional attribute ``cpu_compiler_options: dict[str, str]``: XLA options for compiling the
    update and evaluation steps when the backend is the CPU (ignored on accelerators), e.g.
    ``{"xla_disable_hlo_passes": "fusion"}`` for a loss whose gradient XLA's CPU fusion pass
    takes minutes to compile (the FV hybrids use it for short runs only:
    :func:`sciml.stepper.fv_hybrid.cpu_compiler_options`).
    """

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]: ...


class RegressionTask:
    """Mean-squared error of ``model(batch[input_key])`` against ``batch[target_key]``.

    Loss: ``mean((model(x) - y)**2)`` over batch, space and channels. Aux metrics: ``mse``,
    ``rmse`` and ``nrmse = sqrt(mean((f - y)^2) / mean(y^2))`` (relative error, dimensionless).

    Args:
      input_key: batch key of the model input ``(batch, *spatial, C_in)``.
      target_key: batch key of the target ``(batch, *spatial, C_out)``.
    """

    def __init__(self, input_key: str = "x", target_key: str = "y"):
        self.input_key = input_key
        self.target_key = target_key

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        for k in (self.input_key, self.target_key):
            if k not in batch:
                raise ValueError(
                    f"regression task: batch has no key {k!r} (found {sorted(batch)}); set "
                    f"task.kwargs.input_key / target_key to the data source's keys"
                )
        pred = model(batch[self.input_key])
        target = batch[self.target_key]
        if pred.shape != target.shape:
            raise ValueError(
                f"regression task: model output shape {tuple(pred.shape)} differs from target "
                f"{self.target_key!r} shape {tuple(target.shape)}; check the model's out_channels"
            )
        err = (pred.astype(jnp.float32) - target.astype(jnp.float32)) ** 2
        mse = jnp.mean(err)
        scale = jnp.mean(target.astype(jnp.float32) ** 2)
        return mse, {
            "mse": mse,
            "rmse": jnp.sqrt(mse),
            "nrmse": jnp.sqrt(mse / jnp.maximum(scale, jnp.finfo(jnp.float32).tiny)),
        }
