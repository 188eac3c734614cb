"""Training objective of the learned sparse coders and their registration with :mod:`sciml.train`.

:class:`SparseCodingTask`: squared error of the predicted code against the optimal code (the
converged lasso solution), the objective of Gregor and LeCun (2010, eq. 4). Batches are
``{"y": (batch, *signal), "z": (batch, *code)}`` (dense: ``(batch, n)`` and ``(batch, m)``;
convolutional: ``(batch, H, W, 1)`` and ``(batch, H, W, m)``).

Importing this module registers the models ``lista``, ``lcod`` and ``conv_lista`` and the task
``sparse_coding``. In a config the dictionary is a path to a ``.npy`` file (``model.kwargs.
dictionary``; ``(n, m)`` for LISTA/LCoD, ``(kh, kw, m)`` kernels for ConvLISTA).
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.train import register_model, register_task


class SparseCodingTask:
    """Loss ``mean_batch ||model(y) - z*||^2 / dim(z)`` (the MSE over code entries).

    Aux metric ``code_error = sum ||model(y) - z*||^2 / sum ||z*||^2`` (relative squared code
    error over the batch, dimensionless; the y-axis of the paper's figures).
    """

    def __init__(self, input_key: str = "y", target_key: str = "z"):
        self.input_key = input_key
        self.target_key = target_key

    def loss(
        self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        for k in (self.input_key, self.target_key):
            if k not in batch:
                raise ValueError(
                    f"sparse_coding task: batch has no key {k!r} (found {sorted(batch)}); set "
                    "task.kwargs.input_key / target_key to the data source's keys"
                )
        z = model(batch[self.input_key]).astype(jnp.float32)
        target = batch[self.target_key].astype(jnp.float32)
        if z.shape != target.shape:
            raise ValueError(
                f"sparse_coding task: model output {tuple(z.shape)} differs from the target code "
                f"{tuple(target.shape)}; the dictionary's number of atoms must match the codes"
            )
        sq = jnp.sum((z - target) ** 2)
        mse = sq / z.size
        return mse, {"mse": mse, "code_error": sq / jnp.maximum(jnp.sum(target**2), 1e-30)}


def _load(dictionary: Any, where: str) -> np.ndarray:
    if isinstance(dictionary, str | os.PathLike):
        try:
            return np.load(dictionary, allow_pickle=False)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{where}: dictionary file {os.fspath(dictionary)!r} not found; set "
                "model.kwargs.dictionary to a .npy file"
            ) from None
    return np.asarray(dictionary)


def _lista(*, dictionary: Any, rngs: nnx.Rngs, **kwargs: Any) -> nnx.Module:
    from sciml.unrolled.lista import LISTA

    return LISTA(_load(dictionary, "model lista"), rngs=rngs, **kwargs)


def _lcod(*, dictionary: Any, rngs: nnx.Rngs, **kwargs: Any) -> nnx.Module:
    from sciml.unrolled.lcod import LCoD

    return LCoD(_load(dictionary, "model lcod"), rngs=rngs, **kwargs)


def _conv_lista(*, kernels: Any, rngs: nnx.Rngs, **kwargs: Any) -> nnx.Module:
    from sciml.unrolled.conv_lista import ConvLISTA

    return ConvLISTA(_load(kernels, "model conv_lista"), rngs=rngs, **kwargs)


register_model("lista", _lista)
register_model("lcod", _lcod)
register_model("conv_lista", _conv_lista)
register_task("sparse_coding", SparseCodingTask)

# Importable names for configs (restore a run without importing this module first).
LISTA_MODEL = "sciml.unrolled.tasks:_lista"
LCOD_MODEL = "sciml.unrolled.tasks:_lcod"
CONV_LISTA_MODEL = "sciml.unrolled.tasks:_conv_lista"
SPARSE_CODING_TASK = "sciml.unrolled.tasks:SparseCodingTask"
