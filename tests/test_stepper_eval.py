"""Rollout metrics and the accuracy-cost study (sciml.stepper.evaluate / cost)."""

import jax.numpy as jnp
import numpy as np
import pytest

from sciml.metrics.field import blowup_time, correlation_time, correlation_vs_time, nrmse_vs_time
from sciml.metrics.spectra import energy_spectrum
from sciml.stepper.cost import CostPoint, measure, speedup_at_equal_accuracy
from sciml.stepper.evaluate import evaluate_rollout


def _traj(seed=0, shape=(3, 5, 16, 2)):
    return np.random.default_rng(seed).normal(size=shape)


def test_nrmse_and_correlation_of_known_perturbations():
    ref = _traj()
    np.testing.assert_allclose(nrmse_vs_time(ref, ref, ndim=1), 0.0, atol=1e-12)
    # a 3% relative scaling error has nRMSE 0.03 and correlation 1 exactly
    np.testing.assert_allclose(nrmse_vs_time(1.03 * ref, ref, ndim=1), 0.03, rtol=1e-10)
    np.testing.assert_allclose(correlation_vs_time(1.03 * ref, ref, ndim=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(correlation_vs_time(-ref, ref, ndim=1), -1.0, rtol=1e-12)
    # nRMSE of an independent field of the same energy is ~sqrt(2)
    big_ref, big_other = _traj(1, (4, 2, 4096, 1)), _traj(2, (4, 2, 4096, 1))
    np.testing.assert_allclose(nrmse_vs_time(big_other, big_ref, ndim=1), np.sqrt(2), rtol=0.05)


def test_blown_up_samples_count_as_infinitely_wrong():
    ref = _traj()
    pred = ref.copy()
    pred[1, 3, 4, 0] = np.nan
    err = nrmse_vs_time(pred, ref, ndim=1)
    np.testing.assert_allclose(err[:3], 0.0, atol=1e-12)
    assert np.all(np.isinf(err[3:]))
    corr = correlation_vs_time(pred, ref, ndim=1)
    np.testing.assert_allclose(corr[3:], 2.0 / 3.0, rtol=1e-12)  # 1 of 3 samples scores 0
    times = np.arange(5) * 0.5
    assert blowup_time(pred, times) == 1.5
    assert blowup_time(ref, times) == np.inf


def test_correlation_time_interpolates_linearly():
    times = np.linspace(0.0, 10.0, 11)
    corr = 1.0 - 0.05 * times  # crosses 0.8 at t = 4 exactly
    np.testing.assert_allclose(correlation_time(corr, times, 0.8), 4.0, rtol=1e-12)
    np.testing.assert_allclose(correlation_time(1.0 - 0.045 * times, times, 0.8), 0.2 / 0.045)
    assert correlation_time(np.ones(11), times) == 10.0  # never drops: the horizon (a bound)


def test_energy_spectrum_single_modes_and_parseval():
    length = 8.0
    x = np.arange(64) * length / 64
    u = (0.7 * np.cos(2 * np.pi * 5 * x / length))[None, :, None]
    k, e = energy_spectrum(u, ndim=1, length=length)
    np.testing.assert_allclose(k[5], 2 * np.pi * 5 / length)
    np.testing.assert_allclose(e[5], 0.7**2 / 4, rtol=1e-12)  # = <u^2> / 2
    np.testing.assert_allclose(np.delete(e, 5), 0.0, atol=1e-20)
    xx, yy = np.meshgrid(x, x, indexing="ij")
    v = np.sin(2 * np.pi * (3 * xx + 4 * yy) / length)[None, ..., None]  # |m| = 5
    _, e2 = energy_spectrum(v, ndim=2, length=length)
    np.testing.assert_allclose(e2[5], 0.25, rtol=1e-12)
    w = _traj(3, (2, 32, 32, 2))
    _, e3 = energy_spectrum(w, ndim=2, length=length)
    # shells reach |m| = 16 only, corner modes beyond are not counted: <= total energy
    assert e3.sum() <= 0.5 * np.mean(np.sum(w**2, -1)) * (1 + 1e-12)
    _, e4 = energy_spectrum(_traj(4, (3, 32, 1)), ndim=1, length=length)
    np.testing.assert_allclose(e4.sum(), 0.5 * np.mean(_traj(4, (3, 32, 1)) ** 2), rtol=1e-12)


def _heat_exact(nu, dt, n=32):
    k = 2 * np.pi * np.fft.rfftfreq(n, 1.0 / n)
    decay = jnp.asarray(np.exp(-nu * k**2 * dt), jnp.complex64)

    def step(z):
        return jnp.fft.irfft(jnp.fft.rfft(z, axis=1) * decay[None, :, None], n, axis=1)

    step.dt = dt
    return step


def test_evaluate_rollout_of_the_exact_solver_is_perfect():
    rng = np.random.default_rng(0)
    n, nu, dt = 32, 0.05, 0.1
    z0 = rng.normal(size=(2, n, 1)).astype(np.float32)
    k = 2 * np.pi * np.fft.rfftfreq(n, 1.0 / n)
    t = np.arange(6) * 2 * dt
    ref = np.fft.irfft(
        np.fft.rfft(z0, axis=1)[:, None] * np.exp(-nu * k**2 * t[:, None])[None, :, :, None],
        n,
        axis=2,
    )
    res = evaluate_rollout(_heat_exact(nu, dt), ref, ndim=1, dt=dt, save_every=2)
    np.testing.assert_allclose(res["times"], t, rtol=1e-12)
    np.testing.assert_allclose(res["nrmse"], 0.0, atol=2e-6)  # float32 round-off
    assert res["correlation_time"] == pytest.approx(t[-1])
    assert res["blowup_time"] == np.inf
    # the identity step is wrong by exactly the decay
    ident = evaluate_rollout(lambda z: z, ref, ndim=1, dt=dt, save_every=2)
    assert ident["nrmse_mean"] > 0.05


def test_measure_scores_and_times_a_candidate():
    rng = np.random.default_rng(1)
    n, nu, dt = 32, 0.05, 0.1
    z0 = rng.normal(size=(2, n, 1)).astype(np.float32)
    step = _heat_exact(nu, dt)
    ref = np.stack([z0, np.asarray(step(z0)), np.asarray(step(step(z0)))], axis=1)
    point, _ = measure(
        "exact", "classical", step, z0, ref, ndim=1, dt=dt, frame_dt=dt, horizon=0.2, repeats=1
    )
    assert point.nrmse < 1e-5 and point.seconds_per_time_unit > 0
    assert point.grid_shape == (n,)
    with pytest.raises(ValueError, match="not a multiple of dt"):
        measure("bad", "classical", step, z0, ref, ndim=1, dt=0.03, frame_dt=dt, horizon=0.2)


def test_speedup_at_equal_accuracy_picks_the_cheapest_accurate_classical():
    learned = CostPoint("learned", "learned", (32,), 0.5, 0.2, 10.0, np.inf, 1.0)
    classical = [
        CostPoint("c32", "classical", (32,), 0.5, 0.9, 3.0, np.inf, 0.5),  # cheap, inaccurate
        CostPoint("c64", "classical", (64,), 0.5, 0.15, 12.0, np.inf, 4.0),
        CostPoint("c128", "classical", (128,), 0.1, 0.01, 20.0, np.inf, 30.0),
        CostPoint("blown", "classical", (16,), 0.5, np.inf, 1.0, 2.0, 0.1),
    ]
    s = speedup_at_equal_accuracy(learned, classical)
    assert s["matched"] == "c64" and s["speedup"] == 4.0
    assert speedup_at_equal_accuracy(learned, classical[:1])["speedup"] is None
    assert classical[3].to_json()["nrmse"] is None  # JSON-safe: no Infinity


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="differs from reference shape"):
        nrmse_vs_time(_traj(shape=(2, 3, 8, 1)), _traj(shape=(2, 3, 16, 1)), ndim=1)
    with pytest.raises(ValueError, match="expected \\(batch, time"):
        correlation_vs_time(_traj(shape=(2, 3, 8, 8, 1)), _traj(shape=(2, 3, 8, 8, 1)), ndim=1)
