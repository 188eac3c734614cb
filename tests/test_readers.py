"""Readers of foreign layouts (PDEBench, The Well, jax-cfd) into the common xarray form.

Each test builds a small file in the published layout with h5py/xarray and checks the dims, the
values against the raw arrays, the coordinates read from the file and the kept attributes.
"""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest
import xarray as xr
from sciml.datasets import (
    TrajectoryWindows,
    detect_layout,
    open_trajectories,
    read_jaxcfd,
    read_pdebench,
    read_well,
)
from sciml.datasets.lazy_h5 import H5LazyArray


def _rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------------------ PDEBench


def _pdebench_tensor_1d(path, n=3, t=5, x=8):
    data = _rng().standard_normal((n, t, x)).astype(np.float32)
    xc = np.linspace(-1 + 1 / x, 1 - 1 / x, x)  # Burgers files use (-1, 1): never assume [0, 1]
    tc = np.arange(t + 1) * 0.01  # one more entry than frames, as published
    with h5py.File(path, "w") as f:
        f["tensor"] = data
        f["x-coordinate"] = xc
        f["t-coordinate"] = tc
        f.attrs["Nu"] = 0.001
    return data, xc, tc


def test_pdebench_tensor_layout(tmp_path):
    path = tmp_path / "1D_Burgers_Sols_Nu0.001.hdf5"
    data, xc, tc = _pdebench_tensor_1d(path)
    ds = open_trajectories(path)
    assert detect_layout(path) == "pdebench" and ds.attrs["source_layout"] == "tensor"
    assert ds["u"].dims == ("sample", "time", "x")
    np.testing.assert_array_equal(ds["u"].values, data)
    np.testing.assert_array_equal(ds["x"].values, xc)
    np.testing.assert_array_equal(ds["time"].values, tc[:5])
    np.testing.assert_array_equal(ds.attrs["t_coordinate_full"], tc)
    np.testing.assert_allclose(ds.attrs["Nu"], 0.001, rtol=1e-15)


def test_pdebench_reads_lazily(tmp_path, monkeypatch):
    path = tmp_path / "adv.hdf5"
    data, _, _ = _pdebench_tensor_1d(path, n=4, t=6, x=8)
    keys = []
    original = H5LazyArray._read

    def spy(self, key):
        keys.append(key)
        return original(self, key)

    monkeypatch.setattr(H5LazyArray, "_read", spy)
    ds = read_pdebench(path)
    assert keys == []  # opening reads metadata only
    frame = ds["u"].isel(sample=2, time=slice(1, 3)).values
    np.testing.assert_array_equal(frame, data[2, 1:3])
    assert len(keys) == 1 and keys[0][0] == 2 and keys[0][1] == slice(1, 3, 1)


def test_pdebench_darcy_tensor_with_coefficient(tmp_path):
    path = tmp_path / "2D_DarcyFlow_beta1.0_Train.hdf5"
    sol = _rng(1).random((2, 1, 4, 5)).astype(np.float32)
    nu = _rng(2).random((2, 4, 5)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["tensor"], f["nu"] = sol, nu
        f["x-coordinate"], f["y-coordinate"] = np.arange(4) / 4, np.arange(5) / 5
        f.attrs["beta"] = 1.0
    ds = read_pdebench(path)
    assert ds["u"].dims == ("sample", "time", "x", "y") and ds["nu"].dims == ("sample", "x", "y")
    np.testing.assert_array_equal(ds["u"].values, sol)
    np.testing.assert_array_equal(ds["nu"].values, nu)
    np.testing.assert_array_equal(ds["y"].values, np.arange(5) / 5)


def test_pdebench_compressible_layout(tmp_path):
    path = tmp_path / "2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_periodic_Train.hdf5"
    fields = {k: _rng(i).random((2, 3, 4, 4)).astype(np.float32) for i, k in
              enumerate(("density", "pressure", "Vx", "Vy"))}  # fmt: skip
    with h5py.File(path, "w") as f:
        for k, v in fields.items():
            f[k] = v
        f["x-coordinate"], f["y-coordinate"] = np.arange(4) * 0.25, np.arange(4) * 0.25
        f["t-coordinate"] = np.arange(4) * 0.05
        f.attrs.update({"M": 0.1, "eta": 0.01, "zeta": 0.01})
    ds = open_trajectories(path)
    assert ds.attrs["source_layout"] == "cfd"
    np.testing.assert_allclose([ds.attrs["M"], ds.attrs["eta"]], [0.1, 0.01], rtol=1e-15)
    for k, v in fields.items():
        assert ds[k].dims == ("sample", "time", "x", "y")
        np.testing.assert_array_equal(ds[k].values, v)
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.05, 0.1], rtol=1e-12)


def test_pdebench_seed_group_layout(tmp_path):
    path = tmp_path / "2D_diff-react_NA_NA.h5"
    seeds = {f"{i:04d}": _rng(i).random((3, 4, 5, 2)).astype(np.float32) for i in range(3)}
    with h5py.File(path, "w") as f:
        for name, data in seeds.items():
            g = f.create_group(name)
            g["data"] = data
            g["grid/x"], g["grid/y"] = np.linspace(-1, 1, 4), np.linspace(-1, 1, 5)
            g["grid/t"] = np.linspace(0, 5, 3)
    ds = open_trajectories(path)
    assert ds.attrs["source_layout"] == "seed-groups" and list(ds.data_vars) == ["u", "v"]
    stacked = np.stack(list(seeds.values()))
    np.testing.assert_array_equal(ds["u"].values, stacked[..., 0])
    np.testing.assert_array_equal(ds["v"].isel(sample=slice(1, 3)).values, stacked[1:, ..., 1])
    np.testing.assert_array_equal(ds["v"].isel(sample=2, x=1).values, stacked[2, :, 1, :, 1])
    np.testing.assert_array_equal(ds["x"].values, np.linspace(-1, 1, 4))
    np.testing.assert_array_equal(ds["time"].values, np.linspace(0, 5, 3))


def test_pdebench_incompressible_ns_layout(tmp_path):
    path = tmp_path / "ns_incom_inhom_2d_512-0.h5"
    vel = _rng(3).random((2, 3, 4, 4, 2)).astype(np.float32)
    part = _rng(4).random((2, 3, 4, 4, 1)).astype(np.float32)
    force = _rng(5).random((2, 4, 4, 2)).astype(np.float32)
    t = np.tile(np.arange(3) * 0.1, (2, 1))
    with h5py.File(path, "w") as f:
        f["velocity"], f["particles"], f["force"], f["t"] = vel, part, force, t
        f.attrs["config"] = "viscosity: 0.01\n"
    ds = open_trajectories(path)
    np.testing.assert_array_equal(ds["velocity_y"].values, vel[..., 1])
    np.testing.assert_array_equal(ds["particles"].values, part[..., 0])
    np.testing.assert_array_equal(ds["force_x"].values, force[..., 0])
    assert ds["force_x"].dims == ("sample", "x", "y")
    np.testing.assert_allclose(ds["time"].values, t[0])
    assert "viscosity" in ds.attrs["config"]


def test_pdebench_file_goes_through_trajectory_windows(tmp_path):
    path = tmp_path / "adv.hdf5"
    data, _, _ = _pdebench_tensor_1d(path, n=2, t=6, x=8)
    windows = TrajectoryWindows(read_pdebench(path), ["u"], n_input=2, n_target=1, stride=2)
    per_traj = (6 - 2 - 1) // 2 + 1
    assert len(windows) == 2 * per_traj
    item = windows[per_traj + 1]  # trajectory 1, window starting at frame 2
    np.testing.assert_array_equal(item["inputs"], data[1, 2:4, :, None])
    np.testing.assert_array_equal(item["targets"], data[1, 4:5, :, None])


# ------------------------------------------------------------------------------------ The Well


def _write_well(path):
    rng = _rng(6)
    B, T, X, Y = 2, 3, 4, 5
    arrays = {
        "A": rng.random((B, T, X, Y)).astype(np.float32),
        "mask": rng.random((X, Y)).astype(np.float32),  # neither sample- nor time-varying
        "velocity": rng.random((B, T, X, Y, 2)).astype(np.float32),
        "stress": rng.random((B, T, X, Y, 2, 2)).astype(np.float32),
    }
    with h5py.File(path, "w") as f:
        f.attrs.update({"dataset_name": "gray_scott_reaction_diffusion", "grid_type": "cartesian",
                        "n_spatial_dims": 2, "n_trajectories": B, "F": 0.098, "k": 0.057})  # fmt: skip
        f.attrs["simulation_parameters"] = ["F", "k"]
        d = f.create_group("dimensions")
        d.attrs["spatial_dims"] = ["x", "y"]
        for name, values in (("time", np.arange(T) * 0.5), ("x", np.arange(X) * 0.25),
                             ("y", np.arange(Y) * 0.2)):  # fmt: skip
            d[name] = values
            d[name].attrs.update({"sample_varying": False, "time_varying": name == "time"})
        bc = f.create_group("boundary_conditions/x_periodic")
        bc.attrs.update({"associated_dims": ["x"], "associated_fields": [], "bc_type": "periodic",
                         "sample_varying": False, "time_varying": False})  # fmt: skip
        bc["mask"] = np.ones(X, dtype=bool)
        bc = f.create_group("boundary_conditions/y_wall")
        bc.attrs.update({"associated_dims": ["y"], "bc_type": "wall"})
        s = f.create_group("scalars")
        s.attrs["field_names"] = ["F", "k"]
        s["F"], s["k"] = np.array([0.098]), np.array([0.057])
        for group, names in (("t0_fields", ["A", "mask"]), ("t1_fields", ["velocity"]),
                             ("t2_fields", ["stress"])):  # fmt: skip
            g = f.create_group(group)
            g.attrs["field_names"] = names
            for name in names:
                g[name] = arrays[name]
                varying = name != "mask"
                g[name].attrs.update({"dim_varying": [True, True], "sample_varying": varying,
                                      "time_varying": varying})  # fmt: skip
    return arrays


def test_well_schema(tmp_path):
    path = tmp_path / "gray_scott_train_0.hdf5"
    arrays = _write_well(path)
    assert detect_layout(path) == "well"
    ds = open_trajectories(path)
    assert ds["A"].dims == ("sample", "time", "x", "y")
    np.testing.assert_array_equal(ds["A"].values, arrays["A"])
    assert ds["mask"].dims == ("x", "y")  # the flags say no sample/time axis: kept absent
    np.testing.assert_array_equal(ds["mask"].values, arrays["mask"])
    np.testing.assert_array_equal(ds["velocity_x"].values, arrays["velocity"][..., 0])
    np.testing.assert_array_equal(ds["velocity_y"].values, arrays["velocity"][..., 1])
    np.testing.assert_array_equal(ds["stress_xy"].values, arrays["stress"][..., 0, 1])
    np.testing.assert_array_equal(ds["stress_yx"].values, arrays["stress"][..., 1, 0])
    np.testing.assert_array_equal(ds["time"].values, np.arange(3) * 0.5)
    np.testing.assert_array_equal(ds["y"].values, np.arange(5) * 0.2)
    np.testing.assert_allclose(ds.attrs["F"], 0.098, rtol=1e-15)
    assert ds.attrs["dataset_name"].startswith("gray")
    assert ds.attrs["bc_x"] == "periodic" and ds.attrs["bc_y"] == "wall"
    assert json.loads(ds.attrs["boundary_conditions"])["y_wall"]["bc_type"] == "wall"
    np.testing.assert_allclose(ds.attrs["scalar_k"], 0.057, rtol=1e-15)
    # broadcasting an absent axis is xarray's job
    assert (ds["A"] * ds["mask"]).dims == ("sample", "time", "x", "y")


def test_well_inconsistent_flags_are_reported(tmp_path):
    path = tmp_path / "bad_well.hdf5"
    _write_well(path)
    with h5py.File(path, "a") as f:
        f["t0_fields/A"].attrs["sample_varying"] = False
    with pytest.raises(
        ValueError, match=r"t0_fields/A: the sample_varying.* dims \('time', 'x', 'y'\)"
    ):
        read_well(path)


# ------------------------------------------------------------------------------------ jax-cfd


def test_jaxcfd_netcdf(tmp_path):
    rng = _rng(7)
    u = rng.random((2, 3, 4, 4)).astype(np.float32)
    v = rng.random((2, 3, 4, 4)).astype(np.float32)
    src = xr.Dataset(
        {
            "u": (("sample", "time", "x", "y"), u, {"offset": [1.0, 0.5]}),
            "v": (("sample", "time", "x", "y"), v, {"offset": [0.5, 1.0]}),
        },
        coords={"time": np.arange(3) * 0.1, "x": np.arange(4) / 4, "y": np.arange(4) / 4},
        attrs={
            "ndim": 2,
            "domain_size": 6.283,
            "stable_time_step": 0.007,
            "physics_config_str": "viscosity = 0.001",
        },
    )
    path = tmp_path / "kolmogorov.nc"
    src.to_netcdf(path, engine="netcdf4")
    assert detect_layout(path) == "jax-cfd"
    for engine in ("h5netcdf", "netcdf4"):
        ds = open_trajectories(path, engine=engine)
        np.testing.assert_array_equal(ds["u"].values, u)
        np.testing.assert_array_equal(ds["u"].attrs["offset"], [1.0, 0.5])
        np.testing.assert_array_equal(ds["v"].attrs["offset"], [0.5, 1.0])
        assert ds.attrs["physics_config_str"] == "viscosity = 0.001"
        ds.close()
    # a single trajectory stored (x, y, time) gets a sample axis and the common axis order
    one = src.isel(sample=0).transpose("x", "y", "time")
    one.to_netcdf(tmp_path / "one.nc", engine="h5netcdf")
    ds = read_jaxcfd(tmp_path / "one.nc")
    assert ds["v"].dims == ("sample", "time", "x", "y")
    np.testing.assert_array_equal(ds["v"].values[0], v[0])


# ------------------------------------------------------------------------------------ errors


def test_unknown_layout_lists_keys_and_layouts(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["foo"] = np.zeros(3)
        f.create_group("bar")
    with pytest.raises(ValueError, match=r"other.h5: unknown trajectory layout: found keys \['bar', 'foo'\].*layouts tried: sciml.*PDEBench.*The Well.*jax-cfd"):  # fmt: skip
        open_trajectories(path)
    with pytest.raises(
        ValueError, match=r"other.h5: not a PDEBench file: found keys \['bar', 'foo'\]"
    ):
        read_pdebench(path)
    with pytest.raises(ValueError, match=r"other.h5: not a file of The Well: found keys"):
        read_well(path)
    with pytest.raises(ValueError, match=r"layout: expected one of .*found 'zarr'"):
        open_trajectories(path, layout="zarr")


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / "adv.hdf5"
    _pdebench_tensor_1d(path, n=8, t=6, x=64)
    raw = path.read_bytes()
    cut = tmp_path / "cut.hdf5"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut.hdf5: not a readable HDF5/netCDF4 file \(\d+ bytes"):
        open_trajectories(cut)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match=r"text.h5: not a readable HDF5/netCDF4 file"):
        read_pdebench(tmp_path / "text.h5")
    with pytest.raises(FileNotFoundError, match=r"nothere.h5: no such file"):
        open_trajectories(tmp_path / "nothere.h5")
    with pytest.raises(ValueError, match=r"expected a file, found a directory"):
        open_trajectories(tmp_path)


def test_pdebench_inconsistent_coordinates(tmp_path):
    path = tmp_path / "bad.hdf5"
    with h5py.File(path, "w") as f:
        f["tensor"] = np.zeros((1, 4, 8), np.float32)
        f["x-coordinate"] = np.zeros(7)
    with pytest.raises(ValueError, match=r"x-coordinate: expected 8 entries .*found 7"):
        read_pdebench(path)
    with h5py.File(path, "w") as f:
        f["tensor"] = np.zeros((1, 4, 8), np.float32)
        f["t-coordinate"] = np.zeros(9)
    with pytest.raises(
        ValueError, match=r"t-coordinate: expected 4 or 5 entries for 4 frames, found 9"
    ):
        read_pdebench(path)


def test_other_netcdf_trajectories_get_the_common_axis_order(tmp_path):
    temp = _rng(8).random((4, 3)).astype(np.float32)
    xr.Dataset(
        {"T": (("x", "time"), temp, {"units": "K"})}, coords={"time": [0.0, 1.0, 2.0]}
    ).to_netcdf(tmp_path / "g.nc", engine="netcdf4")
    assert detect_layout(tmp_path / "g.nc") == "netcdf"
    ds = open_trajectories(tmp_path / "g.nc")
    assert ds["T"].dims == ("sample", "time", "x") and ds["T"].attrs["units"] == "K"
    np.testing.assert_array_equal(ds["T"].values[0], temp.T)
    ds.close()


def test_lazy_reads_follow_a_replaced_file(tmp_path):
    path = tmp_path / "adv.hdf5"
    first, _, _ = _pdebench_tensor_1d(path, n=2, t=3, x=4)
    ds = read_pdebench(path)
    np.testing.assert_array_equal(ds["u"].values, first)
    with h5py.File(tmp_path / "new.hdf5", "w") as f:
        f["tensor"] = first + 1
    os.replace(tmp_path / "new.hdf5", path)
    np.testing.assert_array_equal(read_pdebench(path)["u"].values, first + 1)


def test_netcdf3_files(tmp_path):
    u = _rng(9).random((3, 4, 4)).astype(np.float32)
    xr.Dataset(
        {"u": (("time", "x", "y"), u, {"offset": [1.0, 0.5]})},
        coords={"x": np.arange(4.0)},
        attrs={"stable_time_step": 0.01},
    ).to_netcdf(tmp_path / "cfd3.nc", engine="scipy")  # netCDF-3, as xarray writes without netCDF4
    assert detect_layout(tmp_path / "cfd3.nc") == "jax-cfd"
    ds = open_trajectories(tmp_path / "cfd3.nc")
    assert ds["u"].dims == ("sample", "time", "x", "y")
    np.testing.assert_array_equal(ds["u"].values[0], u)
    np.testing.assert_array_equal(ds["u"].attrs["offset"], [1.0, 0.5])
    ds.close()
    raw = (tmp_path / "cfd3.nc").read_bytes()
    (tmp_path / "cut3.nc").write_bytes(raw[:200])
    with pytest.raises(ValueError, match=r"cut3.nc: not a readable netCDF-3 file \(200 bytes"):
        open_trajectories(tmp_path / "cut3.nc")
    xr.Dataset({"q": (("a",), np.arange(3.0))}).to_netcdf(tmp_path / "q3.nc", engine="scipy")
    with pytest.raises(
        ValueError, match=r"q3.nc: unknown trajectory layout \(netCDF-3\): found variables \['q'\]"
    ):
        open_trajectories(tmp_path / "q3.nc")


def test_close_releases_the_handle_and_reads_reopen(tmp_path):
    from sciml.datasets import lazy_h5

    path = tmp_path / "adv.hdf5"
    data, _, _ = _pdebench_tensor_1d(path, n=2, t=3, x=4)
    ds = open_trajectories(path)
    np.testing.assert_array_equal(ds["u"].values, data)
    assert str(path) in lazy_h5._HANDLES
    ds.close()
    assert str(path) not in lazy_h5._HANDLES
    with h5py.File(path, "a") as f:  # writable again: no read handle is left open
        f["tensor"][0, 0, 0] = 42.0
    np.testing.assert_array_equal(ds["u"].values[0, 0, 0], 42.0)  # a later read reopens
    ds.close()


def test_lazy_views_pickle_and_read_from_threads(tmp_path):
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "2D_diff-react_NA_NA.h5"
    seeds = [_rng(i).random((4, 3, 3, 2)).astype(np.float32) for i in range(6)]
    with h5py.File(path, "w") as f:
        for i, data in enumerate(seeds):
            f[f"{i:04d}/data"] = data
    ds = pickle.loads(pickle.dumps(open_trajectories(path)))  # picklable: no h5py objects inside
    stacked = np.stack(seeds)

    def read(i):
        return ds["v"].isel(sample=i % 6, time=i % 4).values

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(read, range(48)))
    for i, got in enumerate(results):
        np.testing.assert_array_equal(got, stacked[i % 6, i % 4, ..., 1])
