"""sciml.mri.transforms against NumPy references and analytic facts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sciml.mri import (
    UnetDataTransform,
    VarNetDataTransform,
    apply_mask,
    center_crop,
    complex_abs,
    fft2c,
    ifft2c,
    mask_func,
    mask_kspace,
    normalize_instance,
    rss,
    rss_complex,
    seed_from_name,
    zero_filled,
)

AXES = (-2, -1)
TOL = {np.complex64: 2e-5, np.complex128: 1e-12}


def np_fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=AXES), norm="ortho"), axes=AXES)


def np_ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=AXES), norm="ortho"), axes=AXES)


def crandn(rng, shape, dtype=np.complex64):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("shape", [(2, 5, 7), (3, 8, 6), (1, 2, 9, 4)])
def test_fft2c_matches_numpy_and_round_trips(shape):
    x = crandn(np.random.default_rng(0), shape)
    tol = TOL[np.complex64]
    np.testing.assert_allclose(fft2c(x), np_fft2c(x), atol=tol * 4, rtol=tol)
    np.testing.assert_allclose(ifft2c(x), np_ifft2c(x), atol=tol * 4, rtol=tol)
    np.testing.assert_allclose(ifft2c(fft2c(x)), x, atol=tol * 4, rtol=tol)
    # Orthonormal: Parseval.
    np.testing.assert_allclose(
        np.sum(np.abs(np.asarray(fft2c(x))) ** 2), np.sum(np.abs(x) ** 2), rtol=1e-5
    )


def test_fft2c_float64_and_dc_position(x64):
    # A constant image c has all its energy at the centre index (H // 2, W // 2): sqrt(HW) c.
    H, W, c = 5, 6, 0.7 + 0.2j
    k = np.asarray(fft2c(np.full((H, W), c, np.complex128)))
    expected = np.zeros((H, W), np.complex128)
    expected[H // 2, W // 2] = np.sqrt(H * W) * c
    np.testing.assert_allclose(k, expected, atol=1e-12)
    x = crandn(np.random.default_rng(1), (3, 7, 5), np.complex128)
    np.testing.assert_allclose(fft2c(x), np_fft2c(x), atol=1e-12)


def test_fft2c_under_jit_and_real_input_error():
    x = crandn(np.random.default_rng(2), (4, 6))
    np.testing.assert_allclose(jax.jit(fft2c)(x), np_fft2c(x), atol=1e-5)
    with pytest.raises(ValueError, match=r"fft2c: expected a complex array.*found dtype float32"):
        fft2c(np.ones((4, 4), np.float32))


def test_abs_rss_crop_normalize():
    rng = np.random.default_rng(3)
    x = crandn(rng, (2, 4, 7, 9))
    np.testing.assert_allclose(complex_abs(x), np.abs(x), rtol=1e-6)
    np.testing.assert_allclose(rss_complex(x), np.sqrt(np.sum(np.abs(x) ** 2, axis=1)), rtol=1e-5)
    np.testing.assert_allclose(rss(np.abs(x), axis=0), np.sqrt((np.abs(x) ** 2).sum(0)), rtol=1e-5)

    a = np.arange(7 * 9).reshape(7, 9)
    # Start at ((7 - 4) // 2, (9 - 4) // 2) = (1, 2).
    np.testing.assert_array_equal(center_crop(a, (4, 4)), a[1:5, 2:6])
    np.testing.assert_array_equal(center_crop(a, (7, 9)), a)
    with pytest.raises(ValueError, match=r"center_crop: expected a crop size.*found \(8, 4\)"):
        center_crop(a, (8, 4))

    y = rng.standard_normal((5, 6)).astype(np.float32)
    out, _, std = normalize_instance(y, eps=1e-11)
    np.testing.assert_allclose(std, np.std(y, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(
        out, (y - y.mean()) / (np.std(y, ddof=1) + 1e-11), rtol=1e-4, atol=1e-5
    )


def test_mask_kspace_removes_negative_zeros_under_jit():
    k = np.array([[-0.0 - 0.0j, -1.0 + 0.0j, 2.0 - 0.0j, -0.0 + 3.0j]], np.complex64)
    k.real[0, 0], k.imag[0, 0] = -0.0, -0.0
    k.imag[0, 2] = -0.0
    mask = np.array([1, 0, 1, 1], np.float32)
    reference = k * mask + 0.0  # NumPy keeps the + 0.0, as the PyTorch reference does
    for fn in (mask_kspace, jax.jit(mask_kspace)):
        out = np.asarray(fn(k, mask))
        np.testing.assert_array_equal(out, reference)
        assert not np.signbit(out.real).any()
        assert not np.signbit(out.imag).any()
        np.testing.assert_array_equal(np.signbit(out.real), np.signbit(reference.real))
    ref_layout = mask.reshape(1, 1, 4, 1)
    np.testing.assert_array_equal(np.asarray(mask_kspace(k, ref_layout)), reference)
    with pytest.raises(ValueError, match=r"mask: expected length 4.*found mask shape \(5,\)"):
        mask_kspace(k, np.ones(5))


def test_apply_mask_padding_and_draws():
    k = crandn(np.random.default_rng(4), (3, 16, 32))
    f = mask_func("random", [0.125], [4])
    masked, mask, nlf = apply_mask(k, f, seed=seed_from_name("a.h5"), padding=(3, 29))
    expected_mask, expected_nlf = f.sample(32, seed=seed_from_name("a.h5"))
    expected_mask[:3] = 0
    expected_mask[29:] = 0
    np.testing.assert_array_equal(mask, expected_mask)
    assert nlf == expected_nlf == 4
    np.testing.assert_array_equal(np.asarray(masked), k * expected_mask + 0.0)


def reference_unet(kspace, mask, target, multicoil):
    masked = kspace * mask + 0.0
    image = np_ifft2c(masked.astype(np.complex128))
    crop = target.shape[-2:]
    if image.shape[-1] < crop[1]:
        crop = (image.shape[-1], image.shape[-1])
    h, w = crop
    top, left = (image.shape[-2] - h) // 2, (image.shape[-1] - w) // 2
    image = np.abs(image[..., top : top + h, left : left + w])
    if multicoil:
        image = np.sqrt((image**2).sum(0))
    mean, std = image.mean(), image.std(ddof=1)
    out = np.clip((image - mean) / (std + 1e-11), -6, 6)
    t = target[(target.shape[0] - h) // 2 :, (target.shape[1] - w) // 2 :][:h, :w]
    return out, np.clip((t - mean) / (std + 1e-11), -6, 6), mean, std


@pytest.mark.parametrize(
    "kshape,tshape", [((20, 15), (12, 11)), ((3, 24, 18), (14, 14)), ((24, 10), (16, 16))]
)
def test_unet_transform_matches_reference_pipeline(kshape, tshape):
    rng = np.random.default_rng(5)
    multicoil = len(kshape) == 3
    kspace = crandn(rng, kshape)
    target = rng.random(tshape).astype(np.float32) * 3
    f = mask_func("random", [0.2], [3])
    t = UnetDataTransform("multicoil" if multicoil else "singlecoil", f, use_seed=True)
    out = t(kspace, None, target, {"max": 3.0}, "file7.h5", 0)
    mask, _ = f.sample(kshape[-1], seed=seed_from_name("file7.h5"))
    image, tgt, mean, std = reference_unet(kspace, mask, target, multicoil)
    assert out["image"].shape == (*image.shape, 1) and out["image"].dtype == np.float32
    np.testing.assert_allclose(out["image"][..., 0], image, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out["target"][..., 0], tgt, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-5)
    np.testing.assert_allclose(out["std"], std, rtol=1e-5)
    assert out["max_value"] == np.float32(3.0)
    # Same file name -> same mask -> same input; use_seed=False draws fresh masks.
    np.testing.assert_array_equal(t(kspace, None, target, {}, "file7.h5", 3)["image"], out["image"])
    fresh = UnetDataTransform("multicoil" if multicoil else "singlecoil", f, use_seed=False)
    assert not np.array_equal(fresh(kspace, None, target, {}, "file7.h5", 0)["image"], out["image"])


def test_unet_transform_without_target_uses_recon_size_and_errors():
    kspace = crandn(np.random.default_rng(6), (16, 12))
    out = UnetDataTransform("singlecoil")(kspace, None, None, {"recon_size": (8, 8, 1)}, "x.h5", 0)
    assert out["image"].shape == (8, 8, 1) and "target" not in out
    with pytest.raises(ValueError, match=r"x.h5: expected a k-space slice \(H, W\) of rank 2"):
        UnetDataTransform("singlecoil")(kspace[None], None, None, {}, "x.h5", 0)
    with pytest.raises(ValueError, match=r"challenge: expected one of singlecoil, multicoil"):
        UnetDataTransform("dualcoil")


def test_zero_filled_is_exact_for_full_sampling():
    rng = np.random.default_rng(7)
    image = crandn(rng, (3, 10, 12))
    out = zero_filled(np_fft2c(image), (6, 8), multicoil=True)
    np.testing.assert_allclose(out, np.sqrt((np.abs(image[:, 2:8, 2:10]) ** 2).sum(0)), rtol=1e-4)


def test_varnet_transform_padding_and_file_mask():
    rng = np.random.default_rng(8)
    kspace = crandn(rng, (2, 16, 20))
    attrs = {"padding_left": 2, "padding_right": 18, "recon_size": (8, 8, 1), "max": 5.0}
    target = rng.random((8, 8)).astype(np.float32)
    f = mask_func("equispaced", [0.1], [4])
    out = VarNetDataTransform(f)(kspace, None, target, attrs, "v.h5", 0)
    mask, nlf = f.sample(20, seed=seed_from_name("v.h5"))
    mask[:2] = 0
    mask[18:] = 0
    np.testing.assert_array_equal(out["mask"], mask != 0)
    np.testing.assert_array_equal(out["masked_kspace"], kspace * mask + 0.0)
    assert out["num_low_frequencies"] == nlf == 2
    np.testing.assert_array_equal(out["crop_size"], [8, 8])
    assert out["max_value"] == 5.0 and out["target"].shape == (8, 8)

    file_mask = np.ones(20, bool)
    out = VarNetDataTransform()(kspace[0], file_mask, None, attrs, "v.h5", 0)
    assert out["masked_kspace"].shape == (1, 16, 20)
    assert out["mask"].sum() == 16 and out["num_low_frequencies"] == 0
    assert "target" not in out and out["max_value"] == 0.0
    with pytest.raises(ValueError, match=r"no mask function and no 'mask' in the file"):
        VarNetDataTransform()(kspace, None, None, attrs, "v.h5", 0)


def test_transforms_are_differentiable():
    x = crandn(np.random.default_rng(9), (6, 6))

    def loss(re):
        return jnp.sum(complex_abs(ifft2c(fft2c(re + 1j * jnp.imag(x)))) ** 2)

    g = jax.jit(jax.grad(loss))(jnp.real(x))
    np.testing.assert_allclose(g, 2 * np.real(x), rtol=1e-4, atol=1e-4)


def test_training_masks_do_not_depend_on_read_order():
    """With training_seed, each read of a slice draws a fresh mask, identical across runs and orders."""
    from sciml.mri import mask_func
    from sciml.mri.transforms import _TrainingMaskSeeds

    def draws(order):
        seeds = _TrainingMaskSeeds(7)
        f = mask_func("random", [0.08], [4])
        out = {}
        for name, s in order:
            seed = seeds(name, s)
            out.setdefault((name, s), []).append(f.sample(64, seed=seed)[0].tolist())
        return out

    items = [("a.h5", 0), ("a.h5", 1), ("b.h5", 0)] * 2
    forward, backward = draws(items), draws(items[::-1])
    assert forward == backward
    assert forward[("a.h5", 0)][0] != forward[("a.h5", 0)][1]  # a new mask in the second epoch
    assert _TrainingMaskSeeds(None)("a.h5", 0) is None
