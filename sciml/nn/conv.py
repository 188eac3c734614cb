"""N-dimensional convolution with the boundary condition as an argument."""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import nnx

from sciml.nn.conv_grad import conv_general_dilated
from sciml.nn.padding import check_boundary, pad


def _tuple(v: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    t = (v,) * ndim if isinstance(v, int) else tuple(v)
    if len(t) != ndim:
        raise ValueError(f"{name}: expected {ndim} entries (one per spatial axis), found {len(t)}")
    return t


class Conv(nnx.Module):
    """Convolution over 1, 2 or 3 spatial axes with explicit boundary handling.

    ``y = W * pad(x)`` where ``pad`` applies the boundary condition and the convolution itself is
    VALID, so a periodic conv is exactly translation equivariant on the torus.

    Args:
      in_features: input channels ``C_in``.
      out_features: output channels ``C_out``.
      kernel_size: int or one per spatial axis (odd sizes keep the grid centred).
      ndim: number of spatial axes (1, 2 or 3).
      boundary: ``"periodic"``, ``"zero"``, ``"reflect"`` or ``"ghost"`` (see ``sciml.nn.padding``).
      strides: stride per axis (down-sampling convolutions).
      use_bias: add a learned bias.
      rngs: ``nnx.Rngs`` for the initialiser.

    Shapes:
      ``x``: ``(batch, *spatial, C_in)`` -> ``(batch, *spatial', C_out)``; ``spatial' == spatial``
      for stride 1 except for ``"ghost"``, where each axis shrinks by ``kernel_size - 1``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int] = 3,
        *,
        ndim: int,
        boundary: str = "periodic",
        strides: int | Sequence[int] = 1,
        use_bias: bool = True,
        kernel_init: nnx.Initializer | None = None,
        param_dtype=None,
        dtype=None,
        rngs: nnx.Rngs,
    ):
        if ndim not in (1, 2, 3):
            raise ValueError(f"ndim: expected 1, 2 or 3 spatial axes, found {ndim}")
        self.ndim = ndim
        self.boundary = check_boundary(boundary)
        self.kernel_size = _tuple(kernel_size, ndim, "kernel_size")
        self.strides = _tuple(strides, ndim, "strides")
        # Left/right halo per axis; even kernels put the extra cell on the left.
        self.halo = tuple(((k - 1) - (k - 1) // 2, (k - 1) // 2) for k in self.kernel_size)
        kwargs = {}
        if kernel_init is not None:
            kwargs["kernel_init"] = kernel_init
        if param_dtype is not None:
            kwargs["param_dtype"] = param_dtype
        self.conv = nnx.Conv(
            in_features,
            out_features,
            self.kernel_size,
            strides=self.strides,
            padding="VALID",
            use_bias=use_bias,
            dtype=dtype,
            conv_general_dilated=conv_general_dilated,
            rngs=rngs,
            **kwargs,
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != self.ndim + 2:
            raise ValueError(
                f"Conv input: expected rank {self.ndim + 2} (batch, *{self.ndim} spatial, channels), "
                f"found shape {tuple(x.shape)}; add a batch axis with x[None] if needed"
            )
        return self.conv(pad(x, self.halo, self.boundary))
