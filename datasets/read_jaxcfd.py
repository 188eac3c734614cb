"""Read jax-cfd netCDF files into the common xarray form (lazily, through h5netcdf).

jax-cfd (Kochkov et al., PNAS 2021) saves trajectories with xarray: dims
``(sample, time, x, y[, z])``, velocity components ``u``, ``v``[, ``w``] each carrying an
``offset`` attribute (its staggered position in units of the cell size, e.g. ``u`` on x-faces at
``(1.0, 0.5)``), an optional scalar ``c``, and dataset attributes ``ndim``, ``domain_size``,
``save_grid_size``, ``stable_time_step`` and ``physics_config_str``. This reader keeps the
variables, their ``offset`` attributes and the dataset attributes as they are; it adds a length-1
``sample`` axis to a single trajectory and puts every variable's axes in the order
``(sample, time, x, y[, z])``.
"""

from __future__ import annotations

import os

import xarray as xr
from sciml.datasets.netcdf_open import open_xarray

__all__ = ["JAXCFD_ATTRS", "common_order", "is_jaxcfd_attrs", "open_netcdf", "read_jaxcfd"]

JAXCFD_ATTRS = ("physics_config_str", "stable_time_step", "save_grid_size", "domain_size")
_ORDER = ("sample", "time", "x", "y", "z")


def is_jaxcfd_attrs(attrs, variables) -> bool:
    """True if root attributes / variables (name -> attrs mapping) look like a jax-cfd file."""
    if any(k in attrs for k in JAXCFD_ATTRS):
        return True
    return "u" in variables and "offset" in variables["u"]


def open_netcdf(path: str | os.PathLike, engine: str | None = None) -> xr.Dataset:
    """Open a netCDF4/HDF5 file (h5netcdf) or a netCDF-3 file (scipy) lazily with xarray,
    through :func:`sciml.datasets.netcdf_open.open_xarray`; an unreadable file is a one-line
    :class:`~sciml.errors.DataFileError`."""
    return open_xarray(path, engine=engine)


def common_order(ds: xr.Dataset) -> xr.Dataset:
    """Add missing ``sample``/``time`` axes (length 1) and order every variable's axes as
    ``(sample, time, x, y, z, <others>)``."""
    if "time" not in ds.dims:
        ds = ds.expand_dims("time")
    if "sample" not in ds.dims:
        ds = ds.expand_dims("sample")
    for name in list(ds.data_vars):
        var = ds[name]
        order = [d for d in _ORDER if d in var.dims]
        order += [d for d in var.dims if d not in order]
        ds[name] = var.transpose(*order)
    return ds


def read_jaxcfd(path: str | os.PathLike, *, engine: str | None = None) -> xr.Dataset:
    """Open a jax-cfd netCDF file lazily; dims ``(sample, time, x, y[, z])``, offsets kept.

    Args:
      path: the ``.nc`` file (netCDF4/HDF5, or netCDF-3 as xarray writes without netCDF4).
      engine: xarray engine, ``"h5netcdf"`` (default) or ``"netcdf4"`` (netCDF-3: ``"scipy"``).
    """
    path = os.fspath(path)
    ds = open_netcdf(path, engine)
    if "x" not in ds.dims:
        found = dict(ds.sizes)
        ds.close()
        raise ValueError(
            f"{path}: not a jax-cfd trajectory file: expected dims (sample, time, x, y[, z]), "
            f"found {found}"
        )
    ds = common_order(ds)
    ds.attrs["source_format"] = "jax-cfd"
    ds.attrs["source_file"] = os.path.abspath(path)
    return ds
