"""fastMRI metrics against scikit-image and analytic values; the JAX SSIM loss; evaluation."""

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sciml.metrics.image import mse, ssim_slices
from sciml.mri import evaluate_directories, format_metrics, nmse, psnr, ssim, ssim_jax, ssim_loss
from sciml.mri.synthesize import shepp_logan


def volume_pair(dtype, seed=0, shape=(3, 40, 33)):
    rng = np.random.default_rng(seed)
    gt = np.stack([shepp_logan(shape[1:]) * (1 + 0.1 * s) for s in range(shape[0])])
    gt = gt + 0.05 * rng.random(shape)
    pred = gt + 0.08 * rng.standard_normal(shape)
    return gt.astype(dtype), pred.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ssim_and_psnr_match_scikit_image(dtype):
    gt, pred = volume_pair(dtype)
    maxval = gt.max()
    reference = np.mean([structural_similarity(g, p, data_range=maxval) for g, p in zip(gt, pred)])
    np.testing.assert_allclose(ssim(gt, pred), reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        psnr(gt, pred), peak_signal_noise_ratio(gt, pred, data_range=maxval), rtol=1e-6
    )
    # The data range is the VOLUME maximum, not each slice's.
    per_slice = np.mean([structural_similarity(g, p, data_range=g.max()) for g, p in zip(gt, pred)])
    assert abs(ssim(gt, pred) - per_slice) > 1e-4


def test_nmse_psnr_analytic_values():
    gt, _ = volume_pair(np.float64, seed=1)
    np.testing.assert_allclose(nmse(gt, 1.1 * gt), 0.01, rtol=1e-12)
    np.testing.assert_allclose(mse(gt, gt + 0.5), 0.25, rtol=1e-12)
    # PSNR of a constant offset d: 10 log10(max^2 / d^2).
    np.testing.assert_allclose(psnr(gt, gt + 0.01), 10 * np.log10(gt.max() ** 2 / 1e-4), rtol=1e-10)
    np.testing.assert_allclose(ssim(gt, gt), 1.0, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"nmse: ground truth and prediction shapes differ"):
        nmse(gt, gt[:, :-1])
    with pytest.raises(ValueError, match=r"ssim: expected volumes \(slices, h, w\), found shape"):
        ssim(gt[0], gt[0])


def test_ssim_jax_matches_numpy(x64):
    gt, pred = volume_pair(np.float64, seed=2)
    maxval = gt.max()
    np.testing.assert_allclose(
        ssim_jax(pred, gt, maxval), ssim_slices(gt, pred, maxval), rtol=0, atol=1e-12
    )


def test_ssim_loss_float32_channels_last_and_per_sample_range():
    gt, pred = volume_pair(np.float32, seed=3)
    ranges = np.array([1.0, 1.5, 2.0], np.float32)
    expected = 1 - np.mean([ssim_slices(g, p, r) for g, p, r in zip(gt, pred, ranges)])
    loss = jax.jit(ssim_loss)(pred[..., None], gt[..., None], ranges)
    np.testing.assert_allclose(loss, expected, rtol=0, atol=2e-5)
    with pytest.raises(ValueError, match=r"ssim_loss: pred and target shapes differ"):
        ssim_loss(pred, gt[:, 1:], 1.0)


def test_ssim_loss_gradient(x64):
    gt, pred = volume_pair(np.float64, seed=4, shape=(1, 12, 11))
    maxval = gt.max()
    loss = jax.jit(ssim_loss)
    grad_fn = jax.jit(jax.grad(ssim_loss))
    grad = grad_fn(jnp.asarray(pred), gt, maxval)
    assert np.all(np.isfinite(grad))
    # Central finite differences at a few pixels.
    for idx in [(0, 5, 5), (0, 0, 0), (0, 11, 3)]:
        e = np.zeros_like(pred)
        e[idx] = 1e-6
        fd = (loss(pred + e, gt, maxval) - loss(pred - e, gt, maxval)) / 2e-6
        np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-9)
    # SSIM is maximal at pred == target: the loss is 0 and its gradient vanishes.
    np.testing.assert_allclose(loss(gt, gt, maxval), 0.0, atol=1e-12)
    np.testing.assert_allclose(grad_fn(jnp.asarray(gt), gt, maxval), 0.0, atol=1e-10)


def write_pair(root, name, target, recon, key="reconstruction_esc", acquisition="CORPD_FBK"):
    (root / "t").mkdir(exist_ok=True)
    (root / "r").mkdir(exist_ok=True)
    with h5py.File(root / "t" / name, "w") as f:
        f[key] = target
        f.attrs["acquisition"] = acquisition
    if recon is not None:
        with h5py.File(root / "r" / name, "w") as f:
            f["reconstruction"] = recon


def test_evaluate_directories_crop_and_statistics(tmp_path):
    rng = np.random.default_rng(5)
    per_volume = []
    for i, scale in enumerate([1.05, 1.1, 1.2]):
        target = rng.random((2, 24, 16)).astype(np.float32) + 0.1
        recon = np.zeros((2, 30, 20), np.float32)  # larger; only the (16, 16) centre counts
        recon[:, 7:23, 2:18] = scale * target[:, 4:20, :]
        write_pair(tmp_path, f"file{i}.h5", target, recon, acquisition=["AXT2", "AXT1", "AXT2"][i])
        per_volume.append((scale - 1) ** 2)
    result = evaluate_directories(tmp_path / "t", tmp_path / "r", challenge="singlecoil")
    assert result["count"] == 3
    got = [result["volumes"][f"file{i}.h5"]["NMSE"] for i in range(3)]
    np.testing.assert_allclose(got, per_volume, rtol=1e-5)
    np.testing.assert_allclose(result["mean"]["NMSE"], np.mean(per_volume), rtol=1e-5)
    np.testing.assert_allclose(result["std"]["NMSE"], np.std(per_volume, ddof=1), rtol=1e-4)
    text = format_metrics(result)
    assert text.startswith("MSE = ") and " NMSE = " in text and " PSNR = " in text
    assert f"+/- {2 * result['std']['SSIM']:.4g}" in text
    only = evaluate_directories(tmp_path / "t", tmp_path / "r", acquisition="AXT1")
    assert list(only["volumes"]) == ["file1.h5"]


def test_evaluate_errors(tmp_path):
    t = np.ones((1, 8, 8), np.float32)
    write_pair(tmp_path, "a.h5", t, t)
    write_pair(tmp_path, "b.h5", t, None)
    with pytest.raises(ValueError, match=r"missing 1 of the 2 volumes.*\(first: b.h5\)"):
        evaluate_directories(tmp_path / "t", tmp_path / "r")
    with pytest.raises(FileNotFoundError, match=r"--recon .*nowhere: no such directory"):
        evaluate_directories(tmp_path / "t", tmp_path / "nowhere")
    (tmp_path / "t" / "b.h5").unlink()
    with pytest.raises(
        ValueError, match=r"no 'reconstruction_rss' dataset.*--challenge singlecoil"
    ):
        evaluate_directories(tmp_path / "t", tmp_path / "r", challenge="multicoil")
