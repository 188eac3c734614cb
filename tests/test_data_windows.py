"""TrajectoryWindows against direct NumPy slicing; file round trip; bad input."""

import numpy as np
import pytest
import xarray as xr
from sciml.datasets import Loader, TrajectoryWindows


def _trajectories(n=3, t=9, nx=5, ny=4, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, t, nx, ny)).astype(np.float32)
    v = rng.normal(size=(n, t, nx, ny))
    return u, v


def _dataset(u, v):
    # v is stored with its dims in another order, (time, y, sample, x): windows must follow u's
    return xr.Dataset(
        {
            "u": (("sample", "time", "x", "y"), u),
            "v": (("time", "y", "sample", "x"), v.transpose(1, 3, 0, 2)),
        },
        coords={"time": np.arange(u.shape[1]) * 0.1},
    )


def _expected(u, v, sample, start, k, m):
    frames = np.stack([u, v.astype(np.float32)], axis=-1)[sample, start : start + k + m]
    return frames[:k], frames[k:]


@pytest.mark.parametrize(("k", "m", "stride"), [(1, 1, 1), (2, 3, 2), (3, 0, 4)])
def test_windows_match_numpy_slicing(k, m, stride):
    u, v = _trajectories()
    windows = TrajectoryWindows(_dataset(u, v), ["u", "v"], n_input=k, n_target=m, stride=stride)
    per = (9 - k - m) // stride + 1
    assert windows.windows_per_trajectory == per
    assert len(windows) == 3 * per
    assert windows.element_spec == {
        "inputs": ((k, 5, 4, 2), np.dtype(np.float32)),
        "targets": ((m, 5, 4, 2), np.dtype(np.float32)),
    }
    for i in range(len(windows)):
        sample, w = divmod(i, per)
        want_in, want_out = _expected(u, v, sample, w * stride, k, m)
        item = windows[i]
        assert item["inputs"].dtype == np.float32
        np.testing.assert_array_equal(item["inputs"], want_in)
        np.testing.assert_array_equal(item["targets"], want_out)
    # the last window ends inside the trajectory, one more stride would not
    last_start = (per - 1) * stride
    assert last_start + k + m <= 9 < last_start + stride + k + m


def test_windows_from_h5netcdf_file_through_loader(tmp_path):
    u, v = _trajectories(n=4, t=6, nx=8, ny=3, seed=1)
    path = tmp_path / "traj.nc"
    _dataset(u, v).to_netcdf(path, engine="h5netcdf")
    windows = TrajectoryWindows(path, ["u", "v"], n_input=2, n_target=2, engine="h5netcdf")
    assert len(windows) == 4 * 3
    loader = Loader(windows, global_batch=4, seed=3, num_epochs=1, process_index=0, process_count=1)
    seen = 0
    for batch in loader:
        assert batch["inputs"].shape == (4, 2, 8, 3, 2)
        assert batch["targets"].shape == (4, 2, 8, 3, 2)
        # find each window's trajectory and start from its first frame, then compare all of it
        for inputs, targets in zip(batch["inputs"], batch["targets"]):
            frames = np.stack([u, v.astype(np.float32)], axis=-1)
            matches = [
                (s, t)
                for s in range(4)
                for t in range(3)
                if np.array_equal(frames[s, t], inputs[0])
            ]
            assert len(matches) == 1
            s, t = matches[0]
            np.testing.assert_array_equal(inputs, frames[s, t : t + 2])
            np.testing.assert_array_equal(targets, frames[s, t + 2 : t + 4])
            seen += 1
    assert seen == 12


def test_windows_bad_input(tmp_path):
    u, v = _trajectories(t=4)
    ds = _dataset(u, v)
    with pytest.raises(
        ValueError, match=r"n_input \+ n_target = 5 frames per window, found only 4"
    ):
        TrajectoryWindows(ds, ["u"], n_input=3, n_target=2)
    with pytest.raises(ValueError, match=r"n_input: expected an integer >= 1, found 0"):
        TrajectoryWindows(ds, ["u"], n_input=0)
    with pytest.raises(ValueError, match=r"stride: expected an integer >= 1, found 0"):
        TrajectoryWindows(ds, ["u"], stride=0)
    with pytest.raises(ValueError, match=r"no variable 'w'; variables found: \['u', 'v'\]"):
        TrajectoryWindows(ds, ["u", "w"])
    flat = ds.assign(p=(("sample", "x"), np.zeros((3, 5))))
    with pytest.raises(
        ValueError, match=r"variable 'p': expected dims including \('sample', 'time'\), found"
    ):
        TrajectoryWindows(flat, ["u", "p"])
    with pytest.raises(FileNotFoundError, match=r"TrajectoryWindows: file '.*none\.nc' not found"):
        TrajectoryWindows(tmp_path / "none.nc", ["u"])


def test_windows_nan_names_variable_and_sample(tmp_path):
    u, v = _trajectories(t=5)
    v[2, 3, 1, 1] = np.nan
    path = tmp_path / "blown.nc"
    _dataset(u, v).to_netcdf(path, engine="h5netcdf")
    windows = TrajectoryWindows(path, ["u", "v"], n_input=1, n_target=1, engine="h5netcdf")
    windows[2 * 4 + 0]  # frames 0-1 of trajectory 2 are clean
    with pytest.raises(
        ValueError, match=r"blown\.nc variable 'v' \(time 2\.\.3\), sample 2: .*found 1 NaN"
    ):
        windows[2 * 4 + 2]
