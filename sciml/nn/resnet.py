"""Residual blocks and a residual network (He et al. 2016), N-dimensional, channels last.

Two block orderings:

- ``"post"`` (original ResNet):  ``y = act(P x + norm(conv(act(norm(conv(x))))))``
- ``"pre"`` (pre-activation, "identity mappings" ResNet v2):
  ``y = P x + conv(act(norm(conv(act(norm(x))))))``

``P`` is the identity when the channel count is kept and a learned 1x1 convolution otherwise.
A ``"bottleneck"`` block replaces the two kxk convolutions by 1x1 (reduce) -> kxk -> 1x1 (expand)
with ``channels // 4`` inner channels. Convolutions take the boundary condition as an argument
(:class:`sciml.nn.Conv`), so periodic stacks are exactly translation equivariant.
"""

from __future__ import annotations

import jax
from flax import nnx

from sciml.nn.activations import get_activation
from sciml.nn.conv import Conv
from sciml.nn.norm import Norm

ORDERS = ("post", "pre")
BLOCKS = ("basic", "bottleneck")


class ResidualBlock(nnx.Module):
    """One residual block ``y = shortcut(x) + F(x)``.

    Args:
      in_channels: input channels ``C_in``.
      out_channels: output channels ``C_out`` (default ``C_in``; otherwise a 1x1 projection
        shortcut is learned).
      ndim: spatial dimensions (1, 2, 3).
      kernel_size: size of the spatial convolutions.
      norm: ``"instance"``, ``"group"``, ``"batch"`` or ``"none"``.
      activation: name from :data:`sciml.nn.ACTIVATIONS`.
      boundary: ``"periodic"``, ``"zero"`` or ``"reflect"``.
      order: ``"post"`` (original) or ``"pre"`` (pre-activation).
      kind: ``"basic"`` (two kxk convs) or ``"bottleneck"`` (1x1, kxk, 1x1; inner ``C_out // 4``).
      use_bias: biases in the convolutions.
      rngs: ``nnx.Rngs``.

    Shapes:
      ``(batch, *spatial, C_in)`` -> ``(batch, *spatial, C_out)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        *,
        ndim: int,
        kernel_size: int = 3,
        norm: str = "none",
        norm_groups: int = 8,
        activation: str = "gelu",
        boundary: str = "periodic",
        order: str = "pre",
        kind: str = "basic",
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        if order not in ORDERS:
            raise ValueError(f"order: expected one of {list(ORDERS)}, found {order!r}")
        if kind not in BLOCKS:
            raise ValueError(f"kind: expected one of {list(BLOCKS)}, found {kind!r}")
        get_activation(activation)
        out_channels = in_channels if out_channels is None else out_channels
        self.order = order
        self.activation = activation
        conv_kw = dict(ndim=ndim, boundary=boundary, use_bias=use_bias, rngs=rngs)
        if kind == "basic":
            widths = [
                (in_channels, out_channels, kernel_size),
                (out_channels, out_channels, kernel_size),
            ]
        else:
            inner = max(out_channels // 4, 1)
            widths = [
                (in_channels, inner, 1),
                (inner, inner, kernel_size),
                (inner, out_channels, 1),
            ]
        self.convs = nnx.List([Conv(i, o, k, **conv_kw) for i, o, k in widths])
        # Pre-activation normalises each conv's input; post-activation each conv's output.
        norm_widths = [i for i, _, _ in widths] if order == "pre" else [o for _, o, _ in widths]
        self.norms = nnx.List(
            [Norm(norm, c, groups=min(norm_groups, c), rngs=rngs) for c in norm_widths]
        )
        self.shortcut = (
            Conv(in_channels, out_channels, 1, **conv_kw) if in_channels != out_channels else None
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation)
        skip = x if self.shortcut is None else self.shortcut(x)
        h = x
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            if self.order == "pre":
                h = conv(act(norm(h)))
            else:
                h = norm(conv(h))
                if i < last:
                    h = act(h)
        y = skip + h
        return act(y) if self.order == "post" else y


class ResNet(nnx.Module):
    """A stack of residual blocks at constant resolution: lift, ``num_blocks`` blocks, project.

    ``y = Q(B_n(...B_1(L x)))`` with ``L`` a kxk lifting convolution to ``width`` channels and
    ``Q`` a 1x1 projection to ``out_channels`` (after a final norm + activation for ``"pre"``).

    Args:
      in_channels: input channels ``C_in``.
      out_channels: output channels ``C_out``.
      ndim: spatial dimensions (1, 2, 3).
      width: hidden channels.
      num_blocks: number of residual blocks.
      kernel_size, norm, activation, boundary, order, kind: as in :class:`ResidualBlock`.
      rngs: ``nnx.Rngs``.

    Shapes:
      ``(batch, *spatial, C_in)`` -> ``(batch, *spatial, C_out)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        ndim: int,
        width: int = 32,
        num_blocks: int = 4,
        kernel_size: int = 3,
        norm: str = "none",
        norm_groups: int = 8,
        activation: str = "gelu",
        boundary: str = "periodic",
        order: str = "pre",
        kind: str = "basic",
        rngs: nnx.Rngs,
    ):
        if num_blocks < 0:
            raise ValueError(f"num_blocks: expected an integer >= 0, found {num_blocks}")
        self.ndim = ndim
        self.order = order
        self.activation = activation
        self.lift = Conv(in_channels, width, kernel_size, ndim=ndim, boundary=boundary, rngs=rngs)
        self.blocks = nnx.List(
            [
                ResidualBlock(
                    width,
                    ndim=ndim,
                    kernel_size=kernel_size,
                    norm=norm,
                    norm_groups=norm_groups,
                    activation=activation,
                    boundary=boundary,
                    order=order,
                    kind=kind,
                    rngs=rngs,
                )
                for _ in range(num_blocks)
            ]
        )
        self.final_norm = Norm(norm, width, groups=min(norm_groups, width), rngs=rngs)
        self.project = Conv(width, out_channels, 1, ndim=ndim, boundary=boundary, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != self.ndim + 2:
            raise ValueError(
                f"ResNet input: expected rank {self.ndim + 2} (batch, *{self.ndim} spatial, "
                f"channels), found shape {tuple(x.shape)}; add a batch axis with x[None] if needed"
            )
        h = self.lift(x)
        for block in self.blocks:
            h = block(h)
        if self.order == "pre":
            h = get_activation(self.activation)(self.final_norm(h))
        return self.project(h)
