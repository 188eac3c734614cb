"""sciml trajectory files: layout, both xarray engines, atomic writes, and simulate_to_file."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from sciml.datasets import (
    SimulationBlowUpError,
    TrajectoryWriter,
    read_trajectories,
    simulate_to_file,
    write_trajectories,
)
from sciml.solvers import BlowUpError, Grid

ENGINES = ("h5netcdf", "netcdf4")


def _sample_data(shape=(3, 4, 8, 6, 2), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("engine", ENGINES)
def test_roundtrip_opens_with_both_engines(tmp_path, engine):
    grid = Grid((8, 6), (1.0, 2.0))
    data = _sample_data()
    times = np.arange(4) * 0.25
    path = tmp_path / "a.nc"
    write_trajectories(
        path,
        data,
        fields=("u", "v"),
        grid=grid,
        times=times,
        units={"u": "m/s", "x": "m", "t": "s"},
        attrs={"equation": "toy", "parameters": {"nu": 0.1}, "seed": 7, "flag": True},
    )
    with xr.open_dataset(path, engine=engine) as ds:
        assert dict(ds.sizes) == {"sample": 3, "time": 4, "x": 8, "y": 6}
        assert ds["u"].dims == ("sample", "time", "x", "y")
        np.testing.assert_array_equal(ds["u"].values, data[..., 0])
        np.testing.assert_array_equal(ds["v"].values, data[..., 1])
        np.testing.assert_allclose(ds["x"].values, grid.coords()[0], rtol=0, atol=0)
        np.testing.assert_allclose(ds["y"].values, grid.coords()[1], rtol=0, atol=0)
        np.testing.assert_allclose(ds["time"].values, times, rtol=0, atol=0)
        assert ds["x"].attrs["units"] == "m" and ds["time"].attrs["units"] == "s"
        assert ds["u"].attrs["units"] == "m/s" and ds["v"].attrs["units"] == "1"
        assert ds.attrs["sciml_format"] == "sciml-trajectories"
        assert ds.attrs["equation"] == "toy" and int(ds.attrs["seed"]) == 7
        assert json.loads(ds.attrs["parameters"]) == {"nu": 0.1}
        assert ds.attrs["boundary"] == "periodic" and int(ds.attrs["flag"]) == 1
        np.testing.assert_allclose(ds.attrs["dx"], [0.125, 2.0 / 6.0], rtol=1e-15)
    with h5py.File(path, "r") as f:  # chunked one (sample, time) frame per chunk, compressed
        assert f["u"].chunks == (1, 1, 8, 6)
        assert f["u"].compression == "gzip" and f["u"].shuffle
        assert f["u"].dims[0][0].name == "/sample"  # HDF5 dimension scales (netCDF4 model)
        assert f["u"].dims[3][0].name == "/y"


def test_incremental_writes_match_one_shot(tmp_path):
    grid = Grid((5,), (2.0,))
    data = _sample_data((4, 6, 5, 1), seed=1)
    with TrajectoryWriter(
        tmp_path / "b.nc", fields=("u",), n_samples=4, times=np.arange(6.0), grid=grid
    ) as w:
        for s in (0, 2):
            for t in (0, 3):
                w.write(data[s : s + 2, t : t + 3], sample_start=s, time_start=t)
    ds = read_trajectories(tmp_path / "b.nc")
    np.testing.assert_array_equal(ds["u"].values, data[..., 0])
    ds.close()


def test_crash_leaves_no_file_and_keeps_the_old_one(tmp_path):
    grid = Grid((4,), (1.0,))
    path = tmp_path / "c.nc"
    with pytest.raises(RuntimeError, match="boom"):
        with TrajectoryWriter(path, fields=("u",), n_samples=2, times=[0.0], grid=grid) as w:
            w.write(np.zeros((1, 1, 4, 1)), sample_start=0)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    path.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="boom"):
        with TrajectoryWriter(
            path, fields=("u",), n_samples=2, times=[0.0], grid=grid, overwrite=True
        ):
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["c.nc"]


def test_bad_writer_input(tmp_path):
    grid = Grid((4,), (1.0,))
    (tmp_path / "exists.nc").write_bytes(b"x")
    with pytest.raises(FileExistsError, match=r"exists.nc: the file exists; pass --overwrite"):
        TrajectoryWriter(tmp_path / "exists.nc", fields=("u",), n_samples=1, times=[0.0], grid=grid)
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        TrajectoryWriter(tmp_path / "no" / "a.nc", fields=("u",), n_samples=1, times=[0], grid=grid)
    with pytest.raises(ValueError, match="clash with dimension names"):
        TrajectoryWriter(tmp_path / "d.nc", fields=("x",), n_samples=1, times=[0.0], grid=grid)
    with TrajectoryWriter(
        tmp_path / "e.nc", fields=("u",), n_samples=1, times=[0.0], grid=grid
    ) as w:
        with pytest.raises(
            ValueError, match=r"expected data of shape \(batch, time, 4, 1\), found"
        ):
            w.write(np.zeros((1, 1, 5, 1)), sample_start=0)
        with pytest.raises(ValueError, match=r"samples 1:2 outside 0:1"):
            w.write(np.zeros((1, 1, 4, 1)), sample_start=1)


def test_read_trajectories_refuses_foreign_and_corrupt_files(tmp_path):
    xr.Dataset({"u": (("t", "x"), np.zeros((2, 3)))}).to_netcdf(
        tmp_path / "plain.nc", engine="h5netcdf"
    )
    with pytest.raises(ValueError, match=r"plain.nc: expected a sciml trajectory file .* found"):
        read_trajectories(tmp_path / "plain.nc")
    grid = Grid((16,), (1.0,))
    write_trajectories(
        tmp_path / "ok.nc", _sample_data((2, 3, 16, 1)), fields=("u",), grid=grid, times=[0, 1, 2]
    )
    raw = (tmp_path / "ok.nc").read_bytes()
    (tmp_path / "cut.nc").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ValueError, match=r"cut.nc: not a readable HDF5/netCDF4 file .*truncated"):
        read_trajectories(tmp_path / "cut.nc")
    with pytest.raises(FileNotFoundError, match=r"missing.nc: no such file"):
        read_trajectories(tmp_path / "missing.nc")


# ---------------------------------------------------------------- simulate_to_file (fake spec)


class _HeatStep:
    """Exact spectral step of u_t = nu u_xx (the reference is the same formula in NumPy)."""

    def __init__(self, grid, dt, nu):
        self.grid, self.dt, self.nu = grid, dt, nu
        self.decay = jnp.exp(-nu * jnp.asarray(grid.wavenumbers()[0]) ** 2 * dt)

    def __call__(self, u):
        return jnp.real(jnp.fft.ifft(jnp.fft.fft(u, axis=1) * self.decay[:, None], axis=1))

    def check_dt(self, state):
        if self.dt > 1.0:
            raise ValueError(f"dt: {self.dt} is above the stable limit; use dt <= 1")


def _validate(params):
    if not isinstance(params["nu"], (int, float)) or params["nu"] < 0:
        raise ValueError(f"toy_heat: parameter 'nu' expected a float >= 0, found {params['nu']!r}")
    return {"nu": float(params["nu"])}


def _ic(grid, n, *, key, nu):
    x = jnp.asarray(grid.coords()[0])
    a = jax.random.normal(key, (n, 2))
    u = a[:, :1] * jnp.sin(2 * jnp.pi * x / grid.length[0]) + a[:, 1:] * jnp.cos(
        4 * jnp.pi * x / grid.length[0]
    )
    return u[..., None]


TOY_HEAT = SimpleNamespace(
    name="toy_heat",
    description="u_t = nu u_xx",
    ndim=1,
    channels=("u",),
    units={"u": "K", "x": "m", "t": "s"},
    params={"nu": 0.1},
    validate=_validate,
    default_grid=((16,), (2 * np.pi,)),
    default_dt=0.1,
    make_step=lambda grid, dt, nu: _HeatStep(grid, dt, nu),
    initial_condition=_ic,
    solver="exact spectral",
)


@pytest.mark.parametrize("dtype, atol", [("float32", 2e-5), ("float64", 1e-12)])
def test_simulate_matches_exact_heat_solution(tmp_path, request, dtype, atol):
    if dtype == "float64":
        request.getfixturevalue("x64")
    path = simulate_to_file(
        TOY_HEAT, str(tmp_path / "h.nc"), n_samples=3, n_steps=6, save_every=2, seed=3,
        params={"nu": 0.2}, frames_per_segment=2, dtype=dtype,
    )  # fmt: skip
    with xr.open_dataset(path, engine="netcdf4") as ds:
        assert ds["u"].dtype == np.dtype(dtype)
        u = ds["u"].values
        t = ds["time"].values
        np.testing.assert_allclose(t, [0.0, 0.2, 0.4, 0.6], rtol=1e-12)
        x = ds["x"].values
        assert ds.attrs["equation"] == "toy_heat" and ds.attrs["solver"] == "exact spectral"
        assert int(ds.attrs["seed"]) == 3 and float(ds.attrs["dt"]) == 0.1
        assert json.loads(ds.attrs["parameters"]) == {"nu": 0.2}
        assert ds["u"].attrs["units"] == "K" and ds["time"].attrs["units"] == "s"
    # exact: sin(x) decays like exp(-nu t), cos(2x) like exp(-4 nu t)
    a = u[:, 0, :]
    s = 2 / 16 * (a * np.sin(x)).sum(-1)
    c = 2 / 16 * (a * np.cos(2 * x)).sum(-1)
    expected = s[:, None, None] * np.exp(-0.2 * t)[None, :, None] * np.sin(x) + c[
        :, None, None
    ] * np.exp(-0.8 * t)[None, :, None] * np.cos(2 * x)
    np.testing.assert_allclose(u, expected, rtol=0, atol=atol)  # FFT round-off of the dtype


def test_simulate_is_deterministic_and_batch_independent(tmp_path):
    kw = {"n_samples": 4, "n_steps": 4, "save_every": 1, "seed": 11}
    paths = [
        simulate_to_file(TOY_HEAT, str(tmp_path / "a.nc"), batch_size=4, **kw),
        simulate_to_file(TOY_HEAT, str(tmp_path / "b.nc"), batch_size=4, **kw),
        simulate_to_file(
            TOY_HEAT, str(tmp_path / "c.nc"), batch_size=3, frames_per_segment=1, **kw
        ),
        simulate_to_file(TOY_HEAT, str(tmp_path / "d.nc"), **{**kw, "seed": 12}),
    ]
    opened = [read_trajectories(p) for p in paths]
    a, b, c, d = (ds["u"].values for ds in opened)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert np.abs(a - d).max() > 0.1  # another seed, other initial conditions
    assert opened[0].attrs.keys() == opened[1].attrs.keys()
    for key, value in opened[0].attrs.items():
        np.testing.assert_array_equal(value, opened[1].attrs[key], err_msg=key)
    for ds in opened:
        ds.close()


def _grow_step(grid, dt, nu):
    def step(u):
        return jnp.where(u > 0.5, u * 1e20, u)  # float32 overflows after 2 steps where u > 0.5

    step.dt = dt
    return step


def _constant_ic(grid, n, *, key, nu):
    return jax.random.uniform(key, ())[None, None, None] * jnp.ones((n, *grid.shape, 1))


def test_blow_up_names_sample_step_and_time_and_writes_nothing(tmp_path):
    spec = SimpleNamespace(**{**vars(TOY_HEAT), "make_step": _grow_step})
    spec.initial_condition = _constant_ic
    key = jax.random.key(3)
    levels = [float(jax.random.uniform(jax.random.fold_in(key, i), ())) for i in range(6)]
    first = next(i for i, v in enumerate(levels) if v > 0.5)
    assert first > 2  # must name a sample in a later batch, not an index within the batch
    with pytest.raises(
        SimulationBlowUpError,
        match=rf"sample {first} is NaN/Inf by step 2 \(t = 0.2\).*reduce --dt",
    ) as info:
        simulate_to_file(spec, str(tmp_path / "x.nc"), n_samples=6, n_steps=4, seed=3, batch_size=2)
    assert isinstance(info.value, BlowUpError) and isinstance(info.value, ValueError)
    assert os.listdir(tmp_path) == []


def test_simulate_bad_arguments(tmp_path):
    out = str(tmp_path / "y.nc")
    with pytest.raises(ValueError, match=r"--steps: expected a multiple of --save-every \(3\)"):
        simulate_to_file(TOY_HEAT, out, n_steps=4, save_every=3)
    with pytest.raises(ValueError, match=r"--set kappa: unknown parameter of toy_heat; valid .*nu"):
        simulate_to_file(TOY_HEAT, out, params={"kappa": 1.0})
    with pytest.raises(ValueError, match=r"'nu' expected a float >= 0, found -0.1"):
        simulate_to_file(TOY_HEAT, out, params={"nu": -0.1})
    with pytest.raises(ValueError, match=r"--dt: expected a time step > 0, found -1"):
        simulate_to_file(TOY_HEAT, out, dt=-1.0)
    with pytest.raises(ValueError, match=r"--dt 2: dt: 2.0 is above the stable limit; use dt <= 1"):
        simulate_to_file(TOY_HEAT, out, dt=2.0)
    with pytest.raises(ValueError, match=r"--grid: toy_heat is 1-D, expected 1 point counts"):
        simulate_to_file(TOY_HEAT, out, grid_shape=[8, 8])
    with pytest.raises(ValueError, match=r"--dtype float64: JAX runs in float32 unless x64"):
        simulate_to_file(TOY_HEAT, out, dtype="float64")
    with pytest.raises(ValueError, match=r"--compress: expected a gzip level 0-9, found 12"):
        simulate_to_file(TOY_HEAT, out, compression_level=12)
    with pytest.raises(ValueError, match=r"--samples: expected an integer >= 1, found 0"):
        simulate_to_file(TOY_HEAT, out, n_samples=0)
    assert os.listdir(tmp_path) == []


def test_trajectory_windows_read_our_files(tmp_path):
    from sciml.datasets import TrajectoryWindows

    data = _sample_data((2, 5, 4, 3, 2), seed=4)
    path = write_trajectories(
        tmp_path / "w.nc", data, fields=("u", "v"), grid=Grid((4, 3), (1.0, 1.0)), times=range(5)
    )
    windows = TrajectoryWindows(path, ["v", "u"], n_input=2, n_target=2, stride=1)
    assert len(windows) == 2 * 2
    item = windows[3]  # trajectory 1, window starting at frame 1
    np.testing.assert_array_equal(item["inputs"], data[1, 1:3][..., ::-1])
    np.testing.assert_array_equal(item["targets"], data[1, 3:5][..., ::-1])
