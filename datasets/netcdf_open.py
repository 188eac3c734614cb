"""The one way sciml opens a netCDF/HDF5/zarr file with xarray: one engine choice per format.

Letting xarray pick the engine is a hazard: with the netCDF4 package installed it picks the
netCDF4 engine, whose C library crashes the interpreter (segmentation fault) on HDF5 half floats
(float16). Every reader therefore opens files through :func:`open_xarray`:

- netCDF4/HDF5 files with h5netcdf (pure h5py; it reads every HDF5 float type, float16 included);
- netCDF-3 files with scipy; zarr stores (``*.zarr``) with zarr;
- ``engine="netcdf4"`` only when asked for, and refused for a file that holds float16 variables.

A file that cannot be opened is a one-line :class:`~sciml.errors.DataFileError` naming it.
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import xarray as xr
from sciml.datasets.lazy_h5 import check_hdf5_file, is_netcdf3

from sciml.errors import DataFileError

__all__ = ["ENGINES", "open_xarray"]

ENGINES = ("h5netcdf", "netcdf4", "scipy", "zarr")


def _half_float_variables(path: str) -> list[str]:
    """Names of the float16 datasets of an HDF5 file (the netCDF4 C library crashes on them)."""
    found: list[str] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f" and obj.dtype.itemsize == 2:
            found.append(name)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"


def open_xarray(
    path: str | os.PathLike, *, engine: str | None = None, cache: bool = True
) -> xr.Dataset:
    """Open ``path`` lazily as an ``xarray.Dataset`` (metadata only is read).

    Args:
      path: a netCDF4/HDF5 file, a netCDF-3 file or a ``.zarr`` store.
      engine: None (h5netcdf for HDF5, scipy for netCDF-3, zarr for ``.zarr``), or one of
        :data:`ENGINES` to force it.
      cache: xarray's in-memory cache of values read (False for per-sample readers).

    Raises:
      FileNotFoundError: no such file.
      DataFileError: the file is corrupt, truncated or holds data the engine cannot read.
    """
    path = os.fspath(path)
    if engine is not None and engine not in ENGINES:
        raise ValueError(
            f"{path}: engine: expected one of {ENGINES} or None, found {engine!r}; pass "
            "engine=None (h5netcdf for netCDF4/HDF5)"
        )
    if path.rstrip("/").endswith(".zarr") or engine == "zarr":
        import importlib.util

        if importlib.util.find_spec("zarr") is None:
            raise ValueError(
                f"'{path}': a zarr store needs the zarr package, found it not installed; "
                "pip install zarr or convert the store to netCDF"
            )
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such zarr store; check the path")
        try:
            return xr.open_dataset(path, engine="zarr", cache=cache)
        except (OSError, ValueError, KeyError) as err:
            raise DataFileError(
                f"{path}: not a readable zarr store ({_first_line(err)}); rewrite it"
            ) from None
    try:
        path = check_hdf5_file(path, allow_netcdf3=True)
    except ValueError as err:
        raise DataFileError(str(err)) from None
    if is_netcdf3(path):
        chosen = engine or "scipy"
    else:
        chosen = engine or "h5netcdf"
        if chosen == "netcdf4":
            half = _half_float_variables(path)
            if half:
                raise DataFileError(
                    f"{path}: variables {half} are float16 (HDF5 half floats), which the netCDF4 "
                    "engine cannot read (it crashes); open the file with engine='h5netcdf' (the "
                    "default) or convert them to float32"
                )
    try:
        ds = xr.open_dataset(path, engine=chosen, cache=cache)
    except Exception as err:  # h5py/h5netcdf/scipy raise OSError, KeyError, ValueError, ...
        kind = "netCDF-3" if chosen == "scipy" else "netCDF4/HDF5"
        size = os.path.getsize(path)
        raise DataFileError(
            f"{path}: not a readable {kind} file ({size} bytes; {_first_line(err)}); the file is "
            "corrupt or truncated, re-download or regenerate it"
        ) from None
    for name, var in ds.variables.items():
        dtype = np.dtype(var.dtype)
        if dtype.kind == "V" or (dtype.kind == "f" and dtype.itemsize > 8):
            ds.close()
            raise DataFileError(
                f"{path}: variable {name!r} has dtype {dtype}, which sciml cannot read; convert "
                "it to float32 or float64"
            )
    return ds
