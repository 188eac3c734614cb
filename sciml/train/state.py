"""The training state as arrays: placement on the mesh, checkpoint form, and the pure steps.

A model is split into ``params`` (``nnx.Param``, trained), ``rngs`` (``nnx.RngState``:
module-held RNG streams, e.g. of Dropout) and ``rest`` (other variables, e.g. BatchNorm
statistics). The update and evaluation steps are pure functions of these states, the optimiser
state, a batch, the run's PRNG key (raw ``uint32`` bits) and the step number; the loop jits them
with explicit shardings and donated buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from sciml.datasets.device_prefetch import host_to_global


def host_value(x: jax.Array) -> np.ndarray:
    """Value of a replicated (possibly multi-process) array on this host."""
    return np.asarray(x.addressable_data(0))


def is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def to_global(tree: Any, sharding: jax.sharding.Sharding) -> Any:
    """Host or local arrays (identical on every process) -> fresh global arrays on ``sharding``."""

    def put(x):
        if is_key(x):
            # Typed PRNG keys: move their raw bits, then re-wrap with the same implementation.
            impl = jax.random.key_impl(x)
            return jax.random.wrap_key_data(put(jax.random.key_data(x)), impl=impl)
        return host_to_global(np.asarray(x), sharding)

    return jax.tree.map(put, tree)


def checkpoint_tree(params, rest, rngs, opt_state) -> dict[str, Any]:
    """What a checkpoint stores: variables as plain nested dicts, PRNG keys as raw uint32 bits."""
    return {
        "params": nnx.to_pure_dict(params),
        "rest": nnx.to_pure_dict(rest),
        "rngs": jax.tree.map(
            lambda x: jax.random.key_data(x) if is_key(x) else x, nnx.to_pure_dict(rngs)
        ),
        "opt_state": opt_state,
    }


def keys_from_data(saved: Any, like: Any) -> Any:
    """Re-wrap raw key bits restored from a checkpoint as typed keys like those in ``like``."""
    return jax.tree.map(
        lambda d, t: jax.random.wrap_key_data(d, impl=jax.random.key_impl(t)) if is_key(t) else d,
        saved,
        like,
    )


def _cast_floats(tree: Any, dtype: Any) -> Any:
    return jax.tree.map(
        lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree
    )


def make_steps(
    graphdef: nnx.GraphDef,
    task: Any,
    tx: optax.GradientTransformation,
    *,
    compute_dtype: Any = None,
) -> tuple[Callable, Callable]:
    """The pure ``update`` and ``evaluate`` functions of one training run.

    ``update(params, rest, rngs, opt_state, batch, key_data, step)`` ->
    ``(params, rest, rngs, opt_state, metrics)``: one optimiser step on the task's mean loss over
    the (global) batch; ``metrics`` holds ``loss``, the task's aux metrics and ``grad_norm``.
    ``evaluate(params, rest, rngs, batch, key_data, step)`` -> ``{"loss", **aux}`` with the model
    in evaluation mode (Dropout off, BatchNorm on its running statistics).
    The step's key is ``fold_in(wrap_key_data(key_data), step)``. With ``compute_dtype``
    (bfloat16) parameters and floating batch arrays are cast for the forward and backward pass;
    the parameters, gradients and optimiser state stay float32.
    """

    def loss_fn(p, rest, rngs, batch, key, step, training=True):
        if compute_dtype is not None:
            p, batch = _cast_floats(p, compute_dtype), _cast_floats(batch, compute_dtype)
        # copy=True: fresh Variables inside this trace, so stateful modules may update them.
        m = nnx.merge(graphdef, p, rngs, rest, copy=True)
        m.train() if training else m.eval()
        loss, aux = task.loss(m, batch, key=key, step=step)
        _, _, new_rngs, new_rest = nnx.split(m, nnx.Param, nnx.RngState, ...)
        aux = {k: jnp.asarray(v, jnp.float32) for k, v in aux.items()}
        return jnp.asarray(loss, jnp.float32), (aux, new_rngs, new_rest)

    def update(params, rest, rngs, opt_state, batch, key_data, step):
        key = jax.random.fold_in(jax.random.wrap_key_data(key_data), step)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, (aux, rngs, rest)), grads = grad_fn(params, rest, rngs, batch, key, step)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        metrics = {"loss": loss, **aux, "grad_norm": optax.tree.norm(grads)}
        return params, rest, rngs, opt_state, metrics

    def evaluate(params, rest, rngs, batch, key_data, step):
        key = jax.random.fold_in(jax.random.wrap_key_data(key_data), step)
        loss, (aux, _, _) = loss_fn(params, rest, rngs, batch, key, step, training=False)
        return {"loss": loss, **aux}

    return update, evaluate
