"""The tendency network G of a learned integrator: G(Z) = V * f(W * Z) and deeper variants."""

from __future__ import annotations

import itertools

import jax
from flax import nnx

from sciml.nn.activations import get_activation
from sciml.nn.conv import Conv


class Tendency(nnx.Module):
    """Translation-invariant local operator G for Z(t + dt) = Z(t) + dt G(Z(t)).

    ``depth`` convolutions with the activation ``f`` between them:
    depth 2 (the default) is ``G(Z) = V * f(W * Z)``; depth ``d`` is
    ``V * f(W_{d-1} * ... f(W_1 * Z))``. All convolutions share ``kernel_size`` and
    ``boundary``, so G is translation equivariant by construction (exactly, for periodic
    boundaries).

    Args:
      channels: state channels ``C`` (input).
      width: hidden channels.
      kernel_size: spatial extent of every convolution (odd).
      depth: number of convolutions, >= 1 (1 gives a learned linear stencil).
      ndim: spatial axes (1, 2 or 3).
      activation: name in ``sciml.nn.ACTIVATIONS``.
      boundary: ``"periodic"``, ``"zero"``, ``"reflect"`` or ``"ghost"``. With ``"ghost"`` the input
        must carry :attr:`halo` ghost cells on each side of every spatial axis.
      out_channels: output channels (default ``channels``).
      rngs: ``nnx.Rngs``.

    Shapes:
      ``z``: ``(batch, *spatial, C)`` -> ``(batch, *spatial, C_out)`` (spatial shrinks by
      ``2 * halo`` per axis for ``"ghost"``). Units: the output is a rate, state units per time unit.
    """

    def __init__(
        self,
        channels: int,
        *,
        width: int = 32,
        kernel_size: int = 5,
        depth: int = 2,
        ndim: int = 1,
        activation: str = "gelu",
        boundary: str = "periodic",
        out_channels: int | None = None,
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        if depth < 1:
            raise ValueError(f"depth: expected >= 1 convolutions, found {depth}")
        if kernel_size % 2 != 1:
            raise ValueError(
                f"kernel_size: expected an odd size (centred stencil), found {kernel_size}"
            )
        self.activation_name = activation
        self.activation = get_activation(activation)
        self.depth = depth
        self.kernel_size = kernel_size
        self.ndim = ndim
        self.boundary = boundary
        self.halo = depth * (kernel_size // 2)
        out_channels = channels if out_channels is None else out_channels
        sizes = [channels] + [width] * (depth - 1) + [out_channels]
        self.convs = nnx.List(
            [
                Conv(
                    cin,
                    cout,
                    kernel_size,
                    ndim=ndim,
                    boundary=boundary,
                    use_bias=use_bias,
                    rngs=rngs,
                )
                for cin, cout in itertools.pairwise(sizes)
            ]
        )

    def __call__(self, z: jax.Array) -> jax.Array:
        h = z
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < self.depth - 1:
                h = self.activation(h)
        return h
