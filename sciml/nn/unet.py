"""An N-dimensional U-Net (1D/2D/3D, channels last) built from boundary-aware convolutions.

The network (Ronneberger et al. 2015) is an encoder of ``depth`` levels, a bottleneck and a
decoder that merges the encoder's skip connections::

    level i = 0 .. depth-1:  s_i = ConvBlock(c -> e_i)(x); x = down(s_i)
    bottleneck:              x = ConvBlock(e_{depth-1} -> b)(x)
    level i = depth-1 .. 0:  x = ConvBlock(concat[up(x), s_i] -> d_i)
    head:                    1x1 convs (head_channels..., out_channels), linear

with ``e_i = width * multiplier**i``, ``b = width * multiplier**depth`` and ``d_i = e_i`` by
default (all three configurable).

``ConvBlock`` is (conv -> norm -> activation) twice. Every spatial convolution is a
:class:`sciml.nn.Conv`, so the boundary condition (``"periodic"`` or ``"zero"``, also
``"reflect"``) is an argument; with ``"periodic"``, instance/group/batch norm and any of the
down/up-sampling options the network is exactly equivariant under periodic shifts by multiples of
``2**depth`` cells.

The MRI models (:mod:`sciml.mri.models`) configure both published fastMRI U-Nets from this class,
and a 3D periodic configuration serves as the cosmology emulator of He et al. (PNAS 2019).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.nn.activations import get_activation
from sciml.nn.conv import Conv
from sciml.nn.conv_grad import conv_valid
from sciml.nn.norm import Norm, check_norm
from sciml.nn.padding import check_boundary

DOWNSAMPLING = ("max", "avg", "conv", "strided")
UPSAMPLING = ("transpose", "linear")


def _check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, found {value!r}")
    return value


def pool(x: jax.Array, kind: str) -> jax.Array:
    """2x down-sampling of every spatial axis by a 2-cell max or average (window 2, stride 2).

    ``x``: ``(batch, *spatial, C)`` -> ``(batch, *(n // 2), C)``; an odd trailing cell is dropped
    (as PyTorch's pooling does).
    """
    spatial = [n // 2 for n in x.shape[1:-1]]
    x = x[(slice(None), *(slice(0, 2 * n) for n in spatial), slice(None))]
    shape = [x.shape[0]]
    for n in spatial:
        shape += [n, 2]
    x = x.reshape(*shape, x.shape[-1])
    axes = tuple(2 + 2 * i for i in range(len(spatial)))
    return jnp.max(x, axis=axes) if kind == "max" else jnp.mean(x, axis=axes)


def upsample_linear(x: jax.Array, boundary: str) -> jax.Array:
    """2x (bi/tri)linear up-sampling of every spatial axis with half-pixel centres.

    Output cell ``j`` samples input coordinate ``(j + 0.5) / 2 - 0.5``, i.e. cells ``2i`` and
    ``2i+1`` are ``0.75 x[i] + 0.25 x[i-1]`` and ``0.75 x[i] + 0.25 x[i+1]``. At the ends the
    neighbour is the wrapped cell for ``"periodic"`` and the edge cell otherwise, which equals
    PyTorch's ``interpolate(scale_factor=2, mode="bilinear", align_corners=False)``.

    ``x``: ``(batch, *spatial, C)`` -> ``(batch, *(2 n), C)``.
    """
    mode = "wrap" if boundary == "periodic" else "edge"
    for axis in range(1, x.ndim - 1):
        widths = [(0, 0)] * x.ndim
        widths[axis] = (1, 1)
        p = jnp.pad(x, widths, mode=mode)
        n = x.shape[axis]
        mid = jax.lax.slice_in_dim(p, 1, n + 1, axis=axis)
        left = jax.lax.slice_in_dim(p, 0, n, axis=axis)
        right = jax.lax.slice_in_dim(p, 2, n + 2, axis=axis)
        even = 0.75 * mid + 0.25 * left
        odd = 0.75 * mid + 0.25 * right
        stacked = jnp.stack([even, odd], axis=axis + 1)
        shape = list(x.shape)
        shape[axis] = 2 * n
        x = stacked.reshape(shape)
    return x


class UpConv(nnx.Module):
    """2x up-sampling by a transposed convolution with kernel 2 (or 3) and stride 2 on every axis.

    The windows do not overlap, so output cell ``2i + a`` (per axis) is
    ``y[2i + a] = x[i] @ K[a]`` with ``K`` of shape ``(2,) * ndim + (C_in, C_out)``. It is computed
    as one 1x1 convolution to ``2**ndim * C_out`` channels (a matrix product per cell) and a
    reshape (depth-to-space), whose gradient is as cheap as the forward pass, unlike XLA's CPU
    gradient of a strided transposed convolution. A PyTorch
    ``ConvTranspose{n}d(kernel_size=2, stride=2)`` weight ``W[c_in, c_out, a, b]`` maps to
    ``K[a, b, c_in, c_out]`` without a flip.

    With ``kernel_size=3`` (He et al. 2019) the windows overlap by one cell: per axis
    ``y[2i + a - 1] += x[i] @ K[a]`` for ``a = 0, 1, 2``, i.e. ``y[2i] = x[i] K[1]`` and
    ``y[2i + 1] = x[i] K[2] + x[i + 1] K[0]``, where ``x[n]`` is ``x[0]`` for ``"periodic"`` and
    zero otherwise (PyTorch's ``ConvTranspose{n}d(3, stride=2, padding=1, output_padding=1)``
    with the same ``W[c_in, c_out, a, ...] -> K[a, ..., c_in, c_out]``). It is computed as one
    stride-1 convolution with a 2-cell window to ``2**ndim * C_out`` channels and the same
    depth-to-space reshape.

    Shapes: ``(batch, *spatial, C_in)`` -> ``(batch, *(2 n), C_out)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        ndim: int,
        use_bias: bool = False,
        kernel_size: int = 2,
        boundary: str = "zero",
        rngs: nnx.Rngs,
    ):
        if kernel_size not in (2, 3):
            raise ValueError(
                f"UpConv kernel_size: expected 2 or 3, found {kernel_size}; use 2 (fastMRI) or 3 "
                "(He et al. 2019)"
            )
        self.ndim = ndim
        self.kernel_size = kernel_size
        self.boundary = boundary
        shape = (kernel_size,) * ndim + (in_channels, out_channels)
        self.kernel = nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), shape))
        self.bias = nnx.Param(jnp.zeros((out_channels,))) if use_bias else None

    def _phase_kernel(self, k: jax.Array) -> jax.Array:
        """``(3,)*nd + (C_in, C_out)`` -> ``(2,)*nd + (C_in, 2**nd * C_out)``: window offset
        ``o`` and output phase ``p`` per axis use tap ``[[1, -], [2, 0]][p][o]`` (``-``: zero)."""
        nd = self.ndim
        kp = jnp.pad(k, [(0, 1)] * nd + [(0, 0), (0, 0)])  # tap 3 is zero
        taps = np.array([[1, 2], [3, 0]])  # [offset, phase] -> tap
        index = []
        for a in range(nd):
            shape = [1] * (2 * nd)
            shape[a], shape[nd + a] = 2, 2
            index.append(taps.reshape(shape))
        w = kp[tuple(index)]  # (o_1..o_nd, p_1..p_nd, C_in, C_out)
        w = jnp.moveaxis(w, 2 * nd, nd)  # (o..., C_in, p..., C_out)
        return w.reshape(*(2,) * nd, k.shape[-2], -1)

    def __call__(self, x: jax.Array) -> jax.Array:
        nd = self.ndim
        k = self.kernel[...]
        cin, cout = k.shape[-2:]
        if self.kernel_size == 2:
            k = jnp.moveaxis(k, -2, 0).reshape((1,) * nd + (cin, -1))  # (1.., C_in, 2**nd C_out)
            # A 1x1 convolution rather than jnp.dot: XLA's CPU gradient of the dot transposes
            # the (large) output gradient inside the norm backward that produces it (40 ms of a
            # 100 ms up-sampling layer at 320^2); the convolution's transposes the (4x smaller)
            # input instead (benchmarks/bench_mri_unet.py).
            y = conv_valid(x, k.astype(x.dtype))
        else:
            mode = "wrap" if self.boundary == "periodic" else "constant"
            xp = jnp.pad(x, [(0, 0)] + [(0, 1)] * nd + [(0, 0)], mode=mode)
            # the zoo's VALID convolution: on CPU a 3-D one runs as 2-D convs over depth taps
            y = conv_valid(xp, self._phase_kernel(k).astype(x.dtype))
        y = y.reshape(*x.shape[:-1], *(2,) * nd, cout)
        perm = [0]
        for i in range(nd):
            perm += [1 + i, 1 + nd + i]
        y = jnp.transpose(y, (*perm, y.ndim - 1))
        y = y.reshape(x.shape[0], *(2 * n for n in x.shape[1:-1]), cout)
        if self.bias is not None:
            y = y + self.bias[...].astype(y.dtype)
        return y


class ConvBlock(nnx.Module):
    """(conv -> norm -> activation) twice.

    Args:
      in_channels, out_channels: channel counts.
      ndim: spatial dimensions (1, 2, 3).
      kernel_size: convolution size (odd).
      norm: ``"instance"``, ``"group"``, ``"batch"`` or ``"none"`` (see :class:`sciml.nn.Norm`).
      activation: name from :data:`sciml.nn.ACTIVATIONS`.
      boundary: padding of the convolutions (``"periodic"``, ``"zero"``, ``"reflect"``).
      use_bias: biases in the convolutions.

    Shapes:
      ``(batch, *spatial, in_channels)`` -> ``(batch, *spatial, out_channels)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        ndim: int,
        kernel_size: int = 3,
        norm: str = "instance",
        norm_affine: bool = False,
        norm_groups: int = 8,
        norm_eps: float = 1e-5,
        activation: str = "relu",
        boundary: str = "zero",
        use_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        self.activation = activation
        get_activation(activation)
        norm_kw = dict(eps=norm_eps, affine=norm_affine, groups=norm_groups, rngs=rngs)
        conv_kw = dict(ndim=ndim, boundary=boundary, use_bias=use_bias, rngs=rngs)
        self.conv1 = Conv(in_channels, out_channels, kernel_size, **conv_kw)
        self.norm1 = Norm(norm, out_channels, **norm_kw)
        self.conv2 = Conv(out_channels, out_channels, kernel_size, **conv_kw)
        self.norm2 = Norm(norm, out_channels, **norm_kw)

    def __call__(self, x: jax.Array) -> jax.Array:
        act = get_activation(self.activation)
        x = act(self.norm1(self.conv1(x)))
        return act(self.norm2(self.conv2(x)))


class UNet(nnx.Module):
    """N-dimensional U-Net, channels last.

    Args:
      in_channels: input channels ``C_in``.
      out_channels: output channels ``C_out``.
      ndim: number of spatial axes (1, 2 or 3).
      width: channels of the first level (``chans`` in fastMRI).
      depth: number of down-sampling steps (``num_pool_layers``).
      multiplier: channel growth per level.
      norm: ``"instance"``, ``"group"``, ``"batch"`` or ``"none"``.
      norm_affine: learn scale and shift in the norms (fastMRI: False).
      norm_groups: groups for ``norm="group"``.
      activation: name from :data:`sciml.nn.ACTIVATIONS` (``"relu"``, ``"leaky_relu"`` (slope
        0.2), ...).
      down: ``"max"`` or ``"avg"`` (2-cell pooling), ``"conv"`` (3-cell convolution, stride 2,
        channels unchanged) or ``"strided"`` (3-cell convolution, stride 2, to the next level's
        width, then norm and activation: He et al. 2019).
      up: ``"transpose"`` (transposed convolution, stride 2, to the skip's width) or
        ``"linear"`` ((bi/tri)linear x2, channels unchanged).
      up_kernel_size: kernel of the transposed convolution, 2 (default) or 3.
      boundary: ``"periodic"`` or ``"zero"`` (also ``"reflect"``) padding of every convolution.
      use_bias: biases in the 3-cell convolutions.
      kernel_size: size of the convolutions in the conv blocks.
      bottleneck_channels: output width of the bottleneck (default ``width * multiplier**depth``).
      decoder_channels: output width of each decoder level, finest first (default the encoder's).
      up_norm: follow a transposed convolution with norm and activation (fastMRI since 2020).
      up_bias: bias in the transposed convolutions.
      head_channels: widths of extra 1x1 convolutions before the output 1x1 convolution (linear,
        no activation between them, as fastMRI's 2018 head).
      head_bias: biases in the 1x1 head.
      rngs: ``nnx.Rngs``.

    Shapes:
      ``x``: ``(batch, *spatial, C_in)`` -> ``(batch, *spatial, C_out)``. Every spatial size must be
      at least ``2**depth``; sizes that are not multiples of ``2**depth`` are handled by padding
      the up-sampled field on the right (reflect, or wrap when periodic) to the skip's size.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        ndim: int,
        width: int = 32,
        depth: int = 4,
        multiplier: int = 2,
        norm: str = "instance",
        norm_affine: bool = False,
        norm_groups: int = 8,
        norm_eps: float = 1e-5,
        activation: str = "relu",
        down: str = "max",
        up: str = "transpose",
        boundary: str = "zero",
        use_bias: bool = True,
        kernel_size: int = 3,
        bottleneck_channels: int | None = None,
        decoder_channels: Sequence[int] | None = None,
        up_norm: bool = False,
        up_bias: bool = False,
        up_kernel_size: int = 2,
        head_channels: Sequence[int] = (),
        head_bias: bool = True,
        rngs: nnx.Rngs,
    ):
        if ndim not in (1, 2, 3):
            raise ValueError(f"ndim: expected 1, 2 or 3 spatial axes, found {ndim}")
        if depth < 0:
            raise ValueError(f"depth: expected an integer >= 0, found {depth}")
        if width < 1:
            raise ValueError(f"width: expected a positive channel count, found {width}")
        self.ndim = ndim
        self.depth = depth
        self.boundary = check_boundary(boundary)
        if boundary == "ghost":
            raise ValueError(
                "boundary: expected 'periodic', 'zero' or 'reflect' for a U-Net, found 'ghost'; "
                "pad the input yourself and use 'zero'"
            )
        self.down = _check_choice("down", down, DOWNSAMPLING)
        self.up = _check_choice("up", up, UPSAMPLING)
        self.activation = activation
        get_activation(activation)
        check_norm(norm)
        self.up_norm = up_norm and up == "transpose"

        enc = [width * multiplier**i for i in range(depth)]
        bottleneck = (
            width * multiplier**depth if bottleneck_channels is None else bottleneck_channels
        )
        dec = list(enc) if decoder_channels is None else [int(c) for c in decoder_channels]
        if len(dec) != depth:
            raise ValueError(
                f"decoder_channels: expected {depth} widths (one per level, finest first), "
                f"found {len(dec)}"
            )
        self.encoder_channels = tuple(enc)
        self.decoder_channels = tuple(dec)
        block_kw = dict(
            ndim=ndim,
            kernel_size=kernel_size,
            norm=norm,
            norm_affine=norm_affine,
            norm_groups=norm_groups,
            norm_eps=norm_eps,
            activation=activation,
            boundary=boundary,
            use_bias=use_bias,
            rngs=rngs,
        )
        norm_kw = dict(eps=norm_eps, affine=norm_affine, groups=norm_groups, rngs=rngs)

        encoder, downs, down_norms = [], [], []
        c = in_channels
        for i, e in enumerate(enc):
            encoder.append(ConvBlock(c, e, **block_kw))
            c = e
            if down in ("conv", "strided"):
                nxt = e if down == "conv" else [*enc, bottleneck][i + 1]
                downs.append(Conv(e, nxt, 3, ndim=ndim, boundary=boundary, strides=2, rngs=rngs))
                if down == "strided":
                    down_norms.append(Norm(norm, nxt, **norm_kw))
                c = nxt
        self.encoder = nnx.List(encoder)
        self.downs = nnx.List(downs)
        self.down_norms = nnx.List(down_norms)
        self.bottleneck = ConvBlock(c, bottleneck, **block_kw)
        c = bottleneck

        ups, up_norms, decoder = [], [], []
        for level in reversed(range(depth)):
            if up == "transpose":
                ups.append(
                    UpConv(
                        c,
                        enc[level],
                        ndim=ndim,
                        use_bias=up_bias,
                        kernel_size=up_kernel_size,
                        boundary=boundary,
                        rngs=rngs,
                    )
                )
                if self.up_norm:
                    up_norms.append(Norm(norm, enc[level], **norm_kw))
                c = enc[level]
            decoder.append(ConvBlock(c + enc[level], dec[level], **block_kw))
            c = dec[level]
        self.ups = nnx.List(ups)
        self.up_norms = nnx.List(up_norms)
        self.decoder = nnx.List(decoder)

        head = []
        for h in (*head_channels, out_channels):
            head.append(Conv(c, h, 1, ndim=ndim, boundary=boundary, use_bias=head_bias, rngs=rngs))
            c = h
        self.head = nnx.List(head)

    def _match(self, x: jax.Array, skip: jax.Array) -> jax.Array:
        """Pad ``x`` on the right of each spatial axis up to the skip's size."""
        extra = [s - n for s, n in zip(skip.shape[1:-1], x.shape[1:-1], strict=True)]
        if not any(extra):
            return x
        mode = "wrap" if self.boundary == "periodic" else "reflect"
        return jnp.pad(x, [(0, 0), *[(0, e) for e in extra], (0, 0)], mode=mode)

    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != self.ndim + 2:
            raise ValueError(
                f"UNet input: expected rank {self.ndim + 2} "
                f"(batch, *{self.ndim} spatial, channels), "
                f"found shape {tuple(x.shape)}; add a batch axis with x[None] if needed"
            )
        small = [n for n in x.shape[1:-1] if n < 2**self.depth]
        if small:
            raise ValueError(
                f"UNet input: expected every spatial size >= 2**depth = {2**self.depth}, found "
                f"shape {tuple(x.shape)}; use a smaller depth or a larger grid"
            )
        act = get_activation(self.activation)
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x)
            skips.append(x)
            if self.down == "strided":
                x = act(self.down_norms[i](self.downs[i](x)))
            elif self.down == "conv":
                x = self.downs[i](x)
            else:
                x = pool(x, self.down)
        x = self.bottleneck(x)
        for j, block in enumerate(self.decoder):
            skip = skips[self.depth - 1 - j]
            if self.up == "transpose":
                x = self.ups[j](x)
                if self.up_norm:
                    x = act(self.up_norms[j](x))
            else:
                x = upsample_linear(x, self.boundary)
            x = self._match(x, skip)
            x = block(jnp.concatenate([x, skip], axis=-1))
        for conv in self.head:
            x = conv(x)
        return x
