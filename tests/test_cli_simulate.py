"""`sciml simulate`: files from the registry's solvers, determinism, and one-line errors."""

from __future__ import annotations

import json
import os
import re
from types import SimpleNamespace

import h5py
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from sciml.cli import main


def _simulate(*args: str) -> int:
    return main(["simulate", *args])


def _one_line_error(capsys, pattern: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("sciml simulate: error: ")

    assert re.search(pattern, err), err


def test_heat1d_file_matches_the_exact_fourier_decay(tmp_path, capsys):
    out = tmp_path / "heat.nc"
    rc = _simulate("heat1d", "--out", str(out), "--samples", "2", "--steps", "6",
                   "--save-every", "3", "--grid", "32", "--set", "nu=0.05", "--seed", "4")  # fmt: skip
    assert rc == 0 and "wrote" in capsys.readouterr().out
    with xr.open_dataset(out, engine="netcdf4") as ds:
        assert dict(ds.sizes) == {"sample": 2, "time": 3, "x": 32}
        assert ds.attrs["equation"] == "heat1d" and int(ds.attrs["seed"]) == 4
        assert json.loads(ds.attrs["parameters"])["nu"] == 0.05
        assert ds.attrs["boundary"] == "periodic" and "sciml_version" in ds.attrs
        assert ds.attrs["solver"] and ds["x"].attrs["units"] and ds["time"].attrs["units"]
        np.testing.assert_allclose(
            ds.attrs["dx"], float(ds.attrs["domain_length"]) / 32, rtol=1e-15
        )
        u = ds["u"].values.astype(np.float64)
        t = ds["time"].values
        length = float(ds.attrs["domain_length"])
    np.testing.assert_allclose(t, np.arange(3) * 3 * float(ds.attrs["dt"]), rtol=1e-12)
    # u_t = nu u_xx: each Fourier mode decays like exp(-nu k^2 t)
    k = 2 * np.pi * np.fft.fftfreq(32, d=length / 32)
    exact = np.fft.ifft(
        np.fft.fft(u[:, :1], axis=-1) * np.exp(-0.05 * k**2 * t[None, :, None]), axis=-1
    ).real
    scale = np.abs(u[:, 0]).max()
    np.testing.assert_allclose(u, exact, rtol=0, atol=2e-5 * scale)  # float32 solver


def test_same_seed_same_file_contents_and_both_engines(tmp_path):
    args = ["heat2d", "--samples", "2", "--steps", "2", "--grid", "8", "6", "--seed", "9"]
    assert _simulate(*args, "--out", str(tmp_path / "a.nc")) == 0
    assert _simulate(*args, "--out", str(tmp_path / "b.nc")) == 0
    a = xr.open_dataset(tmp_path / "a.nc", engine="h5netcdf")
    b = xr.open_dataset(tmp_path / "b.nc", engine="netcdf4")
    assert a["u"].dims == ("sample", "time", "x", "y") and a["u"].shape == (2, 3, 8, 6)
    np.testing.assert_array_equal(a["u"].values, b["u"].values)
    assert a.attrs.keys() == b.attrs.keys()
    for key in a.attrs:
        np.testing.assert_array_equal(a.attrs[key], b.attrs[key], err_msg=key)
    a.close()
    b.close()
    # no timestamps are written: the two files are byte-identical
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()


@pytest.fixture
def toy_growth(monkeypatch):
    """Register ``toy_growth``: u <- rate * u (blows up in float32 for rate 1e20), with a
    ``check_dt`` refusing dt > 2 (the stability check of the registry's solvers)."""
    from sciml.solvers.registry import EQUATIONS

    def make_step(grid, dt, rate):
        def step(u):
            return u * rate

        def check_dt(state):
            if dt > 2:
                raise ValueError(
                    f"dt: {dt:g} is above the stable limit 2 of toy_growth; use dt <= 2"
                )

        step.dt, step.check_dt = dt, check_dt
        return step

    spec = SimpleNamespace(
        name="toy_growth", description="u_(n+1) = rate u_n", ndim=1, channels=("u",),
        units={}, params={"rate": 1e20}, validate=lambda p: {"rate": float(p["rate"])},
        default_grid=((8,), (1.0,)), default_dt=0.5, make_step=make_step,
        initial_condition=lambda grid, n, *, key, rate: jnp.ones((n, *grid.shape, 1)),
        solver="multiply",
    )  # fmt: skip
    monkeypatch.setitem(EQUATIONS, "toy_growth", spec)


def test_bad_input_is_one_line(tmp_path, capsys, toy_growth):
    out = str(tmp_path / "x.nc")
    assert _simulate("heat9d", "--out", out) == 2
    _one_line_error(capsys, r"unknown name 'heat9d'; valid names: .*heat1d.*ks1d")
    assert _simulate("heat1d", "--out", out, "--set", "kappa=1") == 2
    _one_line_error(capsys, r"--set kappa: unknown parameter of heat1d; valid parameters: .*nu")
    assert _simulate("heat1d", "--out", out, "--set", "nu=-0.1") == 2
    _one_line_error(capsys, r"'nu' expected a float >= 0, found -0.1; pass --set nu=")
    assert _simulate("heat1d", "--out", out, "--set", "nu=abc") == 2
    _one_line_error(capsys, r"'nu' expected a float.*found 'abc'")
    assert _simulate("heat1d", "--out", out, "--set", "nu") == 2
    _one_line_error(capsys, r"--set nu: expected NAME=VALUE")
    assert _simulate("fd_heat1d", "--out", out, "--grid", "16", "--dt", "100") == 2
    _one_line_error(capsys, r"above the stable limit of fd_heat1d.*use dt <= 0\.\d+")
    assert _simulate("toy_growth", "--out", out, "--dt", "3") == 2  # the step's check_dt refuses
    _one_line_error(capsys, r"--dt 3: dt: 3 is above the stable limit 2 .*; use dt <= 2")
    assert _simulate("heat1d", "--out", out, "--steps", "5", "--save-every", "2") == 2
    _one_line_error(capsys, r"--steps: expected a multiple of --save-every \(2\)")
    assert _simulate("heat1d") == 2
    _one_line_error(capsys, r"--out: missing")
    assert not os.path.exists(out)
    with open(out, "w") as fh:
        fh.write("keep me")
    assert _simulate("heat1d", "--out", out, "--grid", "8", "--steps", "1") == 2
    _one_line_error(capsys, r"--out .*x.nc: the file exists; pass --overwrite")
    assert open(out).read() == "keep me"
    args = ["--grid", "8", "--steps", "1", "--overwrite", "--compress", "0"]
    assert _simulate("heat1d", "--out", out, *args) == 0
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds["u"].shape == (1, 2, 8)
    with h5py.File(out, "r") as f:
        assert f["u"].compression is None and f["u"].chunks == (1, 1, 8)


def test_blow_up_surfaces_as_one_line(tmp_path, capsys, toy_growth):
    out = tmp_path / "g.nc"
    assert _simulate("toy_growth", "--out", str(out), "--samples", "3", "--steps", "4") == 2
    _one_line_error(capsys, r"sample 0 is NaN/Inf by step 2 \(t = 1\); nothing was written")
    assert os.listdir(tmp_path) == []


def test_list_equations(capsys):
    assert _simulate("--list") == 0
    out = capsys.readouterr().out
    assert "ks1d" in out and "heat2d" in out and "nu=" in out


def test_non_periodic_boundary_is_recorded(tmp_path):
    out = tmp_path / "fd.nc"
    args = [
        "--grid",
        "16",
        "--steps",
        "2",
        "--set",
        "boundary=dirichlet",
        "--set",
        "boundary_value=1",
    ]
    assert _simulate("fd_heat1d", "--out", str(out), *args) == 0
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.attrs["boundary"] == "dirichlet" and float(ds.attrs["boundary_value"]) == 1.0
        dx = float(ds.attrs["dx"])
        np.testing.assert_allclose(ds["x"].values, (np.arange(16) + 0.5) * dx, rtol=1e-14)
