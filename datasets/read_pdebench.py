"""Read PDEBench HDF5 files lazily into the common xarray form.

PDEBench (Takamoto et al., NeurIPS 2022) publishes several HDF5 layouts; all become a Dataset
with dims ``(sample, time, x[, y[, z]])``, one variable per field, coordinates read from the file
(never assumed: the published 1D Burgers files use x in (-1, 1) while the generator config says
[0, 1]) and the root attributes (``beta``, ``Nu``, ``rho``, ``M``, ``eta``, ``zeta``...) kept.

Layouts:

- ``tensor``: one scalar field ``tensor`` (N, T, X[, Y[, Z]]) -> variable ``u``; Darcy flow's
  coefficient ``nu`` (N, X, Y) -> variable ``nu`` with dims (sample, x, y).
- ``cfd`` (compressible Navier-Stokes): ``density``, ``pressure``, ``Vx``[, ``Vy``[, ``Vz``]],
  each (N, T, X[, Y[, Z]]), kept under their PDEBench names.
- ``seed-groups``: groups ``"0000"``, ``"0001"``, ... each with ``data`` (T, X[, Y], C) and
  ``grid/x``, ``grid/y``, ``grid/t``; the groups become the ``sample`` axis and each channel one
  variable.
- ``ns-incompressible``: ``velocity`` (N, T, X, Y, 2) -> ``velocity_x``/``velocity_y``,
  ``particles`` (N, T, X, Y, 1) -> ``particles``, ``force`` (N, X, Y, 2) -> ``force_x``/``force_y``,
  ``t`` (N, T) -> the time coordinate (from sample 0) and the variable ``t_sample``.

The ``t-coordinate`` of PDEBench has one entry more than there are frames (the generator saves
``arange(steps + 1) * dt_save``); the time coordinate is its first T entries and the full array
is kept in the attribute ``t_coordinate_full`` when the two differ.
"""

from __future__ import annotations

import functools
import os
import re

import h5py
import numpy as np
import xarray as xr
from sciml.datasets.lazy_h5 import (
    H5LazyArray,
    check_hdf5_file,
    close_file,
    decode_attr,
    lazy_variable,
)

__all__ = ["PDEBENCH_LAYOUTS", "detect_pdebench_layout", "read_pdebench"]

PDEBENCH_LAYOUTS = ("tensor", "cfd", "seed-groups", "ns-incompressible")
SPATIAL = ("x", "y", "z")
_CFD_FIELDS = ("density", "pressure", "Vx", "Vy", "Vz")
_SEED = re.compile(r"^\d+$")


def detect_pdebench_layout(f: h5py.File) -> str | None:
    """The PDEBench layout of an open file, or None if it is none of them."""
    keys = set(f.keys())
    if "tensor" in keys:
        return "tensor"
    if "density" in keys and "Vx" in keys:
        return "cfd"
    if {"velocity", "particles"} <= keys:
        return "ns-incompressible"
    seeds = [k for k in keys if _SEED.match(k) and isinstance(f[k], h5py.Group)]
    if seeds and "data" in f[sorted(seeds)[0]]:
        return "seed-groups"
    return None


def _attrs(obj) -> dict:
    return {k: decode_attr(v) for k, v in obj.attrs.items()}


def _time_coord(t: np.ndarray | None, n_frames: int, attrs: dict, path: str) -> np.ndarray | None:
    if t is None:
        return None
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if t.size == n_frames:
        return t
    if t.size == n_frames + 1:
        attrs["t_coordinate_full"] = t
        return t[:n_frames]
    raise ValueError(
        f"{path}: t-coordinate: expected {n_frames} or {n_frames + 1} entries for {n_frames} frames, "
        f"found {t.size}; the file is inconsistent"
    )


def _spatial_coords(f, names: list[str], shape: tuple[int, ...], path: str) -> dict:
    coords = {}
    for dim, name, n in zip(SPATIAL, names, shape):
        if name not in f:
            continue
        c = np.asarray(f[name][()], dtype=np.float64).reshape(-1)
        if c.size != n:
            raise ValueError(
                f"{path}: {name}: expected {n} entries (the {dim} axis of the data), found {c.size}"
            )
        coords[dim] = c
    return coords


def _finish(variables: dict, coords: dict, attrs: dict, layout: str, path: str) -> xr.Dataset:
    ds = xr.Dataset(variables, coords=coords, attrs=attrs)
    for dim in coords:
        if dim in ds.coords and dim in (*SPATIAL, "time"):
            ds[dim].attrs.setdefault("long_name", f"{dim} coordinate")
    ds.attrs["source_format"] = "PDEBench"
    ds.attrs["source_layout"] = layout
    ds.attrs["source_file"] = os.path.abspath(path)
    ds.set_close(functools.partial(close_file, path))  # ds.close() releases the HDF5 handle
    return ds


def _read_tensor(f, path):
    attrs = _attrs(f)
    tensor = f["tensor"]
    if tensor.ndim < 3:
        raise ValueError(
            f"{path}: tensor: expected (N, T, X[, Y[, Z]]), found shape {tensor.shape}"
        )
    nsp = tensor.ndim - 2
    dims = ("sample", "time", *SPATIAL[:nsp])
    variables = {"u": lazy_variable(dims, H5LazyArray(path, "tensor"), {"long_name": "solution"})}
    coords = _spatial_coords(f, [f"{d}-coordinate" for d in SPATIAL[:nsp]], tensor.shape[2:], path)
    t = f["t-coordinate"][()] if "t-coordinate" in f else None
    time = _time_coord(t, tensor.shape[1], attrs, path)
    if time is not None:
        coords["time"] = time
    if "nu" in f:
        nu = f["nu"]
        if nu.shape[0] != tensor.shape[0] or nu.ndim != 1 + nsp:
            raise ValueError(
                f"{path}: nu: expected shape ({tensor.shape[0]}, {', '.join(map(str, tensor.shape[2:]))}), "
                f"found {nu.shape}"
            )
        variables["nu"] = lazy_variable(
            ("sample", *SPATIAL[:nsp]), H5LazyArray(path, "nu"), {"long_name": "coefficient field"}
        )
    return variables, coords, attrs


def _read_cfd(f, path):
    attrs = _attrs(f)
    present = [k for k in _CFD_FIELDS if k in f]
    shape = f[present[0]].shape
    for k in present:
        if f[k].shape != shape:
            raise ValueError(
                f"{path}: {k}: expected shape {shape} like {present[0]}, found {f[k].shape}"
            )
    nsp = len(shape) - 2
    dims = ("sample", "time", *SPATIAL[:nsp])
    variables = {k: lazy_variable(dims, H5LazyArray(path, k), {"long_name": k}) for k in present}
    coords = _spatial_coords(f, [f"{d}-coordinate" for d in SPATIAL[:nsp]], shape[2:], path)
    t = f["t-coordinate"][()] if "t-coordinate" in f else None
    time = _time_coord(t, shape[1], attrs, path)
    if time is not None:
        coords["time"] = time
    return variables, coords, attrs


def _channel_names(path: str, n: int) -> list[str]:
    base = os.path.basename(path).lower()
    if "diff-react" in base and n == 2:
        return ["u", "v"]
    if "rdb" in base and n == 1:
        return ["h"]
    return ["u"] if n == 1 else [f"u{c}" for c in range(n)]


def _read_seed_groups(f, path):
    attrs = _attrs(f)
    groups = sorted(k for k in f.keys() if _SEED.match(k) and isinstance(f[k], h5py.Group))
    first = f[groups[0]]
    shape = first["data"].shape
    for g in groups:
        if f[g]["data"].shape != shape:
            raise ValueError(
                f"{path}: {g}/data: expected shape {shape} like {groups[0]}/data, found "
                f"{f[g]['data'].shape}; seeds of different lengths are not supported"
            )
    if len(shape) < 3:
        raise ValueError(f"{path}: {groups[0]}/data: expected (T, X[, Y], C), found {shape}")
    nsp = len(shape) - 2
    dims = ("sample", "time", *SPATIAL[:nsp])
    names = _channel_names(path, shape[-1])
    variables = {
        name: lazy_variable(
            dims, H5LazyArray(path, "data", component=c, groups=groups), {"long_name": name}
        )
        for c, name in enumerate(names)
    }
    grid = first["grid"] if "grid" in first else {}
    coords = _spatial_coords(grid, list(SPATIAL[:nsp]), shape[1:-1], path) if grid else {}
    t = grid["t"][()] if grid and "t" in grid else None
    time = _time_coord(t, shape[0], attrs, path)
    if time is not None:
        coords["time"] = time
    attrs["seed_groups"] = groups
    for key, value in _attrs(first).items():
        attrs.setdefault(f"group_{key}", value)
    return variables, coords, attrs


def _read_ns_incompressible(f, path):
    attrs = _attrs(f)
    vel = f["velocity"]
    if vel.ndim != 5:
        raise ValueError(f"{path}: velocity: expected (N, T, X, Y, 2), found {vel.shape}")
    dims = ("sample", "time", "x", "y")
    variables = {}
    for c, comp in enumerate(SPATIAL[: vel.shape[-1]]):
        variables[f"velocity_{comp}"] = lazy_variable(
            dims, H5LazyArray(path, "velocity", component=c), {"long_name": f"velocity {comp}"}
        )
    part = f["particles"]
    for c in range(part.shape[-1]):
        name = "particles" if part.shape[-1] == 1 else f"particles_{c}"
        variables[name] = lazy_variable(dims, H5LazyArray(path, "particles", component=c))
    if "force" in f:
        for c, comp in enumerate(SPATIAL[: f["force"].shape[-1]]):
            variables[f"force_{comp}"] = lazy_variable(
                ("sample", "x", "y"), H5LazyArray(path, "force", component=c)
            )
    coords = {}
    if "t" in f:
        t = np.asarray(f["t"][()], dtype=np.float64)
        t = t.reshape(vel.shape[0], -1) if t.ndim == 2 else t.reshape(1, -1)
        time = _time_coord(t[0], vel.shape[1], attrs, path)
        if time is not None:
            coords["time"] = time
        if t.shape[0] == vel.shape[0] and t.shape[1] == vel.shape[1]:
            variables["t_sample"] = xr.Variable(("sample", "time"), t)
    return variables, coords, attrs


_READERS = {
    "tensor": _read_tensor,
    "cfd": _read_cfd,
    "seed-groups": _read_seed_groups,
    "ns-incompressible": _read_ns_incompressible,
}


def read_pdebench(path: str | os.PathLike) -> xr.Dataset:
    """Open a PDEBench HDF5 file lazily as ``(sample, time, x[, y[, z]])`` variables.

    Values are read from disk only when indexed. Raises a one-line ``ValueError`` naming the file
    and the keys found when the file is in none of the layouts listed in the module docstring.
    """
    path = check_hdf5_file(path)
    with h5py.File(path, "r") as f:
        layout = detect_pdebench_layout(f)
        if layout is None:
            raise ValueError(
                f"{path}: not a PDEBench file: found keys {sorted(f.keys())}; expected one of the "
                "layouts tensor ('tensor'), cfd ('density', 'Vx', ...), seed-groups ('0000/data'), "
                "ns-incompressible ('velocity', 'particles')"
            )
        variables, coords, attrs = _READERS[layout](f, path)
    return _finish(variables, coords, attrs, layout, path)
