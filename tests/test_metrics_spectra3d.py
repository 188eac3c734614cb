"""3-D power spectra against analytic spectra and a direct Fourier sum; CIC paint; errors."""

import itertools

import numpy as np
import pytest

from sciml.metrics.spectra3d import (
    cic_paint,
    cic_window,
    cross_spectrum,
    default_edges,
    displacement_density,
    displacement_error,
    power_spectrum,
    spectra,
)


def test_single_fourier_mode():
    n, box, amp, m = 16, 100.0, 0.3, 3
    x = np.arange(n) * box / n
    k0 = 2 * np.pi * m / box
    delta = amp * np.cos(k0 * x)[:, None, None] * np.ones((n, n, n))
    k, p, modes = power_spectrum(delta, box)
    # Modes +-k0 carry |f(k)|^2 / V = A^2 V / 4 each; the shell average spreads them over its modes.
    j = int(np.argmin(np.abs(k - k0)))
    np.testing.assert_allclose(p[j], 2 * amp**2 * box**3 / 4 / modes[j], rtol=1e-12)
    others = np.delete(p, j)
    np.testing.assert_allclose(others, 0.0, atol=1e-20 * p[j] + 1e-25)
    # Parseval: sum over shells of P * modes * V / (V/N)^2 ... = V * mean(delta^2).
    np.testing.assert_allclose(np.sum(p * modes), box**3 * np.mean(delta**2), rtol=1e-12)


def test_white_noise_level():
    n, box, sigma = 32, 64.0, 2.0
    rng = np.random.default_rng(0)
    field = rng.normal(0.0, sigma, (n, n, n))
    _k, p, modes = power_spectrum(field, box)
    expected = sigma**2 * box**3 / n**3
    # |f(k)|^2 is exponentially distributed; k and -k are the same mode: M/2 independent draws.
    total = np.sum(p * modes) / np.sum(modes)
    np.testing.assert_allclose(total, expected, rtol=5 * np.sqrt(2 / np.sum(modes)))
    big = modes > 200
    dev = np.abs(p[big] / expected - 1) / np.sqrt(2 / modes[big])
    assert np.all(dev < 5), dev.max()


def test_direct_sum_on_tiny_grid():
    n, box = 5, 10.0
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(n, n, n, 3)), rng.normal(size=(n, n, n, 3))
    # Direct O(N^2) Fourier sum f(k) = (V/N) sum_x f(x) exp(-i k.x), then shell averages.
    grid = np.stack(np.meshgrid(*[np.arange(n) * box / n] * 3, indexing="ij"), -1).reshape(-1, 3)
    m = np.fft.fftfreq(n, 1.0 / n)
    kvec = np.stack(np.meshgrid(m, m, m, indexing="ij"), -1).reshape(-1, 3) * 2 * np.pi / box
    phase = np.exp(-1j * kvec @ grid.T) * box**3 / n**3
    fa, fb = phase @ a.reshape(-1, 3), phase @ b.reshape(-1, 3)
    paa = np.sum(np.abs(fa) ** 2, 1) / box**3
    pab = np.sum((fa * fb.conj()).real, 1) / box**3
    kmag = np.linalg.norm(kvec, axis=1)
    edges = default_edges(n, box, dk=0.3)
    ref_k, ref_p, ref_x = [], [], []
    for lo, hi in itertools.pairwise(edges):
        sel = (kmag >= lo) & (kmag < hi)
        if sel.any():
            ref_k.append(kmag[sel].mean())
            ref_p.append(paa[sel].mean())
            ref_x.append(pab[sel].mean())
    s = spectra(a, b, box, dk=0.3)
    np.testing.assert_allclose(s.k, ref_k, rtol=1e-12)
    np.testing.assert_allclose(s.p_pred, ref_p, rtol=1e-10)
    np.testing.assert_allclose(s.p_cross, ref_x, rtol=1e-10, atol=1e-12)


def test_transfer_and_correlation():
    n, box = 16, 50.0
    rng = np.random.default_rng(2)
    f = rng.normal(size=(n, n, n))
    s = spectra(2.0 * f, f, box)
    np.testing.assert_allclose(s.transfer, 2.0, rtol=1e-12)
    np.testing.assert_allclose(s.correlation, 1.0, rtol=1e-12)
    np.testing.assert_allclose(spectra(-f, f, box).correlation, -1.0, rtol=1e-12)
    g = rng.normal(size=(n, n, n))
    r = spectra(f, g, box).correlation  # independent fields: r ~ N(0, 1/sqrt(M/2))
    modes = spectra(f, g, box).modes
    assert np.all(np.abs(r[modes > 100]) < 5 * np.sqrt(2 / modes[modes > 100]))
    np.testing.assert_allclose(s.at([0.2, 0.5], "transfer"), 2.0, rtol=1e-12)
    _k, pab, _ = cross_spectrum(f, f, box)
    np.testing.assert_allclose(pab, power_spectrum(f, box)[1], rtol=1e-12)


def test_displacement_spectrum_sums_components():
    n, box = 8, 20.0
    rng = np.random.default_rng(3)
    comp = rng.normal(size=(n, n, n, 3))
    total = sum(power_spectrum(comp[..., i], box)[1] for i in range(3))
    np.testing.assert_allclose(power_spectrum(comp, box)[1], total, rtol=1e-12)


def test_cic_deconvolution_undoes_the_window():
    n, box = 16, 40.0
    rng = np.random.default_rng(4)
    g = rng.normal(size=(n, n, n))
    smoothed = np.fft.ifftn(np.fft.fftn(g) * cic_window(n, box)).real
    np.testing.assert_allclose(
        power_spectrum(smoothed, box, deconvolve="cic")[1], power_spectrum(g, box)[1], rtol=1e-10
    )


def test_cic_paint_weights():
    n, box = 8, 16.0  # dx = 2
    pos = np.array([[4.0, 4.0, 4.0], [7.0, 2.0, 15.0]])  # on a node; halfway in x and z (wraps)
    delta = cic_paint(pos, n, box)
    rho = (delta + 1.0) * 2 / n**3
    assert rho[2, 2, 2] == pytest.approx(1.0)
    for i, k in [(3, 7), (4, 7), (3, 0), (4, 0)]:
        assert rho[i, 1, k] == pytest.approx(0.25)
    np.testing.assert_allclose(delta.mean(), 0.0, atol=1e-14)
    np.testing.assert_allclose(displacement_density(np.zeros((n, n, n, 3)), box), 0.0, atol=1e-12)


def test_displacement_error_and_bad_input():
    rng = np.random.default_rng(5)
    true = rng.normal(size=(4, 4, 4, 3))
    assert displacement_error(1.1 * true, true) == pytest.approx(0.1, rel=1e-12)
    assert displacement_error(true + true, true, kind="ratio") == pytest.approx(1.0, rel=1e-12)
    bad = true.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="pred: found NaN"):
        displacement_error(bad, true)
    with pytest.raises(ValueError, match="pred: found NaN"):
        spectra(bad, true, 10.0)
    with pytest.raises(ValueError, match="cubic grid"):
        power_spectrum(np.zeros((4, 4, 5)), 10.0)
    with pytest.raises(ValueError, match="deconvolve"):
        power_spectrum(np.zeros((4, 4, 4)), 10.0, deconvolve="tsc")
