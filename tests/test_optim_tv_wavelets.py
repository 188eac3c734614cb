"""TV primal-dual against exact 1-D solutions; wavelets against PyWavelets, orthonormality and
perfect reconstruction; the SENSE operator's adjointness and norm."""

import jax
import numpy as np
import pytest
from sciml.solvers.optim import (
    check_adjoint,
    divergence,
    estimate_sensitivities,
    fft2c,
    gradient,
    sense_operator,
    tv_denoise,
    wavedec2,
    wavelet_filters,
    waverec2,
)


@pytest.fixture(scope="module")
def f64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def test_tv_denoising_of_a_step_is_exact(f64):
    # min 0.5||x - y||^2 + lam TV(x), y = 0 on n1 samples and h on n2: the plateaus move
    # towards each other by lam / n1 and lam / n2 while lam < h n1 n2 / (n1 + n2).
    n1, n2, h, lam = 10, 15, 1.0, 0.5
    y = np.r_[np.zeros(n1), h * np.ones(n2)]
    x = np.asarray(tv_denoise(y, lam, iters=3000).x)
    expected = np.r_[np.full(n1, lam / n1), np.full(n2, h - lam / n2)]
    np.testing.assert_allclose(x, expected, atol=1e-6)
    # Above the threshold the solution is the constant mean.
    x = np.asarray(tv_denoise(y, 10.0, iters=3000).x)
    np.testing.assert_allclose(x, np.full(n1 + n2, y.mean()), atol=1e-6)


def test_divergence_is_minus_gradient_adjoint(f64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 7))
    p = rng.standard_normal((2, 5, 7, 2))
    lhs = np.sum(np.asarray(gradient(x, 2)) * p)
    rhs = -np.sum(x * np.asarray(divergence(p, 2)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


@pytest.mark.parametrize("name", ["haar", "db2", "db4", "db8"])
def test_wavelet_filters_match_pywavelets_and_are_orthonormal(name, f64):
    pywt = pytest.importorskip("pywt")
    h, g = wavelet_filters(name)
    np.testing.assert_allclose(h, pywt.Wavelet(name).rec_lo, atol=1e-12)
    for m in range(len(h) // 2):
        np.testing.assert_allclose(
            np.dot(h[2 * m :], h[: len(h) - 2 * m]), float(m == 0), atol=1e-12
        )
        np.testing.assert_allclose(np.dot(h[2 * m :], g[: len(g) - 2 * m]), 0.0, atol=1e-12)


def test_wavelet_transform_orthonormal_and_matches_pywavelets(f64):
    pywt = pytest.importorskip("pywt")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 32, 16)) + 1j * rng.standard_normal((3, 32, 16))
    c = np.asarray(wavedec2(x, "db4", 3))
    np.testing.assert_allclose(np.linalg.norm(c), np.linalg.norm(x), rtol=1e-12)
    np.testing.assert_allclose(waverec2(c, "db4", 3), x, atol=1e-12)
    # One level along the rows: PyWavelets' periodization mode up to its one-sample offset.
    x1 = rng.standard_normal((1, 16, 2))
    ours = np.asarray(wavedec2(np.roll(x1, 1, axis=1), "db2", 1))
    cA, cD = pywt.dwt(x1[0, :, 0], "db2", mode="periodization")
    # wavedec2 also transforms the 2 columns: undo that with the 2-point Haar-like map.
    rows = (ours[0, :, 0] + ours[0, :, 1]) / np.sqrt(2)
    np.testing.assert_allclose(rows, np.r_[cA, cD], atol=1e-12)


def test_wavelet_levels_error():
    with pytest.raises(ValueError, match=r"levels=3 needs H and W divisible by 2\^levels = 8"):
        wavedec2(np.ones((12, 16)), "haar", 3)


def test_sense_operator_adjoint_norm_and_maps(f64):
    rng = np.random.default_rng(0)
    H, W, C = 16, 12, 3
    maps = rng.standard_normal((C, H, W)) + 1j * rng.standard_normal((C, H, W))
    maps /= np.sqrt(np.sum(np.abs(maps) ** 2, axis=0))
    mask = (rng.random(W) < 0.5).astype(np.float32)
    op = sense_operator(mask, maps)
    assert check_adjoint(op, key=jax.random.key(0)) < 1e-12
    # sum_c |S_c|^2 = 1 and an orthonormal FFT: A^H A is a projection-like contraction, ||A|| = 1.
    x = rng.standard_normal((H, W)) + 0j
    full = sense_operator(np.ones(W), maps)
    np.testing.assert_allclose(full.adjoint(full(x)), x, atol=1e-12)
    # Smooth maps are recovered from the centre lines of the coil k-space of a flat object.
    yy, xx = np.mgrid[-1 : 1 : H * 1j, -1 : 1 : W * 1j]
    smooth = np.stack([np.exp(1j * 0.3 * xx) * (1 + 0.2 * c * yy) for c in range(C)])
    smooth /= np.sqrt(np.sum(np.abs(smooth) ** 2, axis=0))
    k = fft2c(smooth * 1.0)
    est = np.asarray(estimate_sensitivities(k, W))
    np.testing.assert_allclose(est, smooth, atol=1e-12)
    with pytest.raises(ValueError, match=r"mask: expected shape \(12,\)"):
        sense_operator(np.ones(5), maps)
