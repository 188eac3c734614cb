"""Dissipative long rollouts: energy norm, growth detection, decay-rate fit, modal energy."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import eigh

from sciml.metrics.dissipation import (
    decay_rate,
    eigen_shell_spectrum,
    first_growth_frame,
    late_window,
    modal_energy_fractions,
    weighted_norm,
)


def _spd(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def test_weighted_norm_matches_the_quadratic_form_and_lumped_weights():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2, 3, 7, 2))
    m = _spd(7, 1)
    want = np.sqrt(np.einsum("btnc,nk,btkc->bt", u, m, u))
    np.testing.assert_allclose(weighted_norm(u, m), want, rtol=1e-13)
    np.testing.assert_allclose(weighted_norm(u, sp.csr_matrix(m)), want, rtol=1e-13)
    w = rng.uniform(0.5, 2.0, 7)
    np.testing.assert_allclose(weighted_norm(u, w), weighted_norm(u, np.diag(w)), rtol=1e-13)
    np.testing.assert_allclose(weighted_norm(u), np.sqrt((u**2).sum((2, 3))), rtol=1e-13)
    u[1, 2, 3, 0] = np.nan
    assert np.isnan(weighted_norm(u, m)[1, 2]) and np.isfinite(weighted_norm(u, m)[1, 1])
    with pytest.raises(ValueError, match=r"expected trajectories \(batch, frames, 5, C\)"):
        weighted_norm(u, np.eye(5))


def test_exponential_decay_rate_is_recovered_exactly():
    # u(t) = exp(-r t) phi with r per trajectory: the fitted rate of ||u||_M is r, to round-off
    dt, t = 0.05, np.arange(401) * 0.05
    rates = np.array([0.3947841760435743, 2.5, 1e-3])
    phi = np.random.default_rng(2).standard_normal(6)
    u = 3.0 * np.exp(-rates[:, None] * t)[..., None, None] * phi[None, None, :, None]
    norms = weighted_norm(u, _spd(6, 3))
    np.testing.assert_allclose(decay_rate(norms, dt), rates, rtol=1e-10)
    np.testing.assert_allclose(decay_rate(norms, dt, window=slice(200, None)), rates, rtol=1e-10)
    # a growing sequence has a negative rate; a non-positive or non-finite norm gives NaN
    np.testing.assert_allclose(decay_rate(np.exp(0.7 * t)[None], dt), [-0.7], rtol=1e-10)
    bad = norms.copy()
    bad[0, 300], bad[1, 350] = 0.0, np.inf
    r = decay_rate(bad, dt, window=slice(250, None))
    assert np.isnan(r[:2]).all() and r[2] == pytest.approx(1e-3, rel=1e-10)
    with pytest.raises(ValueError, match="the window holds 1 frames"):
        decay_rate(norms, dt, window=slice(5, 6))


def test_growth_is_flagged_at_its_first_frame():
    n = np.exp(-0.1 * np.arange(20.0))[None].repeat(4, 0)
    n[1, 7] = n[1, 6] * 1.001  # grows at frame 7
    n[2, 5] = n[2, 4] * (1 + 1e-7)  # grows within the tolerance
    n[3, 9:] = np.nan  # non-finite from frame 9
    np.testing.assert_array_equal(first_growth_frame(n, rtol=1e-5), [-1, 7, -1, 9])
    np.testing.assert_array_equal(first_growth_frame(n, rtol=0.0), [-1, 7, 5, 9])
    # a plateau plus an absolute tolerance is not growth
    flat = np.ones((1, 5)) + np.array([0, 1e-12, 0, 2e-12, 0])
    assert first_growth_frame(flat, rtol=0.0, atol=1e-11)[0] == -1
    with pytest.raises(ValueError, match=r"norms: expected \(batch, frames\)"):
        first_growth_frame(n[0])


def test_late_window_stops_where_the_reference_reaches_the_floor():
    t = np.arange(101) * 0.5
    n = np.stack([np.exp(-t), 2 * np.exp(-0.5 * t)])
    # exp(-t) >= 1e-15 for t <= 34.54: last frame 69; the window starts at frame 50
    assert late_window(n, floor=1e-15) == slice(50, 70)
    assert late_window(n, floor=1e-30) == slice(50, 101)
    assert late_window(n, start=0.25, floor=1e-30) == slice(25, 101)
    with pytest.raises(ValueError, match="falls below floor=1e-10 of its initial norm at frame 47"):
        late_window(n, floor=1e-10)


def test_modal_fractions_and_shell_spectrum_of_a_two_mode_field():
    k, m = _spd(8, 4), _spd(8, 5)
    lam, phi = eigh(k, m)  # M-orthonormal
    a, b = 3.0, -0.5
    u = np.stack([a * phi[:, 0], b * phi[:, 2], a * phi[:, 0] + b * phi[:, 2]])
    f = modal_energy_fractions(u[None, :, :, None], phi, sp.csr_matrix(m))
    assert f.shape == (1, 3, 8)
    want = np.zeros((3, 8))
    want[0, 0] = want[1, 2] = 1.0
    want[2, [0, 2]] = [a**2, b**2] / np.float64(a**2 + b**2)
    np.testing.assert_allclose(f[0], want, atol=1e-12)
    # shells of width dk in sqrt(lambda): the mean over the three frames, by hand
    dk = 0.9 * np.sqrt(lam[2])  # mode 2 in shell 1, mode 0 in shell floor(sqrt(l0 / l2) / 0.9)
    kk, e = eigen_shell_spectrum(f, lam, dk=dk)
    s0, s2 = int(np.sqrt(lam[0]) // dk), int(np.sqrt(lam[2]) // dk)
    expect = np.zeros_like(e)
    expect[s0] += (1 + want[2, 0]) / 3
    expect[s2] += (1 + want[2, 2]) / 3
    np.testing.assert_allclose(e, expect, atol=1e-12)
    np.testing.assert_allclose(kk, np.arange(e.size) * dk)
    # blown-up frames are left out of the average
    f2 = np.concatenate([f, np.full_like(f, np.nan)], axis=0)
    np.testing.assert_allclose(eigen_shell_spectrum(f2, lam, dk=dk)[1], e, atol=1e-12)
