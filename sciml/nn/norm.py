"""Normalisation layers for channels-last fields ``(batch, *spatial, channels)``.

One module, :class:`Norm`, selected by name so that configs can choose it:

- ``"instance"``: per sample and per channel, statistics over the spatial axes
  (``y = (x - mean) / sqrt(var + eps)``, biased variance, as ``torch.nn.InstanceNorm*d``).
- ``"group"``: per sample, channels split into ``groups`` groups, statistics over the spatial
  axes and the channels of a group (``groups == channels`` is instance norm, ``1`` layer norm).
- ``"batch"``: statistics over the batch and spatial axes, running averages for evaluation
  (``nnx.BatchNorm``; ``model.eval()`` switches to the running averages).
- ``"none"``: identity.

Instance and group norm are exactly translation invariant on a periodic domain (their
statistics are sums over the whole field), so a periodic network built from them stays
translation equivariant.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

NORMS = ("instance", "group", "batch", "none")


def check_norm(kind: str) -> str:
    """Validate a normalisation name (one of :data:`NORMS`)."""
    if kind not in NORMS:
        raise ValueError(
            f"norm: expected one of {list(NORMS)}, found {kind!r}; pick one of those names"
        )
    return kind


def group_normalize(x: jax.Array, groups: int, eps: float) -> jax.Array:
    """Normalise ``x`` of shape ``(batch, *spatial, C)`` over spatial axes and channel groups.

    ``y = (x - mean_g) / sqrt(var_g + eps)`` with the mean and biased variance of each sample's
    group ``g`` (its ``C / groups`` channels over all spatial cells). ``C`` must be divisible by
    ``groups``; statistics are computed in float32 (or wider). Returns an array of the same shape
    and dtype as ``x``.

    Every full-size array stays ``(batch, *spatial, C)``: statistics are summed per channel over
    the spatial axes and combined into groups on the small ``(batch, C)`` arrays. (Reshaping to
    ``(batch, *spatial, groups, C / groups)`` is the same arithmetic, but for instance norm it puts
    a unit axis last, and XLA's CPU backend then runs the normalisation's gradient 2.5x slower:
    68 ms against 27 ms at 320 x 320 x 32, one core.)
    """
    c = x.shape[-1]
    if c % groups:
        raise ValueError(
            f"groups: expected a divisor of the channel count {c}, found {groups}; "
            "choose groups that divides every layer width"
        )
    dtype = jnp.promote_types(x.dtype, jnp.float32)
    xf = x.astype(dtype)
    axes = tuple(range(1, x.ndim - 1))

    def group_mean(v: jax.Array) -> jax.Array:  # (batch, *spatial, C) -> (batch, 1.., C)
        m = jnp.mean(v, axis=axes, keepdims=True)
        if groups == c:
            return m
        shape = m.shape
        m = m.reshape(shape[0], groups, c // groups).mean(axis=-1, keepdims=True)
        return jnp.broadcast_to(m, (shape[0], groups, c // groups)).reshape(shape)

    mean = group_mean(xf)
    var = group_mean(jnp.square(xf - mean))
    y = (xf - mean) * jax.lax.rsqrt(var + eps)
    return y.astype(x.dtype)


class Norm(nnx.Module):
    """A normalisation layer chosen by name.

    Args:
      kind: ``"instance"``, ``"group"``, ``"batch"`` or ``"none"``.
      channels: number of channels ``C`` (last axis).
      eps: added to the variance (1e-5 matches PyTorch's defaults).
      affine: learn a per-channel scale and shift after normalising (instance/group/batch).
      groups: number of groups for ``"group"`` (must divide ``channels``).
      momentum: running-average momentum for ``"batch"``.
      rngs: ``nnx.Rngs`` (needed only by ``"batch"``).

    Shapes:
      ``x``: ``(batch, *spatial, C)`` -> same shape.
    """

    def __init__(
        self,
        kind: str,
        channels: int,
        *,
        eps: float = 1e-5,
        affine: bool = False,
        groups: int = 8,
        momentum: float = 0.9,
        rngs: nnx.Rngs,
    ):
        self.kind = check_norm(kind)
        self.eps = eps
        self.channels = channels
        self.groups = channels if kind == "instance" else groups
        if kind == "group" and channels % groups:
            raise ValueError(
                f"groups: expected a divisor of the channel count {channels}, found {groups}; "
                "choose groups that divides every layer width"
            )
        if kind == "batch":
            self.bn = nnx.BatchNorm(
                channels,
                epsilon=eps,
                momentum=momentum,
                use_bias=affine,
                use_scale=affine,
                rngs=rngs,
            )
            self.scale = self.bias = None
        elif affine and kind != "none":
            self.bn = None
            self.scale = nnx.Param(jnp.ones((channels,), jnp.float32))
            self.bias = nnx.Param(jnp.zeros((channels,), jnp.float32))
        else:
            self.bn = None
            self.scale = self.bias = None

    def __call__(self, x: jax.Array) -> jax.Array:
        if self.kind == "none":
            return x
        if x.shape[-1] != self.channels:
            raise ValueError(
                f"Norm input: expected {self.channels} channels on the last axis, "
                f"found shape {tuple(x.shape)}; the layout is (batch, *spatial, channels)"
            )
        if self.kind == "batch":
            return self.bn(x)
        y = group_normalize(x, self.groups, self.eps)
        if self.scale is not None:
            y = y * self.scale[...].astype(y.dtype) + self.bias[...].astype(y.dtype)
        return y
