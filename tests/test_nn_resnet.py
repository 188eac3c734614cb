"""Residual blocks: identity at a zero residual branch, projection shortcuts, equivariance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sciml.nn import ResidualBlock, ResNet


def _zero_last_conv(block):
    last = block.convs[len(block.convs) - 1].conv
    last.kernel[...] = jnp.zeros_like(last.kernel[...])
    last.bias[...] = jnp.zeros_like(last.bias[...])


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
def test_pre_activation_block_is_identity_when_residual_is_zero(kind):
    block = ResidualBlock(
        8, ndim=2, kind=kind, order="pre", norm="group", norm_groups=2, rngs=nnx.Rngs(0)
    )
    x = jax.random.normal(jax.random.key(0), (2, 6, 6, 8))
    assert np.abs(np.asarray(block(x) - x)).max() > 1e-3
    _zero_last_conv(block)
    np.testing.assert_allclose(np.asarray(block(x)), np.asarray(x), rtol=0, atol=0)


def test_post_activation_block_is_activated_identity_when_residual_is_zero():
    block = ResidualBlock(4, ndim=1, order="post", activation="relu", norm="none", rngs=nnx.Rngs(0))
    _zero_last_conv(block)
    x = jax.random.normal(jax.random.key(1), (2, 10, 4))
    np.testing.assert_allclose(np.asarray(block(x)), np.maximum(np.asarray(x), 0.0), atol=0)


def test_projection_shortcut_changes_channels():
    block = ResidualBlock(3, 5, ndim=3, norm="instance", rngs=nnx.Rngs(0))
    assert block.shortcut is not None
    assert block(jnp.ones((1, 2, 2, 2, 3))).shape == (1, 2, 2, 2, 5)


def test_periodic_resnet_is_translation_equivariant(x64):
    model = ResNet(
        2, 1, ndim=2, width=4, num_blocks=2, norm="instance", boundary="periodic", rngs=nnx.Rngs(0)
    )
    x = jax.random.normal(jax.random.key(2), (1, 8, 8, 2), dtype=jnp.float64)
    f = nnx.jit(lambda m, v: m(v))
    y = f(model, x)
    assert y.shape == (1, 8, 8, 1)
    np.testing.assert_allclose(
        np.asarray(f(model, jnp.roll(x, (3, 5), (1, 2)))),
        np.asarray(jnp.roll(y, (3, 5), (1, 2))),
        rtol=0,
        atol=1e-12,
    )


def test_resnet_gradients_flow():
    model = ResNet(1, 1, ndim=1, width=4, num_blocks=2, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (2, 16, 1))
    grads = nnx.grad(lambda m: jnp.mean((m(x) - x) ** 2))(model)
    for g in jax.tree.leaves(nnx.state(grads, nnx.Param)):
        assert np.all(np.isfinite(np.asarray(g)))
        assert np.abs(np.asarray(g)).max() > 0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(order="middle"), "order: expected one of"),
        (dict(kind="wide"), "kind: expected one of"),
        (dict(activation="mish"), "activation: expected one of"),
        (dict(norm="layer"), "norm: expected one of"),
    ],
)
def test_bad_block_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResidualBlock(4, ndim=1, **kwargs, rngs=nnx.Rngs(0))


def test_bad_resnet_input_rank():
    model = ResNet(1, 1, ndim=2, width=2, num_blocks=1, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="ResNet input: expected rank 4"):
        model(jnp.ones((4, 4, 1)))
