"""The zoo's VALID convolution, with the fastest implementation per backend.

:func:`conv_valid` (what :class:`sciml.nn.Conv` and the U-Net's up-sampling call) chooses:

- GPU, TPU and any other accelerator: XLA's own convolution and gradients, always
  (:func:`uses_custom_vjp` and :func:`uses_depth_taps` say no for every backend but ``"cpu"``);
- CPU, 3 spatial axes: a sum over the kernel's depth taps of 2-D convolutions with the output
  depth folded into the batch (:func:`uses_depth_taps`; ``SCIML_CONV3D=xla`` turns it off).
  XLA's CPU 2-D convolutions and their gradients are much faster than its 3-D ones: the D3M
  training step (64/128/256 channels, 32^3, batch 4) takes about 40% less CPU time this way
  (``benchmarks/bench_unet3d.py``);
- CPU with ``SCIML_CONV_GRAD=numpy``: the custom VJP below (NumPy weight gradient), opt-in;
- CPU otherwise (1-D, 2-D): XLA's own convolution.

On CPU the input also passes through an optimization barrier (:func:`uses_input_barrier`), so
that XLA feeds its weight gradient with a plain transpose of the padded input it already holds
rather than re-padding inside a slow per-channel transpose; numbers and every mode of
differentiation (``grad``, ``jvp``, ``vmap``) are unchanged.

The custom VJP: a convolution whose weight gradient is one GEMM over patches on CPU.

The zoo's :class:`sciml.nn.Conv` pads for the boundary condition and then runs a VALID
convolution, channels last (``x: (batch, *spatial, C_in)``, ``kernel: (*k, C_in, C_out)``)::

    y[n, p, o] = sum_{t, c} x[n, s p + t, c] K[t, c, o]          (p: output cell, t: tap, s: stride)

Its gradients are

    dx = the transposed convolution of dy with K                 (input gradient)
    dK[t, c, o] = sum_{n, p} x[n, s p + t, c] dy[n, p, o]        (weight gradient)

XLA writes the weight gradient as a convolution whose window is the whole image and whose
"features" are the batch, after transposing ``x`` to ``(C_in, *spatial, N)``; in the fastMRI
U-Net step on CPU (320 x 320) these convolutions and their transposes are the largest share of
the time (``benchmarks/bench_mri_unet.py`` prints the breakdown). The same sum is one matrix
product over patches, ``dK = P^T dy`` with ``P[(n, p), (t, c)] = x[n, s p + t, c]`` (im2col).
:func:`conv_general_dilated` can therefore use a custom VJP that:

- on CPU, computes ``dK`` on the host with NumPy (im2col in row blocks of a few MB, each block
  one OpenBLAS GEMM accumulated in the kernel's dtype, float32 for bfloat16/float16 kernels) via
  :func:`jax.pure_callback`;
- on every other platform (GPU, TPU) is not used at all: :func:`uses_custom_vjp` (given the
  default backend's name) sends the call to XLA's own convolution and gradients, which are the
  fast ones there; and should a CPU-traced function be lowered for an accelerator, the weight
  gradient inside the custom VJP is still XLA's (:func:`jax.lax.platform_dependent`, decided when
  the function is lowered for a device);
- computes ``dx`` with XLA's own transposed convolution on every platform (already fast).

The path is opt-in: set the environment variable ``SCIML_CONV_GRAD=numpy`` (read when a function
is traced); the default ``xla`` keeps XLA's own gradients everywhere. Measured on the 2-core VM
of the project (shared, heavily loaded; ``benchmarks/bench_mri_unet.py``), the NumPy weight
gradient alone costs about the same CPU time as XLA's for most U-Net layers (less for 128+
channels at 80 x 80, more at 320 x 320 with 32 channels), and with it the whole U-Net step
(160 x 160, one thread for XLA and PyTorch alike) went from 1.15x to 1.34x PyTorch's; so it is not
the default until a measurement on a quiet machine says otherwise. The forward pass is always XLA's
convolution, unchanged.

Composes with ``jit``, ``grad`` (first order; the custom VJP itself is not differentiated a
second time), ``vmap`` (the callback runs once per batch element), float64 and bfloat16. Under
``jit`` with arrays sharded over several devices XLA gathers the callback's arguments on one
device (correct, not parallel); inside ``shard_map`` each device computes its own partial
gradient, as with XLA's convolution.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv_general_dilated",
    "conv_valid",
    "grad_mode",
    "uses_custom_vjp",
    "weight_grad_numpy",
]

ENV = "SCIML_CONV_GRAD"
MODES = ("xla", "numpy")
_BLOCK_BYTES = 8 << 20  # size of one im2col block: fits the last-level cache, amortises the GEMM


def grad_mode() -> str:
    """``"xla"`` (default: XLA's own gradients) or ``"numpy"``, from ``$SCIML_CONV_GRAD``."""
    mode = os.environ.get(ENV, "xla").strip().lower() or "xla"
    if mode not in MODES:
        raise ValueError(
            f"{ENV}: expected one of {list(MODES)}, found {mode!r}; unset it for XLA's own "
            f"convolution gradients or set {ENV}=numpy for the NumPy weight gradient on CPU"
        )
    return mode


def uses_custom_vjp(backend: str, mode: str | None = None) -> bool:
    """Whether the zoo's convolution takes the custom VJP on ``backend``.

    Only on CPU and only with ``mode == "numpy"`` (default: :func:`grad_mode`); on every
    accelerator (``"gpu"``, ``"cuda"``, ``"rocm"``, ``"tpu"``, ...) the zoo runs XLA's own
    convolution and its own gradients, which are the fast ones there.

    Args:
      backend: a JAX platform name, e.g. ``jax.default_backend()``.
      mode: ``"xla"`` or ``"numpy"``; None reads ``$SCIML_CONV_GRAD``.
    """
    mode = grad_mode() if mode is None else mode
    return mode == "numpy" and backend.strip().lower() == "cpu"


def _backend() -> str:
    return jax.default_backend()


def uses_input_barrier(backend: str) -> bool:
    """Whether the convolution's input passes through :func:`jax.lax.optimization_barrier` (CPU).

    XLA's weight gradient on CPU wants the input as ``(C_in, *spatial, N)``. Without the barrier
    XLA recomputes the boundary padding inside that transpose, and the fused pad + transpose
    walks the input once per channel; with it, XLA transposes the padded input the forward pass
    already materialised, with its tiled transpose. Same numbers (bit for bit), every mode of
    differentiation unchanged; 3x3 convolution forward + backward on 2 quiet cores, 320 x 320:
    32 -> 32 channels 52 -> 41 ms, 64 -> 32 114 -> 91 ms; 160 x 160, 64 -> 64: 39 -> 34 ms
    (docs/performance.md, "Two layout fixes in the backward pass"). Accelerators keep XLA's pad
    folding into the convolution, which the barrier would block."""
    return backend.strip().lower() == "cpu"


CONV3D_ENV = "SCIML_CONV3D"
CONV3D_MODES = ("taps", "xla")


def uses_depth_taps(backend: str, ndim: int) -> bool:
    """Whether a 3-D convolution runs as a sum of 2-D convolutions over its depth taps.

    On CPU, XLA's 2-D convolutions and their gradients are markedly faster than its 3-D ones, so
    ``y = sum_a conv2d(x[:, a + s d], K[a])`` (depth folded into the batch; see
    :func:`_forward_depth_taps`) is the default there; ``$SCIML_CONV3D=xla`` restores XLA's
    3-D convolution. Every accelerator keeps XLA's own 3-D convolution.
    """
    mode = os.environ.get(CONV3D_ENV, "taps").strip().lower() or "taps"
    if mode not in CONV3D_MODES:
        raise ValueError(
            f"{CONV3D_ENV}: expected one of {list(CONV3D_MODES)}, found {mode!r}; unset it for "
            "the default (2-D convolutions over depth taps on CPU)"
        )
    return ndim == 3 and mode == "taps" and backend.strip().lower() == "cpu"


def _forward_depth_taps(x, kernel, strides, precision) -> jax.Array:
    """3-D VALID convolution as a sum over depth taps ``a`` of 2-D convolutions::

        y[n, i] = sum_a conv2d(x[n, s i + a], K[a])      (i: output depth, s: depth stride)

    with the output depth folded into the batch (``(N * D_out, H, W, C)``); gradients follow
    by automatic differentiation through the 2-D convolutions."""
    n, d, h, w, c = x.shape
    kd, sd = kernel.shape[0], strides[0]
    d_out = (d - kd) // sd + 1
    y = None
    for a in range(kd):
        xa = lax.slice_in_dim(x, a, a + sd * (d_out - 1) + 1, stride=sd, axis=1)
        ya = lax.conv_general_dilated(
            xa.reshape(n * d_out, h, w, c),
            kernel[a],
            strides[1:],
            "VALID",
            dimension_numbers=_dimension_numbers(2),
            precision=precision,
        )
        y = ya if y is None else y + ya
    return y.reshape(n, d_out, *y.shape[1:])


def _dimension_numbers(ndim: int) -> lax.ConvDimensionNumbers:
    spatial = "DHW"[3 - ndim :]
    return lax.conv_dimension_numbers(
        (1,) * (ndim + 2), (1,) * (ndim + 2), (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    )


def _forward(x: jax.Array, kernel: jax.Array, strides: tuple[int, ...], precision) -> jax.Array:
    return lax.conv_general_dilated(
        x,
        kernel,
        strides,
        "VALID",
        dimension_numbers=_dimension_numbers(x.ndim - 2),
        precision=precision,
    )


def weight_grad_numpy(
    x: np.ndarray, dy: np.ndarray, kernel_shape: Sequence[int], strides: Sequence[int]
) -> np.ndarray:
    """``dK[t, c, o] = sum_{n, p} x[n, s p + t, c] dy[n, p, o]`` with NumPy (im2col + GEMM).

    Args:
      x: input, shape ``(N, *in, C)``.
      dy: output gradient, shape ``(N, *out, O)`` with ``out = (in - k) // s + 1`` per axis.
      kernel_shape: ``(*k, C, O)``.
      strides: ``s`` per spatial axis.

    Returns:
      ``dK`` of shape ``kernel_shape``, in ``x``'s dtype (float32 or float64). The patches are
      built in blocks of rows of about 8 MB, each block one GEMM accumulated into ``dK``, so the
      extra memory stays small whatever the image size.
    """
    nd = len(strides)
    k = tuple(int(v) for v in kernel_shape[:nd])
    c, o = int(kernel_shape[nd]), int(kernel_shape[nd + 1])
    out_shape = dy.shape[1:-1]
    windows = sliding_window_view(x, k, axis=tuple(range(1, nd + 1)))  # (N, *in-k+1, C, *k)
    windows = windows[(slice(None), *(slice(0, n * s, s) for n, s in zip(out_shape, strides)))]
    # (N, *out, *k, C): patch rows in output order, columns (tap, channel) as the kernel's axes
    perm = (0, *range(1, nd + 1), *range(nd + 2, 2 * nd + 2), nd + 1)
    windows = windows.transpose(perm)
    cols = math.prod(k) * c
    dk = np.zeros((cols, o), dtype=x.dtype)
    # row blocks: whole samples, or slabs of the first output axis of one sample
    per_row0 = math.prod(out_shape[1:]) * cols * x.itemsize
    rows0 = max(1, min(out_shape[0], _BLOCK_BYTES // max(per_row0, 1)))
    for n in range(x.shape[0]):
        for start in range(0, out_shape[0], rows0):
            stop = min(out_shape[0], start + rows0)
            patches = np.ascontiguousarray(windows[n, start:stop]).reshape(-1, cols)
            dk += patches.T @ dy[n, start:stop].reshape(-1, o)
    return dk.reshape(tuple(kernel_shape))


def _weight_grad_host(x, dy, kernel_shape, strides, kernel_dtype):
    """The weight gradient through a host callback (CPU), float32 or float64 on the host."""
    work = jnp.float64 if x.dtype == jnp.float64 else jnp.float32
    shape = jax.ShapeDtypeStruct(tuple(kernel_shape), work)

    def host(x, dy):
        x = np.asarray(x)
        return weight_grad_numpy(x, np.asarray(dy, x.dtype), kernel_shape, strides)

    dk = jax.pure_callback(host, shape, x.astype(work), dy.astype(work), vmap_method="sequential")
    return dk.astype(kernel_dtype)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv(x, kernel, strides, precision):
    return _forward(x, kernel, strides, precision)


def _conv_fwd(x, kernel, strides, precision):
    return _forward(x, kernel, strides, precision), (x, kernel)


def _conv_bwd(strides, precision, residuals, dy):
    x, kernel = residuals
    with jax.named_scope("conv_input_grad"):
        _, vjp_x = jax.vjp(lambda x_: _forward(x_, kernel, strides, precision), x)
        (dx,) = vjp_x(dy)

    def xla(x, dy):
        _, vjp_k = jax.vjp(lambda k_: _forward(x, k_, strides, precision), kernel)
        return vjp_k(dy)[0]

    def host(x, dy):
        return _weight_grad_host(x, dy, kernel.shape, strides, kernel.dtype)

    with jax.named_scope("conv_weight_grad"):
        dk = lax.platform_dependent(x, dy, cpu=host, default=xla)
    return dx, dk


_conv.defvjp(_conv_fwd, _conv_bwd)


def conv_valid(
    x: jax.Array, kernel: jax.Array, strides: Sequence[int] | None = None, *, precision=None
) -> jax.Array:
    """VALID convolution, channels last, with the CPU-fast weight gradient (module docstring).

    Args:
      x: ``(batch, *spatial, C_in)``, 1 to 3 spatial axes.
      kernel: ``(*k, C_in, C_out)``.
      strides: stride per spatial axis (default 1).
      precision: passed to :func:`jax.lax.conv_general_dilated`.

    Returns:
      ``(batch, *((n - k) // s + 1), C_out)``, as ``lax.conv_general_dilated(x, kernel, strides,
      "VALID")`` with NHWC / HWIO / NHWC dimension numbers.
    """
    nd = x.ndim - 2
    strides = (1,) * nd if strides is None else tuple(int(s) for s in strides)
    backend = _backend()
    if uses_input_barrier(backend):
        x = lax.optimization_barrier(x)
    if uses_custom_vjp(backend) and jnp.issubdtype(kernel.dtype, jnp.floating):
        return _conv(x, kernel, strides, precision)
    if uses_depth_taps(backend, nd):
        return _forward_depth_taps(x, kernel, strides, precision)
    return _forward(x, kernel, strides, precision)


def conv_general_dilated(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers=None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision=None,
    preferred_element_type=None,
    **kwargs,
) -> jax.Array:
    """Drop-in for :func:`jax.lax.conv_general_dilated` (as ``nnx.Conv(conv_general_dilated=...)``).

    Channels-last VALID convolutions without dilation or groups take :func:`conv_valid`; any
    other call goes to ``lax.conv_general_dilated`` unchanged.
    """
    nd = lhs.ndim - 2
    plain = (
        isinstance(padding, str)
        and padding.upper() == "VALID"
        and all(d == 1 for d in (lhs_dilation or (1,)))
        and all(d == 1 for d in (rhs_dilation or (1,)))
        and feature_group_count == 1
        and batch_group_count == 1
        and preferred_element_type is None
        and kwargs.get("out_sharding") is None
        and 1 <= nd <= 3
        and lhs.dtype == rhs.dtype
        and lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
        == _dimension_numbers(nd)
    )
    if plain:
        return conv_valid(lhs, rhs, window_strides, precision=precision)
    return lax.conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dimension_numbers,
        feature_group_count=feature_group_count,
        batch_group_count=batch_group_count,
        precision=precision,
        preferred_element_type=preferred_element_type,
        **kwargs,
    )
