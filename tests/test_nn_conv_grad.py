"""The custom-VJP convolution (sciml.nn.conv_grad) against XLA's own gradients.

The reference is ``jax.grad`` through ``lax.conv_general_dilated`` itself (what the zoo uses with
``SCIML_CONV_GRAD=xla``); the custom path must agree to round-off in 1-D, 2-D and 3-D, for every
boundary condition of :class:`sciml.nn.Conv` and for strides, in float32, float64 and bfloat16,
under jit, vmap and a sharded jit on the 8 fake CPU devices of conftest.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sciml.nn import Conv
from sciml.nn.conv_grad import (
    conv_valid,
    grad_mode,
    uses_custom_vjp,
    uses_depth_taps,
    weight_grad_numpy,
)

# (spatial shape, kernel size, strides)
CASES = [
    ((11,), (3,), (1,)),
    ((12,), (4,), (2,)),
    ((9, 10), (3, 3), (1, 1)),
    ((9, 8), (3, 2), (2, 1)),
    ((6, 7, 5), (3, 3, 3), (1, 1, 1)),
    ((7, 6, 6), (3, 2, 3), (2, 2, 1)),
]


def _reference(x, k, strides):
    nd = x.ndim - 2
    spatial = "DHW"[3 - nd :]
    dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    return lax.conv_general_dilated(x, k, strides, "VALID", dimension_numbers=dn)


def _grads(fn, x, k, strides):
    def loss(x, k):
        y = fn(x, k, strides)
        return jnp.sum(
            jnp.sin(y.astype(jnp.float32)) * jnp.arange(y.size).reshape(y.shape) / y.size
        )

    return jax.jit(jax.grad(loss, argnums=(0, 1)))(x, k)


@pytest.fixture
def numpy_mode(monkeypatch):
    monkeypatch.setenv("SCIML_CONV_GRAD", "numpy")


def _data(spatial, ksize, dtype, seed=0, batch=2, cin=3, cout=4):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=(batch, *spatial, cin)), dtype)
    k = jnp.asarray(rng.normal(size=(*ksize, cin, cout)), dtype)
    return x, k


@pytest.mark.parametrize("spatial,ksize,strides", CASES)
def test_gradients_equal_xla_float32(numpy_mode, spatial, ksize, strides):
    x, k = _data(spatial, ksize, jnp.float32)
    dx, dk = _grads(lambda x, k, s: conv_valid(x, k, s), x, k, strides)
    rx, rk = _grads(_reference, x, k, strides)
    np.testing.assert_allclose(dx, rx, rtol=0, atol=1e-6 * float(jnp.abs(rx).max()))
    np.testing.assert_allclose(dk, rk, rtol=0, atol=2e-6 * float(jnp.abs(rk).max()))


def test_gradients_equal_xla_float64(numpy_mode, x64):
    for spatial, ksize, strides in (CASES[1], CASES[3], CASES[5]):
        x, k = _data(spatial, ksize, jnp.float64, seed=1)
        dx, dk = _grads(lambda x, k, s: conv_valid(x, k, s), x, k, strides)
        rx, rk = _grads(_reference, x, k, strides)
        assert dk.dtype == jnp.float64
        np.testing.assert_allclose(dx, rx, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(dk, rk, rtol=1e-12, atol=1e-13)


def test_bfloat16_gradient_is_float32_accurate(numpy_mode):
    """bf16 kernels: the host sums in float32, so dK is XLA's float32 gradient rounded to bf16."""
    x, k = _data((9, 10), (3, 3), jnp.bfloat16, seed=2)
    _, dk = _grads(lambda x, k, s: conv_valid(x, k, s), x, k, (1, 1))
    _, rk = _grads(_reference, x.astype(jnp.float32), k.astype(jnp.float32), (1, 1))
    assert dk.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(dk, np.float32), rk, rtol=2**-7, atol=2**-7 * float(jnp.abs(rk).max())
    )


def _module_reference(x, kernel, bias, boundary, strides):
    """XLA's own convolution of the boundary-padded input: halo indices from ``np.pad`` (wrap or
    reflect), zero padding as the convolution's own ``padding`` argument, none for ghost."""
    nd = x.ndim - 2
    spatial = "DHW"[3 - nd :]
    dn = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    padding = "VALID"
    if boundary in ("periodic", "reflect"):
        mode = "wrap" if boundary == "periodic" else "reflect"
        for axis in range(1, nd + 1):
            index = np.pad(np.arange(x.shape[axis]), 1, mode=mode)
            x = jnp.take(x, index, axis=axis)
    elif boundary == "zero":
        padding = [(1, 1)] * nd
    return lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=dn) + bias


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_conv_module_gradients_every_boundary_and_stride(monkeypatch, ndim):
    """Input, kernel and bias gradients of sciml.nn.Conv (3-cell kernel) equal jax.grad through
    lax.conv_general_dilated itself, for every boundary and strides 1 and 2, on the default path
    (SCIML_CONV_GRAD=xla) and on the custom VJP (numpy): float32 round-off. One jit per path
    holds all eight (boundary, stride) cases, to compile three times per ndim, not 24."""
    spatial = {1: (10,), 2: (8, 7), 3: (5, 6, 4)}[ndim]
    x = jnp.asarray(np.random.default_rng(3).normal(size=(2, *spatial, 3)), jnp.float32)
    cases = [(b, s) for b in ("periodic", "zero", "reflect", "ghost") for s in (1, 2)]
    convs = [
        Conv(3, 4, 3, ndim=ndim, boundary=b, strides=s, rngs=nnx.Rngs(i))
        for i, (b, s) in enumerate(cases)
    ]
    split = [nnx.split(c, nnx.Param) for c in convs]
    graphdefs, params = [g for g, _ in split], [p for _, p in split]

    def loss(y):
        return jnp.sum(jnp.tanh(y) ** 2)

    def reference(x, kernels, biases):
        return [
            jax.grad(
                lambda x, k, b, bnd=bnd, s=s: loss(_module_reference(x, k, b, bnd, (s,) * ndim)),
                argnums=(0, 1, 2),
            )(x, k, b)
            for (bnd, s), k, b in zip(cases, kernels, biases, strict=True)
        ]

    def ours(params, x):
        out = []
        for g, p in zip(graphdefs, params, strict=True):
            gp, gx = jax.grad(lambda p, x, g=g: loss(nnx.merge(g, p)(x)), argnums=(0, 1))(p, x)
            out.append((gx, gp["conv"]["kernel"][...], gp["conv"]["bias"][...]))
        return out

    kernels = [c.conv.kernel[...] for c in convs]
    biases = [c.conv.bias[...] for c in convs]
    ref = jax.jit(reference)(x, kernels, biases)
    for mode in ("xla", "numpy"):
        monkeypatch.setenv("SCIML_CONV_GRAD", mode)  # read when traced: a new jit per mode
        got = jax.jit(lambda p, x: ours(p, x))(params, x)
        for (boundary, stride), a3, b3 in zip(cases, got, ref, strict=True):
            for name, a, b in zip(("input", "kernel", "bias"), a3, b3, strict=True):
                np.testing.assert_allclose(
                    a,
                    b,
                    rtol=0,
                    atol=(1e-6 if name == "input" else 2e-6) * float(jnp.abs(b).max()),
                    err_msg=f"{name} gradient, {boundary}, stride {stride}, {mode}",
                )


def test_custom_vjp_only_on_cpu():
    """The decision: the custom VJP only for backend "cpu" with SCIML_CONV_GRAD=numpy."""
    assert uses_custom_vjp("cpu", "numpy")
    assert not uses_custom_vjp("cpu", "xla")
    for backend in ("gpu", "cuda", "rocm", "tpu", "METAL"):
        assert not uses_custom_vjp(backend, "numpy"), backend


@pytest.mark.parametrize("backend,callback", [("cpu", True), ("gpu", False), ("tpu", False)])
def test_accelerators_trace_xla_convolution(numpy_mode, monkeypatch, backend, callback):
    """With the default backend an accelerator, the traced gradient is XLA's own convolution
    (no custom VJP, no host callback) even with SCIML_CONV_GRAD=numpy."""
    import sciml.nn.conv_grad as cg

    monkeypatch.setattr(cg, "_backend", lambda: backend)
    x, k = _data((6, 5), (3, 3), jnp.float32)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda k: jnp.sum(conv_valid(x, k) ** 2)))(k))
    assert ("pure_callback" in jaxpr) is callback
    assert ("branches_platforms" in jaxpr) is callback  # the custom VJP's platform switch


@pytest.mark.parametrize("backend,barrier", [("cpu", True), ("gpu", False), ("tpu", False)])
def test_input_barrier_only_on_cpu(monkeypatch, backend, barrier):
    """On CPU the input goes through an optimization barrier (XLA then transposes the padded
    input it already holds for the weight gradient instead of recomputing the padding inside
    the transpose); accelerators keep XLA's pad folding. Forward-mode AD still works: the
    convolution is linear in ``x``, so its JVP is the convolution of the tangent."""
    import sciml.nn.conv_grad as cg

    monkeypatch.delenv("SCIML_CONV_GRAD", raising=False)
    monkeypatch.setattr(cg, "_backend", lambda: backend)
    assert cg.uses_input_barrier(backend) is barrier
    x, k = _data((6, 5), (3, 3), jnp.float32)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda k: jnp.sum(conv_valid(x, k) ** 2)))(k))
    assert ("optimization_barrier" in jaxpr) is barrier
    tx = jnp.cos(x)
    y, ty = jax.jvp(lambda x: conv_valid(x, k), (x,), (tx,))
    np.testing.assert_allclose(
        y, _reference(x, k, (1, 1)), rtol=0, atol=1e-6 * float(jnp.abs(y).max())
    )
    np.testing.assert_allclose(
        ty, _reference(tx, k, (1, 1)), rtol=0, atol=1e-6 * float(jnp.abs(ty).max())
    )


@pytest.mark.parametrize("spatial,ksize,strides", CASES[4:])
def test_depth_taps_equal_xla_3d(monkeypatch, spatial, ksize, strides):
    """The default CPU path of 3-D convolutions (2-D convolutions over depth taps): output and
    both gradients equal XLA's 3-D convolution to float32 round-off, odd/even kernels, strides."""
    monkeypatch.delenv("SCIML_CONV_GRAD", raising=False)
    monkeypatch.delenv("SCIML_CONV3D", raising=False)
    x, k = _data(spatial, ksize, jnp.float32, seed=6)
    jaxpr = str(jax.make_jaxpr(lambda x, k: conv_valid(x, k, strides))(x, k))
    assert jaxpr.count("conv_general_dilated") == ksize[0]  # one 2-D convolution per depth tap
    y, r = conv_valid(x, k, strides), _reference(x, k, strides)
    np.testing.assert_allclose(y, r, rtol=0, atol=1e-6 * float(jnp.abs(r).max()))
    # the forward sums differ by round-off (|y| ~ 10); sin'(y) carries that into the gradients
    dx, dk = _grads(lambda x, k, s: conv_valid(x, k, s), x, k, strides)
    rx, rk = _grads(_reference, x, k, strides)
    np.testing.assert_allclose(dx, rx, rtol=0, atol=1e-5 * float(jnp.abs(rx).max()))
    np.testing.assert_allclose(dk, rk, rtol=0, atol=1e-5 * float(jnp.abs(rk).max()))


def test_depth_taps_only_for_3d_on_cpu(monkeypatch):
    monkeypatch.delenv("SCIML_CONV3D", raising=False)
    assert uses_depth_taps("cpu", 3)
    assert not uses_depth_taps("cpu", 2)
    for backend in ("gpu", "cuda", "rocm", "tpu"):
        assert not uses_depth_taps(backend, 3), backend
    monkeypatch.setenv("SCIML_CONV3D", "xla")
    assert not uses_depth_taps("cpu", 3)
    monkeypatch.setenv("SCIML_CONV3D", "fast")
    with pytest.raises(ValueError, match=r"SCIML_CONV3D: expected one of \['taps', 'xla'\]"):
        uses_depth_taps("cpu", 3)


def test_weight_grad_numpy_blocks_equal_one_gemm(monkeypatch):
    """Row blocks smaller than the image (many GEMMs accumulated) give the one-block result."""
    import sciml.nn.conv_grad as cg

    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 13, 11, 3))
    dy = rng.normal(size=(2, 6, 9, 5))
    whole = weight_grad_numpy(x, dy, (3, 3, 3, 5), (2, 1))
    monkeypatch.setattr(cg, "_BLOCK_BYTES", 64)
    blocks = weight_grad_numpy(x, dy, (3, 3, 3, 5), (2, 1))
    # direct sum: dK[t, c, o] = sum_{n, p} x[n, s p + t, c] dy[n, p, o]
    direct = np.zeros((3, 3, 3, 5))
    for a in range(3):
        for b in range(3):
            direct[a, b] = np.einsum("nijc,nijo->co", x[:, a : a + 12 : 2, b : b + 9], dy)
    np.testing.assert_allclose(whole, direct, rtol=1e-12)
    np.testing.assert_allclose(blocks, direct, rtol=1e-12)


def test_vmap_and_sharded_jit(numpy_mode):
    """vmap over an ensemble of kernels, and a jit whose batch is sharded over 8 devices."""
    x, _ = _data((8, 8), (3, 3), jnp.float32, batch=8)
    ks = jnp.asarray(np.random.default_rng(5).normal(size=(3, 3, 3, 3, 4)), jnp.float32)

    def loss(k, x, fn):
        return jnp.sum(fn(x, k, (1, 1)) ** 2)

    ours = jax.jit(jax.vmap(jax.grad(lambda k, x: loss(k, x, conv_valid)), (0, None)))(ks, x)
    ref = jax.vmap(jax.grad(lambda k, x: loss(k, x, _reference)), (0, None))(ks, x)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6 * float(jnp.abs(ref).max()))

    mesh = Mesh(np.array(jax.devices()[:8]), ("data",))
    xs = jax.device_put(x, NamedSharding(mesh, PartitionSpec("data")))
    k0 = jax.device_put(ks[0], NamedSharding(mesh, PartitionSpec()))
    sharded = jax.jit(jax.grad(lambda k, x: loss(k, x, conv_valid)))(k0, xs)
    np.testing.assert_allclose(sharded, ref[0], rtol=0, atol=2e-6 * float(jnp.abs(ref[0]).max()))


def test_bad_mode_is_one_line_error(monkeypatch):
    monkeypatch.setenv("SCIML_CONV_GRAD", "fast")
    with pytest.raises(ValueError, match=r"SCIML_CONV_GRAD: expected one of \['xla', 'numpy'\]"):
        grad_mode()
