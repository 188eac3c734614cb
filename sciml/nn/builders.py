"""The zoo's models under their config names, for ``TrainConfig.model.name``.

``sciml.train`` imports no concrete model: it reads this table (by module name, on first use)
through :data:`sciml.train.registry.BUILTIN_PROVIDERS`. Each builder takes the config's
``model.kwargs`` and ``rngs`` and returns an ``nnx.Module``. Areas register their own models
with :func:`sciml.train.register_model` from their own package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flax import nnx

from sciml.nn.tendency import Tendency
from sciml.nn.unet import UNet


def tendency(*, channels: int = 1, rngs: nnx.Rngs, **kwargs: Any) -> nnx.Module:
    """``Tendency(channels, **kwargs)``: the conv -> f -> conv network G of a learned stepper."""
    return Tendency(channels, rngs=rngs, **kwargs)


def unet(
    *, in_channels: int = 1, out_channels: int = 1, ndim: int = 2, rngs: nnx.Rngs, **kwargs: Any
) -> nnx.Module:
    """``UNet(in_channels, out_channels, ndim=ndim, **kwargs)``."""
    return UNet(in_channels, out_channels, ndim=ndim, rngs=rngs, **kwargs)


MODELS: dict[str, Callable[..., nnx.Module]] = {"tendency": tendency, "unet": unet}
