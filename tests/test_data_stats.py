"""Streaming normalisation statistics against NumPy on the full array; JSON round trip; errors."""

import json

import h5py
import numpy as np
import pytest
from sciml.datasets import ArraySource, H5Source, compute_stats, load_stats, save_stats


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_stats_match_numpy_on_the_full_array(batch):
    rng = np.random.default_rng(0)
    # a large offset and tiny spread per channel: naive sum-of-squares in float32 would fail
    x = (rng.normal(size=(37, 6, 5, 3)) * [1e-3, 2.0, 50.0] + [1e4, -3.0, 0.0]).astype(np.float32)
    stats = compute_stats(ArraySource({"x": x}), "x", batch=batch)
    full = x.astype(np.float64).reshape(-1, 3)
    assert stats["count"] == 37 * 30
    # float64 accumulation: agreement to rounding of the float64 sums
    np.testing.assert_allclose(stats["mean"], full.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(stats["std"], full.std(axis=0), rtol=1e-9, atol=0)
    assert all(isinstance(v, float) for v in stats["mean"] + stats["std"])


def test_stats_stream_from_hdf5(tmp_path):
    x = np.random.default_rng(1).uniform(-1, 3, size=(50, 8, 2))
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=x)
    stats = compute_stats(H5Source(path, ["x"]), "x", batch=16)
    np.testing.assert_allclose(stats["mean"], x.reshape(-1, 2).mean(0), rtol=1e-13, atol=0)
    np.testing.assert_allclose(stats["std"], x.reshape(-1, 2).std(0), rtol=1e-12, atol=0)


def test_stats_round_trip_and_atomic_write(tmp_path):
    stats = compute_stats(ArraySource({"x": np.arange(12.0).reshape(6, 2)}), "x")
    np.testing.assert_allclose(stats["mean"], [5.0, 6.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(stats["std"], [np.sqrt(35 / 3)] * 2, rtol=1e-15, atol=0)
    path = tmp_path / "stats.json"
    save_stats(path, stats)
    assert load_stats(path) == stats
    assert json.loads(path.read_text()) == stats
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]  # no temp file left


def test_stats_errors(tmp_path):
    src = ArraySource({"x": np.zeros((4, 3)), "z": np.zeros((4, 2), np.complex64)})
    with pytest.raises(ValueError, match=r"key: expected one of \['x', 'z'\], found 'y'"):
        compute_stats(src, "y")
    with pytest.raises(ValueError, match=r"'z': expected real numeric data, found dtype complex64"):
        compute_stats(src, "z")
    with pytest.raises(ValueError, match=r"batch: expected an integer >= 1, found 0"):
        compute_stats(src, "x", batch=0)
    with pytest.raises(FileNotFoundError, match=r"load_stats: file '.*absent\.json' not found"):
        load_stats(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"mean": [1.0], "std": [NaN], "count": 3}')
    with pytest.raises(ValueError, match=r"bad\.json': expected finite numbers"):
        load_stats(bad)
    bad.write_text('{"mean": [1.0]}')
    with pytest.raises(ValueError, match=r"expected a dict with 'mean', 'std' and 'count'"):
        load_stats(bad)
