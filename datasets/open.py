"""Open any supported trajectory file in the common xarray form, detecting its layout.

Supported: plain array files (h5py/npz, :mod:`sciml.datasets.plain_layout`), sciml trajectory files (``sciml simulate``), PDEBench (all its HDF5 layouts), The Well,
jax-cfd netCDF, and any netCDF file with ``time`` and ``x`` dimensions (e.g. written by xarray;
netCDF-3 files are read with xarray's scipy engine). Every reader returns an ``xarray.Dataset`` with dims
``(sample, time, x[, y[, z]])``, one variable per field (vector fields split per component),
coordinates with units where the source has them, and the source's attributes; values stay on
disk until indexed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import xarray as xr
from sciml.datasets.lazy_h5 import check_hdf5_file, decode_attr, is_netcdf3
from sciml.datasets.plain_layout import is_plain_array_file, read_plain
from sciml.datasets.read_jaxcfd import common_order, is_jaxcfd_attrs, open_netcdf, read_jaxcfd
from sciml.datasets.read_pdebench import detect_pdebench_layout, read_pdebench
from sciml.datasets.read_well import is_well_file, read_well
from sciml.datasets.trajectory_file import FORMAT_NAME, read_trajectories

from sciml.choices import check_choice
from sciml.errors import reading

__all__ = ["LAYOUTS", "detect_layout", "open_trajectories"]

LAYOUTS = {
    "sciml": f"sciml trajectory file (root attribute sciml_format = {FORMAT_NAME!r})",
    "pdebench": "PDEBench ('tensor' | 'density'+'Vx' | seed groups '0000/data' | 'velocity'+'particles')",
    "well": "The Well ('dimensions' + 't0_fields'/'t1_fields'/'t2_fields')",
    "jax-cfd": "jax-cfd netCDF (attributes physics_config_str/stable_time_step or 'u' with 'offset')",
    "netcdf": "netCDF with dimensions 'time' and 'x' (any other xarray-written trajectories)",
    "plain": "plain arrays (.npz, or HDF5 with a rank >= 4 array) in the shape convention "
    "(sample, time, *space, channel) or with axis roles named by dims",
}


def detect_layout(path: str | os.PathLike) -> str:
    """Name of the layout of ``path`` (a key of :data:`LAYOUTS`); error lists what was found.

    Raises:
      FileNotFoundError: no such file.
      DataFileError: unknown layout, or a damaged file (names the file).
    """
    with reading(path, what="trajectory file"):
        return _detect_layout(path)


def _detect_layout(path: str | os.PathLike) -> str:
    if os.fspath(path).endswith(".npz") and os.path.isfile(path):
        return "plain"
    path = check_hdf5_file(path, allow_netcdf3=True)
    if is_netcdf3(path):
        with open_netcdf(path) as ds:
            attrs = dict(ds.attrs)
            if is_jaxcfd_attrs(attrs, {k: v.attrs for k, v in ds.variables.items()}):
                return "jax-cfd"
            if {"time", "x"} <= set(ds.dims):
                return "netcdf"
            keys = sorted(ds.variables)
        raise ValueError(
            f"{path}: unknown trajectory layout (netCDF-3): found variables {keys} and attributes "
            f"{sorted(attrs)}; layouts tried: {'; '.join(LAYOUTS.values())}"
        )
    with h5py.File(path, "r") as f:
        attrs = {k: decode_attr(v) for k, v in f.attrs.items()}
        if attrs.get("sciml_format") == FORMAT_NAME:
            return "sciml"
        if is_well_file(f):
            return "well"
        if detect_pdebench_layout(f) is not None:
            return "pdebench"
        variables = {k: dict(v.attrs) for k, v in f.items() if isinstance(v, h5py.Dataset)}
        if is_jaxcfd_attrs(attrs, variables):
            return "jax-cfd"
        scales = {k for k, v in variables.items() if v.get("CLASS") == b"DIMENSION_SCALE"}
        if {"time", "x"} <= scales:
            return "netcdf"
        keys = sorted(f.keys())
    if is_plain_array_file(path):
        return "plain"
    tried = "; ".join(LAYOUTS.values())
    raise ValueError(
        f"{path}: unknown trajectory layout: found keys {keys} and attributes {sorted(attrs)}; "
        f"layouts tried: {tried}"
    )


def open_trajectories(
    path: str | os.PathLike,
    *,
    layout: str | None = None,
    engine: str | None = None,
    variables: Sequence[str] | None = None,
    dims: str | Sequence[str] | None = None,
    dt: float | None = None,
    dx: float | Sequence[float] | None = None,
) -> xr.Dataset:
    """Open a trajectory file lazily as ``(sample, time, x[, y[, z]])`` variables.

    Args:
      path: a sciml, PDEBench, The Well or jax-cfd file.
      layout: force a layout (a key of :data:`LAYOUTS`) instead of detecting it.
      engine: xarray engine for the netCDF layouts (sciml, jax-cfd): ``"h5netcdf"`` (default)
        or ``"netcdf4"``.
      variables, dims, dt, dx: for plain array files (layout ``"plain"``, see
        :func:`sciml.datasets.plain_layout.read_plain`): the arrays to read, the role of every
        axis (``"sample,time,x,channel"``), and dt/dx when the file has no such attribute.
    """
    if layout is not None:
        check_choice(layout, sorted(LAYOUTS), name="layout")
    if layout is None and dims is None:
        with reading(path, what="trajectory file"):
            layout = _detect_layout(path)
    if layout == "plain" or dims is not None:
        if not variables:
            raise ValueError(
                f"{os.fspath(path)}: a plain array file needs variables=[...] naming its arrays"
            )
        return read_plain(path, variables, dims=dims, dt=dt, dx=dx)
    with reading(path, what="trajectory file"):
        return _open(path, layout or _detect_layout(path), engine)


def _open(path, layout: str, engine: str | None) -> xr.Dataset:
    if layout == "sciml":
        return read_trajectories(path, engine=engine)
    if layout == "pdebench":
        return read_pdebench(path)
    if layout == "well":
        return read_well(path)
    if layout == "jax-cfd":
        return read_jaxcfd(path, engine=engine)
    return _read_netcdf(path, engine)


def _read_netcdf(path, engine: str | None) -> xr.Dataset:
    path = os.fspath(path)
    ds = common_order(open_netcdf(path, engine))
    ds.attrs["source_format"] = "netCDF"
    ds.attrs["source_file"] = os.path.abspath(path)
    return ds
