"""Pointwise nonlinearities by name, so configs and exported artifacts can name them.

Every activation listed here has a NumPy twin in ``sciml.stepper.numpy_eval`` so that exported
steppers evaluate without JAX; add both together.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "tanh": jnp.tanh,
    "swish": jax.nn.swish,
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "leaky_relu": lambda x: jax.nn.leaky_relu(x, negative_slope=0.2),
    "sigmoid": jax.nn.sigmoid,
    "identity": lambda x: x,
}


def get_activation(name: str) -> Callable[[jax.Array], jax.Array]:
    """Return the activation called ``name``; raises with the valid names otherwise."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation: expected one of {sorted(ACTIVATIONS)}, found {name!r}; "
            "pick one of those names"
        ) from None
