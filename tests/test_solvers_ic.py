"""Initial conditions: spectra, statistics, determinism, exact-solution properties, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sciml.solvers import (
    Grid,
    burgers_cole_hopf,
    gaussian_random_field,
    gray_scott_spots,
    kdv_soliton,
    random_fourier_series,
    taylor_green_vortex,
)


def test_gaussian_random_field_has_the_requested_spectrum_and_std():
    grid = Grid((64,), (2 * np.pi,))
    exponent = 3.0
    u = np.asarray(
        gaussian_random_field(grid, 400, key=jax.random.key(0), exponent=exponent, amplitude=2.0)
    )[..., 0]
    assert u.shape == (400, 64) and u.dtype == np.float32
    np.testing.assert_allclose(u.std(), 2.0, rtol=0.03)
    np.testing.assert_allclose(u.mean(axis=1), 0.0, atol=1e-5)  # k = 0 removed
    power = (np.abs(np.fft.rfft(u, axis=1)) ** 2).mean(axis=0)
    k = np.arange(1, 20)
    target = (k**2 + 1.0) ** (-exponent / 2)  # k0 = 2 pi / L = 1
    ratio = power[1:20] / target
    # Each mode averages 400 exponential variables: ~5% scatter; the shape must be flat.
    np.testing.assert_allclose(ratio / ratio.mean(), 1.0, atol=0.2)


def test_gaussian_random_field_is_deterministic_and_band_limited():
    grid = Grid((32, 16), (1.0, 0.5))
    a = gaussian_random_field(grid, 3, key=jax.random.key(7), channels=2, max_wavenumber=30.0)
    b = gaussian_random_field(grid, 3, key=jax.random.key(7), channels=2, max_wavenumber=30.0)
    c = gaussian_random_field(grid, 3, key=jax.random.key(8), channels=2, max_wavenumber=30.0)
    assert a.shape == (3, 32, 16, 2)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.abs(np.asarray(a) - np.asarray(c)).max() > 0.1
    spec = np.abs(np.fft.fft2(np.asarray(a, np.float64), axes=(1, 2)))
    kx, ky = np.meshgrid(*grid.wavenumbers(), indexing="ij")
    assert spec[:, np.sqrt(kx**2 + ky**2) > 30.0].max() < 1e-4 * spec.max()
    with pytest.raises(ValueError, match=r"max_wavenumber: 0\.1 removes every mode"):
        gaussian_random_field(grid, 1, key=jax.random.key(0), max_wavenumber=0.1)
    with pytest.raises(ValueError, match="n_samples: expected an integer >= 1, found 0"):
        gaussian_random_field(grid, 0, key=jax.random.key(0))


def test_random_fourier_series_is_band_limited_and_zero_mean():
    grid = Grid((32, 32), (2.0, 2.0))
    u = np.asarray(
        random_fourier_series(grid, 4, key=jax.random.key(1), max_mode=3, channels=2), np.float64
    )
    assert u.shape == (4, 32, 32, 2)
    spec = np.abs(np.fft.fft2(u, axes=(1, 2)))
    m = np.abs(np.fft.fftfreq(32, 1 / 32))
    outside = (m[:, None] > 3) | (m[None, :] > 3)
    assert spec[:, outside].max() < 1e-3 * spec.max()
    np.testing.assert_allclose(u.mean(axis=(1, 2)), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="max_mode: 20 is not resolved"):
        random_fourier_series(grid, 1, key=jax.random.key(0), max_mode=20)


def test_kdv_soliton_shape_and_mass(x64):
    grid = Grid((256,), (50.0,))
    c, alpha, beta = 1.5, 6.0, 1.0
    x0 = 104 * grid.dx[0]  # on a grid point
    u = np.asarray(kdv_soliton(grid, speed=c, position=x0, dtype=jnp.float64))[0, :, 0]
    np.testing.assert_allclose(u.max(), 3 * c / alpha, rtol=1e-14)
    assert u.argmax() == 104
    kappa = np.sqrt(c / (4 * beta))
    np.testing.assert_allclose(u.sum() * grid.dx[0], (3 * c / alpha) * 2 / kappa, rtol=1e-10)
    # It solves c u' = alpha u u' + beta u''' (travelling-wave ODE), checked spectrally.
    k = 2 * np.pi * np.fft.rfftfreq(256, d=grid.dx[0])
    d = [np.fft.irfft((1j * k) ** p * np.fft.rfft(u), n=256) for p in (1, 3)]
    np.testing.assert_allclose(c * d[0], alpha * u * d[0] + beta * d[1], atol=1e-8)
    with pytest.raises(ValueError, match="kdv_soliton: speed and beta must be > 0"):
        kdv_soliton(grid, speed=-1.0)


def test_taylor_green_vorticity_is_the_curl_of_its_velocity(x64):
    grid = Grid((16, 16), (2 * np.pi, 2 * np.pi))
    w = np.asarray(taylor_green_vortex(grid, mode=2, amplitude=1.5, dtype=jnp.float64))[0, ..., 0]
    x, y = grid.mesh()
    # u = A sin(kx) cos(ky), v = -A cos(kx) sin(ky): omega = dv/dx - du/dy.
    np.testing.assert_allclose(w, 2 * 1.5 * 2 * np.sin(2 * x) * np.sin(2 * y), atol=1e-12)
    with pytest.raises(ValueError, match="needs a square box"):
        taylor_green_vortex(Grid((16, 16), (1.0, 2.0)))


def test_cole_hopf_solution_satisfies_burgers(x64):
    grid = Grid((128,), (2 * np.pi,))
    nu, t, h = 0.1, 0.5, 1e-4

    def u_at(time):
        return np.asarray(burgers_cole_hopf(grid, nu=nu, t=time, ratio=0.7, dtype=jnp.float64))[
            0, :, 0
        ]

    u = u_at(t)
    ut = (u_at(t + h) - u_at(t - h)) / (2 * h)
    k = 2 * np.pi * np.fft.rfftfreq(128, d=grid.dx[0])
    ux = np.fft.irfft(1j * k * np.fft.rfft(u), n=128)
    uxx = np.fft.irfft(-(k**2) * np.fft.rfft(u), n=128)
    np.testing.assert_allclose(ut + u * ux, nu * uxx, atol=1e-7)
    with pytest.raises(ValueError, match="need 0 < ratio < 1"):
        burgers_cole_hopf(grid, nu=nu, ratio=1.0)


def test_gray_scott_spots_values():
    grid = Grid((128, 128), (2.5, 2.5))
    z = np.asarray(gray_scott_spots(grid, 2, key=jax.random.key(0), n_spots=3, noise=0.0))
    assert z.shape == (2, 128, 128, 2)
    np.testing.assert_allclose(z[..., 0], 1 - 2 * z[..., 1], atol=1e-6)
    assert 0.23 < z[..., 1].max() <= 0.25 + 1e-6 and z[..., 1].min() >= 0
    assert (z[..., 1] > 0.125).mean() > 0.005  # some seeds are present
    noisy = np.asarray(gray_scott_spots(grid, 2, key=jax.random.key(0), n_spots=3, noise=0.01))
    assert 0 < np.abs(noisy - z).max() <= 0.01 + 1e-6
