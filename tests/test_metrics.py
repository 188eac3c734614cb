"""sciml.metrics: nRMSE definitions, correlation-time conventions, spectra, deprecated aliases."""

import warnings

import numpy as np
import pytest

from sciml.metrics.field import (
    correlation_time,
    correlation_time_definition,
    correlation_time_kochkov2021,
    nrmse_pooled_vs_time,
    nrmse_vs_time,
)
from sciml.metrics.spectra import (
    energy_spectrum,
    energy_spectrum_from_vorticity,
    enstrophy_spectrum,
)


def _traj(seed, shape):
    return np.random.default_rng(seed).normal(size=shape)


def test_pdebench_and_pooled_nrmse_agree_for_one_channel_and_differ_for_two():
    ref = _traj(0, (3, 4, 16, 1))
    pred = ref + 0.1 * _traj(1, ref.shape)
    np.testing.assert_allclose(
        nrmse_vs_time(pred, ref, ndim=1), nrmse_pooled_vs_time(pred, ref, ndim=1), rtol=1e-14
    )
    # two channels of very different size, only the small one wrong by 10 %
    a, b = 10.0 * _traj(2, (2, 3, 32, 1)), _traj(3, (2, 3, 32, 1))
    ref2 = np.concatenate([a, b], axis=-1)
    pred2 = np.concatenate([a, 1.1 * b], axis=-1)
    # PDEBench: per channel (0 and 0.1), then the mean
    np.testing.assert_allclose(nrmse_vs_time(pred2, ref2, ndim=1), 0.05, rtol=1e-12)
    na = np.sum(a**2, axis=(2, 3))
    nb = np.sum(b**2, axis=(2, 3))
    pooled = np.mean(0.1 * np.sqrt(nb / (na + nb)), axis=0)
    np.testing.assert_allclose(nrmse_pooled_vs_time(pred2, ref2, ndim=1), pooled, rtol=1e-12)
    assert np.all(pooled < 0.02)  # the pooled norm hides the wrong channel


def test_kochkov_convention_takes_the_first_saved_frame_below_095():
    times = np.arange(6) * 0.5
    corr = np.array([1.0, 0.99, 0.96, 0.94, 0.7, 0.5])
    assert correlation_time_kochkov2021(corr, times) == 1.5  # frame 3, no interpolation
    np.testing.assert_allclose(correlation_time(corr, times, 0.95), 1.0 + 0.5 * 0.01 / 0.02)
    assert correlation_time_kochkov2021(np.ones(6), times) == 2.5  # never: the horizon
    d = correlation_time_definition("kochkov2021", 0.95)
    assert d["definition"] == "kochkov2021" and d["threshold"] == 0.95
    with pytest.raises(
        ValueError, match=r"kind: expected one of interpolated, kochkov2021, found 'median'"
    ):
        correlation_time_definition("median")
    with pytest.raises(ValueError, match=r"corr \(3,\) and times \(6,\)"):
        correlation_time_kochkov2021(corr[:3], times)


def test_enstrophy_and_energy_spectra_of_a_shear_mode():
    # omega = sin(3 x) on [0, 2 pi)^2: psi = omega / 9, u = (0, -cos(3 x) / 3)
    n = 16
    x = np.arange(n) * 2 * np.pi / n
    xx, _ = np.meshgrid(x, x, indexing="ij")
    omega = np.sin(3 * xx)[None, ..., None]
    _, z = enstrophy_spectrum(omega, ndim=2)
    np.testing.assert_allclose(z[3], 0.25, rtol=1e-12)  # 1/2 <omega^2>
    np.testing.assert_allclose(np.delete(z, 3), 0.0, atol=1e-20)
    _, e = energy_spectrum_from_vorticity(omega)
    velocity = np.stack([np.zeros_like(xx), -np.cos(3 * xx) / 3], axis=-1)[None]
    np.testing.assert_allclose(e, energy_spectrum(velocity, ndim=2)[1], atol=1e-15)
    np.testing.assert_allclose(e[3], 1 / 36, rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected ndim in 1..3.*found ndim=4"):
        energy_spectrum(omega, ndim=4)


def test_old_metric_paths_are_deprecated_aliases():
    from sciml.metrics import image

    with pytest.warns(DeprecationWarning, match=r"sciml.mri.metrics.ssim moved to sciml.metrics"):
        from sciml.mri.metrics import ssim
    assert ssim is image.ssim
    with pytest.warns(DeprecationWarning, match="sciml.stepper.evaluate.nrmse_vs_time moved"):
        from sciml.stepper.evaluate import nrmse_vs_time as old
    assert old is nrmse_vs_time
    with pytest.warns(DeprecationWarning, match="energy_spectrum moved to sciml.metrics.spectra"):
        import sciml.stepper

        assert sciml.stepper.energy_spectrum is energy_spectrum
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from sciml.mri import ssim as current  # the area's own namespace: no warning

        assert current is image.ssim
