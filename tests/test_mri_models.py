"""fastMRI models: published parameter counts, NormUnet, sensitivities, VarNet cascade algebra."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from sciml.mri.models import (
    NormUnet,
    SensitivityModel,
    VarNet,
    VarNetBlock,
    count_parameters,
    fastmri_unet,
    low_frequency_window,
)
from sciml.mri.tasks import UnetTask, VarNetTask


def _abstract_count(build):
    return count_parameters(nnx.eval_shape(build))


@pytest.mark.parametrize(
    "variant,chans,expected",
    [("2018", 32, 3_348_227), ("2020", 32, 7_756_097), ("2020", 64, 31_023_745)],
)
def test_unet_parameter_counts_match_the_published_models(variant, chans, expected):
    count = _abstract_count(lambda: fastmri_unet(1, 1, chans, 4, variant=variant, rngs=nnx.Rngs(0)))
    assert count == expected


def test_varnet_parameter_count_matches_the_published_model():
    assert _abstract_count(lambda: VarNet(rngs=nnx.Rngs(0))) == 29_936_966


def test_unet_variants_differ_as_documented():
    old = nnx.eval_shape(lambda: fastmri_unet(1, 1, 32, 4, variant="2018", rngs=nnx.Rngs(0)))
    new = nnx.eval_shape(lambda: fastmri_unet(1, 1, 32, 4, variant="2020", rngs=nnx.Rngs(0)))
    assert (old.activation, old.down, old.up) == ("relu", "max", "linear")
    assert (new.activation, new.down, new.up) == ("leaky_relu", "avg", "transpose")
    assert len(old.head) == 3 and len(new.head) == 1
    assert old.encoder[0].conv1.conv.bias is not None
    assert new.encoder[0].conv1.conv.bias is None


def _zero_head(unet):
    head = unet.head[len(unet.head) - 1].conv
    head.kernel[...] = jnp.zeros_like(head.kernel[...])
    head.bias[...] = jnp.zeros_like(head.bias[...])


def test_norm_unet_denormalises_with_the_unbiased_statistics():
    model = NormUnet(2, 1, rngs=nnx.Rngs(0))
    _zero_head(model.unet)  # the U-Net outputs 0, so NormUnet returns the per-channel mean
    rng = np.random.default_rng(0)
    x = (rng.normal(1.0, 2.0, (2, 10, 13)) + 1j * rng.normal(-3.0, 0.5, (2, 10, 13))).astype(
        np.complex64
    )
    y = np.asarray(model(jnp.asarray(x)))  # odd sizes: padded to 16 x 16 and cropped back
    assert y.shape == x.shape
    expected = x.real.mean((1, 2)) + 1j * x.imag.mean((1, 2))
    np.testing.assert_allclose(y, np.broadcast_to(expected[:, None, None], x.shape), rtol=1e-5)


def test_low_frequency_window_follows_the_reference_rules():
    W = 32
    mask = np.zeros((2, W), bool)
    mask[:, 13:19] = True  # centre block of 6 = nlf for a (32 - 6 + 1) // 2 = 13 start
    mask[:, [2, 7, 25, 30]] = True
    start, n = low_frequency_window(jnp.asarray(mask))
    np.testing.assert_array_equal(np.asarray(start), [13, 13])
    np.testing.assert_array_equal(np.asarray(n), [6, 6])
    start, n = low_frequency_window(jnp.asarray(mask), jnp.asarray([4, 0]))
    np.testing.assert_array_equal(np.asarray(n), [4, 6])
    np.testing.assert_array_equal(np.asarray(start), [(W - 4 + 1) // 2, 13])


def _fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, (-2, -1)), norm="ortho"), (-2, -1))


def _ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, (-2, -1)), norm="ortho"), (-2, -1))


def test_varnet_cascade_and_sensitivities_against_numpy():
    rng = np.random.default_rng(1)
    shape = (1, 3, 16, 16)
    k_ref = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    mask = np.zeros((1, 16), bool)
    mask[:, 6:10] = True
    mask[:, [1, 13]] = True
    k_ref = np.where(mask[:, None, None, :], k_ref, 0)
    k = k_ref + 0.1 * (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)

    sens = SensitivityModel(2, 1, rngs=nnx.Rngs(0))
    maps = np.asarray(sens(jnp.asarray(k_ref), jnp.asarray(mask)))
    np.testing.assert_allclose(np.sum(np.abs(maps) ** 2, axis=1), 1.0, rtol=1e-5)

    block = VarNetBlock(2, 1, rngs=nnx.Rngs(1))
    block.dc_weight[...] = jnp.asarray([0.7], jnp.float32)
    out = np.asarray(
        block(jnp.asarray(k), jnp.asarray(k_ref), jnp.asarray(mask), jnp.asarray(maps))
    )
    reduced = np.sum(_ifft2c(k) * np.conj(maps), axis=1)
    refined = np.asarray(block.model(jnp.asarray(reduced.astype(np.complex64))))
    expected = (
        k - np.where(mask[:, None, None, :], k - k_ref, 0) * 0.7 - _fft2c(refined[:, None] * maps)
    )
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_varnet_trains_end_to_end_on_a_tiny_problem():
    model = VarNet(2, 2, 1, 2, 1, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(2)
    # fastMRI's intensity scale (~1e-4): the SSIM gradient must stay finite in float32.
    kspace = 1e-4 * (rng.normal(size=(1, 2, 16, 16)) + 1j * rng.normal(size=(1, 2, 16, 16)))
    kspace = kspace.astype(np.complex64)
    mask = np.zeros((1, 16), bool)
    mask[:, 6:10] = True
    mask[:, ::4] = True
    batch = {
        "masked_kspace": jnp.asarray(np.where(mask[:, None, None, :], kspace, 0)),
        "mask": jnp.asarray(mask),
        "num_low_frequencies": jnp.asarray([4], jnp.int32),
        "target": jnp.asarray(np.sqrt(np.sum(np.abs(_ifft2c(kspace)) ** 2, 1))[:, 2:14, 2:14]),
        "max_value": jnp.asarray([3e-4], jnp.float32),
    }
    task = VarNetTask()

    def loss(m):
        return task.loss(m, batch, key=jax.random.key(0), step=jnp.int32(0))

    (value, aux), grads = nnx.jit(nnx.value_and_grad(loss, has_aux=True))(model)
    assert 0.0 < float(value) < 2.0
    np.testing.assert_allclose(float(value), 1.0 - float(aux["ssim"]), rtol=1e-6)
    # The first cascade starts from the measured k-space, so only later dc weights get gradients.
    for g in (
        grads.cascades[1].dc_weight[...],
        grads.sens_net.norm_unet.unet.head[0].conv.bias[...],
    ):
        g = np.asarray(g)
        assert np.all(np.isfinite(g)) and np.abs(g).max() > 0


def test_unet_task_is_the_l1_loss():
    model = fastmri_unet(1, 1, 2, 1, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(3)
    batch = {
        "image": jnp.asarray(rng.normal(size=(2, 8, 8, 1)), jnp.float32),
        "target": jnp.asarray(rng.normal(size=(2, 8, 8, 1)), jnp.float32),
        "mean": jnp.asarray([1.0, 2.0]),
        "std": jnp.asarray([0.5, 3.0]),
    }
    loss, _ = UnetTask().loss(model, batch, key=jax.random.key(0), step=jnp.int32(0))
    pred = np.asarray(model(batch["image"]))
    np.testing.assert_allclose(
        float(loss), np.mean(np.abs(pred - np.asarray(batch["target"]))), rtol=1e-5
    )
    with pytest.raises(ValueError, match=r"mri_unet task: batch has no key\(s\) \['target'\]"):
        UnetTask().loss(model, {"image": batch["image"]}, key=jax.random.key(0), step=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="variant: expected one of"):
        fastmri_unet(variant="2019", rngs=nnx.Rngs(0))
    model = VarNet(1, 2, 1, 2, 1, rngs=nnx.Rngs(0))
    k = jnp.zeros((1, 2, 16, 16), jnp.complex64)
    with pytest.raises(ValueError, match=r"VarNet mask: expected shape \(batch, W\)"):
        model(k, jnp.ones((1, 8), bool))
    with pytest.raises(ValueError, match="VarNet masked_kspace: expected complex"):
        model(jnp.zeros((1, 2, 16, 16)), jnp.ones((1, 16), bool))
    with pytest.raises(ValueError, match="NormUnet input: expected a complex"):
        NormUnet(2, 1, rngs=nnx.Rngs(0))(jnp.zeros((1, 16, 16)))
