"""Long-rollout statistics: bounded fraction, blow-up times, spectrum and value-distribution errors."""

import math

import numpy as np
import pytest

from sciml.metrics.long_rollout import first_unbounded_frame, long_rollout_statistics


def _fields(seed, batch=3, frames=40, n=32):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, frames + 1, n, 1))


def test_blowup_detection_and_bounded_fraction():
    ref = _fields(0)
    pred = ref.copy()
    pred[1, 7:] = np.nan  # non-finite from frame 7
    pred[2, 3, 5, 0] = 1e3  # one spike above the bound at frame 3
    first = first_unbounded_frame(pred, bound=10 * np.abs(ref).max())
    np.testing.assert_array_equal(first, [-1, 7, 3])
    stats = long_rollout_statistics(pred, ref, ndim=1, length=2 * np.pi, dt=0.5)
    assert stats["bounded_fraction"] == pytest.approx(1 / 3)
    assert stats["blowup_times"][0] == math.inf and stats["blowup_times"][1:] == [3.5, 1.5]
    assert stats["blowup_time"] == 1.5 and stats["horizon"] == 20.0


def test_scaled_field_gives_exact_spectrum_and_std_errors():
    ref = _fields(1)
    stats = long_rollout_statistics(1.2 * ref, ref, ndim=1, length=2 * np.pi, dt=1.0, burn_in=5)
    assert stats["bounded_fraction"] == 1.0 and stats["max_shell"] == 32 // 3
    np.testing.assert_allclose(stats["spectrum_rel_error"], 0.44, rtol=1e-12)  # 1.2^2 - 1
    assert stats["std_ratio"] == pytest.approx(1.2, rel=1e-12)
    # W1 of x -> 1.2 x is 0.2 E|x|; for unit Gaussians E|x| = sqrt(2/pi)
    assert stats["value_w1_over_std"] == pytest.approx(0.2 * math.sqrt(2 / math.pi), rel=0.05)


def test_independent_samples_of_the_same_statistics_agree():
    a, b = _fields(2, batch=8, frames=200), _fields(3, batch=8, frames=200)
    stats = long_rollout_statistics(a, b, ndim=1, length=2 * np.pi, dt=1.0)
    # Each shell averages ~2 x 8 x 201 squared modes: relative sampling error ~ 1/sqrt(1608) per
    # field, sqrt(2) that for a difference; 4 sigma of it over 10 shells.
    assert stats["spectrum_max_rel_error"] < 4 * math.sqrt(2 / 1608)
    assert stats["value_w1_over_std"] < 0.02 and abs(stats["std_ratio"] - 1) < 0.01


def test_all_unbounded_and_bad_input():
    ref = _fields(4)
    stats = long_rollout_statistics(np.full_like(ref, np.inf), ref, ndim=1, length=1.0, dt=1.0)
    assert stats["bounded_fraction"] == 0.0 and stats["spectrum_max_rel_error"] is None
    with pytest.raises(ValueError, match=r"prediction frames \(16, 1\) and reference frames"):
        long_rollout_statistics(ref[:, :, :16], ref, ndim=1, length=1.0, dt=1.0)
    with pytest.raises(ValueError, match="burn_in must be in"):
        long_rollout_statistics(ref, ref, ndim=1, length=1.0, dt=1.0, burn_in=41)


def test_settled_frames_flag_a_travelling_wave_and_are_excluded():
    # a travelling wave (steady up to translation) after frame 20; noise before it
    n, frames = 32, 60
    x = 2 * np.pi * np.arange(n) / n
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, frames + 1, n, 1))
    for t in range(20, frames + 1):
        a[0, t, :, 0] = 3 * np.sin(4 * (x - 0.1 * t))
    from sciml.metrics.long_rollout import settled_frames

    flag = settled_frames(a, ndim=1)
    assert flag[0, 21:].all() and not flag[0, :20].any() and not flag[1].any()
    ref = rng.standard_normal((2, frames + 1, n, 1))
    plain = long_rollout_statistics(a, ref, ndim=1, length=2 * np.pi, dt=1.0)
    chaotic = long_rollout_statistics(
        a, ref, ndim=1, length=2 * np.pi, dt=1.0, exclude_settled=True
    )
    assert plain["spectrum_max_rel_error"] > 5  # the wave's mode dominates the average
    # the chaotic statistics are those of the unsettled frames alone (frame 20, the first of the
    # wave, still counts: it changed from frame 19)
    keep = np.concatenate([a[0, :21], a[1]])[None]
    direct = long_rollout_statistics(keep, ref, ndim=1, length=2 * np.pi, dt=1.0)
    np.testing.assert_allclose(
        chaotic["spectrum_rel_error"], direct["spectrum_rel_error"], rtol=1e-12
    )
    assert chaotic["spectrum_max_rel_error"] < plain["spectrum_max_rel_error"] / 3
    assert chaotic["settled_fraction"] == pytest.approx(40 / 122)
    assert chaotic["settled_fraction_reference"] == 0.0
    with pytest.raises(ValueError, match="settled_frames: expected"):
        settled_frames(a[:, :1], ndim=1)
