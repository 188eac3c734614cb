"""Zoo U-Net: shapes in 1D/2D/3D, exact periodic equivariance, gradients, every option, helpers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sciml.nn import Norm, UNet
from sciml.nn.unet import UpConv, pool, upsample_linear


def _apply(model, x):
    return nnx.jit(lambda m, v: m(v))(model, x)


@pytest.mark.parametrize(
    "ndim,depth,down,up",
    [(1, 2, "conv", "linear"), (2, 2, "max", "transpose"), (3, 1, "avg", "linear")],
)
def test_periodic_unet_shapes_and_exact_translation_equivariance(x64, ndim, depth, down, up):
    model = UNet(
        1,
        2,
        ndim=ndim,
        width=2,
        depth=depth,
        down=down,
        up=up,
        boundary="periodic",
        rngs=nnx.Rngs(1),
    )
    n = 4 * 2**depth if ndim < 3 else 4
    x = jax.random.normal(jax.random.key(3), (1, *(n,) * ndim, 1), dtype=jnp.float64)
    f = nnx.jit(lambda m, v: m(v))
    y = f(model, x)
    shift = (2**depth, 3 * 2**depth)[: min(ndim, 2)]
    axes = tuple(range(1, 1 + len(shift)))
    np.testing.assert_allclose(
        np.asarray(f(model, jnp.roll(x, shift, axes))),
        np.asarray(jnp.roll(y, shift, axes)),
        rtol=0,
        atol=1e-12,
    )
    assert y.shape == (1, *(n,) * ndim, 2)
    # A shift by one cell is not a symmetry of the pooled network: the test can fail.
    off = np.abs(np.asarray(f(model, jnp.roll(x, 1, 1)) - jnp.roll(y, 1, 1))).max()
    assert off > 1e-6


def test_zero_boundary_is_not_periodic_and_odd_sizes_are_padded():
    model = UNet(1, 1, ndim=1, width=2, depth=1, boundary="zero", rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (1, 17, 1))
    y = _apply(model, x)
    assert y.shape == (1, 17, 1)  # the up-sampled 16 cells are reflect-padded to the skip's 17
    ys = _apply(model, jnp.roll(x, 2, 1))
    assert np.abs(np.asarray(ys - jnp.roll(y, 2, 1))).max() > 1e-4


def test_gradients_reach_every_parameter():
    model = UNet(
        1,
        1,
        ndim=2,
        width=2,
        depth=2,
        norm="group",
        norm_groups=2,
        norm_affine=True,
        up_norm=True,
        rngs=nnx.Rngs(0),
    )
    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 1))

    def loss(m):
        return jnp.mean((m(x) - x) ** 2)

    grads = nnx.jit(nnx.grad(loss))(model)
    leaves = jax.tree.leaves(nnx.state(grads, nnx.Param))
    assert len(leaves) > 10
    for g in leaves:
        g = np.asarray(g)
        assert np.all(np.isfinite(g))
        assert np.abs(g).max() > 0


@pytest.mark.parametrize(
    "norm,down,up", [("batch", "conv", "transpose"), ("none", "max", "linear")]
)
def test_every_option_builds_and_runs(norm, down, up):
    model = UNet(
        1,
        1,
        ndim=1,
        width=2,
        depth=1,
        norm=norm,
        norm_groups=2,
        down=down,
        up=up,
        activation="leaky_relu",
        boundary="zero",
        rngs=nnx.Rngs(0),
    )
    y = _apply(model, jnp.linspace(0.0, 1.0, 16).reshape(2, 8, 1))
    assert y.shape == (2, 8, 1)
    assert np.all(np.isfinite(np.asarray(y)))


def test_upsample_linear_matches_half_pixel_resize():
    x = jax.random.normal(jax.random.key(0), (1, 5, 6, 2))
    ours = upsample_linear(x, "zero")
    ref = jax.image.resize(x, (1, 10, 12, 2), method="linear", antialias=False)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(ref), rtol=0, atol=1e-6)
    # Periodic: equals the middle copy of the edge-clamped up-sampling of a thrice tiled field.
    xp = np.asarray(x[:, :, :1])
    tiled = upsample_linear(jnp.asarray(np.tile(xp, (1, 3, 1, 1))), "zero")
    np.testing.assert_allclose(
        np.asarray(upsample_linear(jnp.asarray(xp), "periodic")),
        np.asarray(tiled[:, 10:20]),
        rtol=0,
        atol=1e-6,
    )


def test_pool_matches_numpy():
    x = np.random.default_rng(0).normal(size=(2, 6, 4, 3)).astype(np.float32)
    blocks = x.reshape(2, 3, 2, 2, 2, 3)
    np.testing.assert_allclose(np.asarray(pool(jnp.asarray(x), "max")), blocks.max((2, 4)))
    np.testing.assert_allclose(
        np.asarray(pool(jnp.asarray(x), "avg")), blocks.mean((2, 4)), rtol=1e-6
    )


def test_instance_and_group_norm_match_numpy():
    x = np.random.default_rng(1).normal(2.0, 3.0, size=(2, 5, 4, 6)).astype(np.float32)
    y = np.asarray(Norm("instance", 6, rngs=nnx.Rngs(0))(jnp.asarray(x)))
    mu = x.mean((1, 2), keepdims=True)
    ref = (x - mu) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    g = np.asarray(Norm("group", 6, groups=3, rngs=nnx.Rngs(0))(jnp.asarray(x)))
    xg = x.reshape(2, 5, 4, 3, 2)
    ref = (xg - xg.mean((1, 2, 4), keepdims=True)) / np.sqrt(
        xg.var((1, 2, 4), keepdims=True) + 1e-5
    )
    np.testing.assert_allclose(g, ref.reshape(x.shape), rtol=1e-5, atol=1e-5)


def test_batch_norm_uses_running_statistics_in_eval_mode():
    norm = Norm("batch", 2, momentum=0.0, rngs=nnx.Rngs(0))
    x = jnp.asarray(np.random.default_rng(2).normal(5.0, 2.0, size=(4, 8, 2)), jnp.float32)
    y = norm(x)  # training mode: batch statistics, running averages set (momentum 0)
    np.testing.assert_allclose(np.asarray(y.mean((0, 1))), 0.0, atol=1e-5)
    norm.eval()
    np.testing.assert_allclose(np.asarray(norm(x)), np.asarray(y), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(down="stride"), "down: expected one of"),
        (dict(up="nearest"), "up: expected one of"),
        (dict(norm="layer"), "norm: expected one of"),
        (dict(activation="mish"), "activation: expected one of"),
        (dict(boundary="ghost"), "boundary: expected 'periodic'"),
        (dict(decoder_channels=(2,)), "decoder_channels: expected 2 widths"),
        (dict(norm="group", norm_groups=3), "groups: expected a divisor"),
        (dict(ndim=4), "ndim: expected 1, 2 or 3"),
    ],
)
def test_bad_configuration(kwargs, match):
    args = dict(ndim=1, width=2, depth=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        UNet(1, 1, **args, rngs=nnx.Rngs(0))


def test_bad_input_shapes():
    model = UNet(1, 1, ndim=2, width=2, depth=2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"UNet input: expected rank 4"):
        model(jnp.ones((8, 8, 1)))
    with pytest.raises(ValueError, match=r"expected every spatial size >= 2\*\*depth = 4"):
        model(jnp.ones((1, 8, 2, 1)))


def test_up_conv_is_the_non_overlapping_transposed_convolution():
    up = UpConv(3, 2, ndim=2, use_bias=True, rngs=nnx.Rngs(0))
    up.bias[...] = jnp.asarray([0.5, -1.0])
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 3)).astype(np.float32)
    k = np.asarray(up.kernel[...])
    ref = np.zeros((2, 6, 8, 2), np.float32)
    for a in range(2):
        for b in range(2):
            ref[:, a::2, b::2] = x @ k[a, b] + np.array([0.5, -1.0])
    np.testing.assert_allclose(np.asarray(up(jnp.asarray(x))), ref, rtol=1e-5, atol=1e-5)
    # ... and equals XLA's transposed convolution with the kernel flipped.
    lax = jax.lax.conv_transpose(
        jnp.asarray(x),
        jnp.asarray(k[::-1, ::-1]),
        (2, 2),
        "VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    np.testing.assert_allclose(np.asarray(lax) + np.array([0.5, -1.0]), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_up_conv_gradients_equal_xla_transposed_convolution(x64, ndim):
    """Both gradients of the kernel-2 UpConv (a 1x1 convolution + depth-to-space) equal those of
    XLA's stride-2 transposed convolution with the flipped kernel, in float64."""
    up = UpConv(3, 2, ndim=ndim, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.normal(size=(2, *(3, 4, 2)[:ndim], 3)))
    k = jnp.asarray(rng.normal(size=(2,) * ndim + (3, 2)))
    sp = "DHW"[3 - ndim :]
    dn = (f"N{sp}C", f"{sp}IO", f"N{sp}C")
    flip = (slice(None, None, -1),) * ndim

    graphdef, state = nnx.split(up)

    def ours(x, k):
        state["kernel"] = nnx.Param(k)
        return jnp.sum(jnp.sin(nnx.merge(graphdef, state)(x)))

    def ref(x, k):
        y = jax.lax.conv_transpose(x, k[flip], (2,) * ndim, "VALID", dimension_numbers=dn)
        return jnp.sum(jnp.sin(y))

    for a, b in zip(jax.grad(ours, (0, 1))(x, k), jax.grad(ref, (0, 1))(x, k), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * float(jnp.abs(b).max()))


@pytest.mark.parametrize("boundary", ["periodic", "zero"])
def test_upconv_kernel3_matches_scatter_definition(x64, boundary):
    # y[2i + a - 1] += x[i] @ K[a] per axis; x[n] wraps (periodic) or is zero.
    up = UpConv(3, 2, ndim=2, kernel_size=3, boundary=boundary, use_bias=False, rngs=nnx.Rngs(0))
    x = np.random.default_rng(0).normal(size=(2, 4, 6, 3))
    y = np.asarray(up(jnp.asarray(x)))
    K = np.asarray(up.kernel[...])
    ref = np.zeros((2, 8, 12, 2))
    for a in range(3):
        for b in range(3):
            z = np.zeros_like(ref)
            z[:, ::2, ::2] = x @ K[a, b]
            if boundary == "zero":
                z[:, 0] *= a != 0
                z[:, :, 0] *= b != 0
            ref += np.roll(z, (a - 1, b - 1), (1, 2))
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)
