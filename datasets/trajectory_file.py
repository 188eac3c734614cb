"""sciml trajectory files: netCDF4/HDF5 that ``xarray.open_dataset`` opens with h5netcdf or netCDF4.

Layout (netCDF4 data model, written with h5netcdf so that HDF5 dimension scales are attached):

- dimensions ``sample``, ``time``, ``x`` [, ``y`` [, ``z``]];
- coordinate variables ``sample`` (int), ``time`` (float64) and ``x``/``y``/``z`` (float64), each
  with a ``units`` attribute;
- one float variable per field, dims ``(sample, time, x[, y[, z]])``, chunked one (sample, time)
  frame per chunk and gzip-compressed (with byte shuffling);
- global attributes: ``sciml_format = "sciml-trajectories"``, ``sciml_format_version``, the grid
  (``grid_shape``, ``domain_length``, ``dx``, ``boundary``, ``boundary_value``) and whatever the
  producer adds (equation, parameters, dt, solver, sciml version, seed...).

:class:`TrajectoryWriter` writes sample-batch by sample-batch and time-chunk by time-chunk, so a
big run never holds the whole data set in memory; the file appears under its final name only
when complete (temporary name in the same directory + ``os.replace``).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence

import h5netcdf
import numpy as np
import xarray as xr
from sciml.datasets.lazy_h5 import check_hdf5_file, netcdf_attr
from sciml.datasets.netcdf_open import open_xarray
from sciml.solvers.grid import Grid

from sciml.errors import InsufficientSpaceError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SPATIAL_DIMS",
    "TrajectoryWriter",
    "read_trajectories",
    "remove_stale_temporaries",
    "write_trajectories",
]

FORMAT_NAME = "sciml-trajectories"
FORMAT_VERSION = 1
SPATIAL_DIMS = ("x", "y", "z")


class TrajectoryWriter:
    """Write a trajectory file incrementally; the file appears atomically on :meth:`close`.

    Args:
      path: output file (``.nc`` by convention).
      fields: field (variable) names, one per channel, e.g. ``("u",)`` or ``("u", "v")``.
      n_samples: number of trajectories.
      times: the saved times, shape ``(T,)`` (frame ``j`` is at ``times[j]``).
      grid: the spatial grid; its coordinates become the ``x``/``y``/``z`` coordinate variables.
      units: optional units per field and for ``"x"`` and ``"t"``.
      attrs: global attributes (values: str, numbers, lists/arrays; dicts are stored as JSON).
      dtype: on-disk dtype of the fields (float32 by default).
      overwrite: replace an existing file at ``path``; otherwise an existing file is an error.
      compression_level: gzip level 0-9 (0 disables compression).

    Use as a context manager; an exception inside the block removes the temporary file and leaves
    any existing file at ``path`` untouched::

        with TrajectoryWriter("ks.nc", fields=("u",), n_samples=8, times=t, grid=grid) as w:
            w.write(traj, sample_start=0)      # traj: (b, t, *spatial, C)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fields: Sequence[str],
        n_samples: int,
        times: np.ndarray,
        grid: Grid,
        units: Mapping[str, str] | None = None,
        attrs: Mapping[str, object] | None = None,
        dtype: np.dtype | str = np.float32,
        overwrite: bool = False,
        compression_level: int = 1,
    ):
        self.path = os.path.abspath(os.fspath(path))
        directory = os.path.dirname(self.path)
        if os.path.isdir(self.path):
            raise ValueError(
                f"--out {path}: is a directory; give a file name such as {path}/data.nc"
            )
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(
                f"--out {path}: the file exists; pass --overwrite to replace it or choose another name"
            )
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"--out {path}: the directory {directory} does not exist; create it first"
            )
        fields = tuple(fields)
        if not fields or len(set(fields)) != len(fields):
            raise ValueError(f"fields: expected distinct field names, found {list(fields)}")
        clash = set(fields) & {"sample", "time", *SPATIAL_DIMS}
        if clash:
            raise ValueError(
                f"fields: names {sorted(clash)} clash with dimension names; rename them"
            )
        times = np.asarray(times, dtype=np.float64)
        if times.ndim != 1 or times.size < 1:
            raise ValueError(
                f"times: expected a 1-D array of frame times, found shape {times.shape}"
            )
        if int(n_samples) < 1:
            raise ValueError(f"n_samples: expected >= 1, found {n_samples}")
        self.fields = fields
        self.grid = grid
        self.n_samples = int(n_samples)
        self.n_frames = int(times.size)
        self.dtype = np.dtype(dtype)
        units = dict(units or {})
        remove_stale_temporaries(self.path)
        self._tmp = os.path.join(
            directory, f".{os.path.basename(self.path)}.{uuid.uuid4().hex}.tmp"
        )
        # A POSIX record lock on the temporary marks it as in use (HDF5 uses flock, which does
        # not interact): a later run removes only temporaries whose writer is gone.
        try:
            self._lock_fd = os.open(self._tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as err:  # name the user's file, not the temporary one
            raise type(err)(err.errno, err.strerror, self.path) from None
        fcntl.lockf(self._lock_fd, fcntl.LOCK_EX)
        self._closed = False
        try:
            self._file = h5netcdf.File(self._tmp, "w")
        except BaseException:
            self._closed = True
            self._release()
            raise
        try:
            self._define(times, units, dict(attrs or {}), int(compression_level))
        except BaseException:
            self.abort()
            raise

    def _define(self, times, units, attrs, level) -> None:
        f = self._file
        spatial = SPATIAL_DIMS[: self.grid.ndim]
        f.dimensions = {
            "sample": self.n_samples,
            "time": self.n_frames,
            **dict(zip(spatial, self.grid.shape)),
        }
        sample = f.create_variable("sample", ("sample",), dtype=np.int64)
        sample[:] = np.arange(self.n_samples)
        sample.attrs["long_name"] = "trajectory index"
        time = f.create_variable("time", ("time",), dtype=np.float64)
        time[:] = times
        time.attrs["units"] = units.get("t", "1")
        time.attrs["long_name"] = "time"
        for name, coord in zip(spatial, self.grid.coords()):
            var = f.create_variable(name, (name,), dtype=np.float64)
            var[:] = coord
            var.attrs["units"] = units.get("x", "1")
            var.attrs["long_name"] = f"{name} coordinate"
        compression = (
            {"compression": "gzip", "compression_opts": level, "shuffle": True} if level else {}
        )
        self._vars = {}
        for field in self.fields:
            var = f.create_variable(
                field,
                ("sample", "time", *spatial),
                dtype=self.dtype,
                chunks=(1, 1, *self.grid.shape),
                **compression,
            )
            var.attrs["units"] = units.get(field, "1")
            var.attrs["long_name"] = field
            self._vars[field] = var
        grid_attrs = {
            "sciml_format": FORMAT_NAME,
            "sciml_format_version": FORMAT_VERSION,
            "fields": list(self.fields),
            "grid_shape": np.asarray(self.grid.shape, dtype=np.int64),
            "domain_length": np.asarray(self.grid.length, dtype=np.float64),
            "dx": np.asarray(self.grid.dx, dtype=np.float64),
            "boundary": self.grid.boundary,
            "boundary_value": float(self.grid.boundary_value),
        }
        for key, value in {**grid_attrs, **attrs}.items():
            f.attrs[key] = netcdf_attr(value)

    def write(self, data: np.ndarray, *, sample_start: int, time_start: int = 0) -> None:
        """Write ``data`` of shape ``(b, t, *spatial, C)`` at samples ``sample_start:+b``, frames
        ``time_start:+t`` (C = number of fields, in the order given at construction)."""
        if self._closed:
            raise ValueError(f"{self.path}: the writer is closed")
        data = np.asarray(data)
        expected = (len(self.fields),)
        if data.ndim != 3 + self.grid.ndim or tuple(data.shape[2:]) != (
            *self.grid.shape,
            *expected,
        ):
            raise ValueError(
                f"TrajectoryWriter.write: expected data of shape (batch, time, "
                f"{', '.join(map(str, self.grid.shape))}, {len(self.fields)}), found {data.shape}"
            )
        b, t = data.shape[:2]
        if not (0 <= sample_start and sample_start + b <= self.n_samples):
            raise ValueError(
                f"TrajectoryWriter.write: samples {sample_start}:{sample_start + b} outside "
                f"0:{self.n_samples}"
            )
        if not (0 <= time_start and time_start + t <= self.n_frames):
            raise ValueError(
                f"TrajectoryWriter.write: frames {time_start}:{time_start + t} outside "
                f"0:{self.n_frames}"
            )
        _check_free_space(self._tmp, self.path, data.size * self.dtype.itemsize)
        for c, field in enumerate(self.fields):
            self._vars[field][sample_start : sample_start + b, time_start : time_start + t] = data[
                ..., c
            ].astype(self.dtype)

    def close(self) -> str:
        """Finish the file and move it to its final name; returns the path."""
        if self._closed:
            return self.path
        _check_free_space(self._tmp, self.path, 0)
        try:
            self._file.close()
        except BaseException:
            self._closed = True
            self._release()
            raise
        self._closed = True
        try:
            os.replace(self._tmp, self.path)
        finally:
            self._release()
        return self.path

    def abort(self) -> None:
        """Discard the partial file (nothing appears at ``path``)."""
        if not self._closed:
            try:
                self._file.close()
            except Exception:  # the file may be in a bad state; removing it is what matters
                pass
            self._closed = True
        self._release()

    def _release(self) -> None:
        """Remove the temporary (if still there) and drop its lock."""
        if os.path.exists(self._tmp):
            os.remove(self._tmp)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# Room kept free beyond the data of a write: HDF5's chunk cache and metadata are flushed later,
# and an HDF5 library that hits a full disk is left in a state that crashes the interpreter when
# the file is closed or freed, so a write that would not fit is refused before HDF5 sees it.
_HEADROOM_BYTES = 2**20


def _check_free_space(path: str, target: str, nbytes: int) -> None:
    directory = os.path.dirname(path)
    free = shutil.disk_usage(directory).free
    if free < nbytes + _HEADROOM_BYTES:
        raise InsufficientSpaceError(
            f"{directory}: no space left on the device ({free / 2**20:.1f} MiB free, the next "
            f"write of {target} needs {(nbytes + _HEADROOM_BYTES) / 2**20:.1f} MiB); the partial "
            "file was removed: free space there or write to another place"
        )


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporaries ``.NAME.<hex>.tmp`` of ``path`` whose writer is gone (killed,
    crashed); returns the removed paths. A temporary still locked by a live writer is kept."""
    path = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(path)
    pattern = re.compile(rf"^\.{re.escape(name)}\.[0-9a-f]{{32}}\.tmp$")
    removed = []
    try:
        candidates = [n for n in os.listdir(directory) if pattern.match(n)]
    except OSError:
        return removed
    for entry in candidates:
        tmp = os.path.join(directory, entry)
        try:
            fd = os.open(tmp, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it
        else:
            os.remove(tmp)
            removed.append(tmp)
        finally:
            os.close(fd)
    return removed


def write_trajectories(
    path: str | os.PathLike,
    trajectories: np.ndarray,
    *,
    fields: Sequence[str],
    grid: Grid,
    times: np.ndarray,
    units: Mapping[str, str] | None = None,
    attrs: Mapping[str, object] | None = None,
    overwrite: bool = False,
    dtype: np.dtype | str = np.float32,
) -> str:
    """Write an in-memory ``(N, T, *spatial, C)`` array as a trajectory file (atomically).

    For data that fits in memory; large runs use :class:`TrajectoryWriter` batch by batch.
    """
    trajectories = np.asarray(trajectories)
    if trajectories.ndim < 4:
        raise ValueError(
            f"trajectories: expected (sample, time, *spatial, channels), found shape {trajectories.shape}"
        )
    with TrajectoryWriter(
        path,
        fields=fields,
        n_samples=trajectories.shape[0],
        times=times,
        grid=grid,
        units=units,
        attrs=attrs,
        overwrite=overwrite,
        dtype=dtype,
    ) as writer:
        writer.write(trajectories, sample_start=0)
    return writer.path


def read_trajectories(path: str | os.PathLike, *, engine: str | None = None) -> xr.Dataset:
    """Open a sciml trajectory file lazily as an ``xarray.Dataset``.

    Args:
      path: a file written by :class:`TrajectoryWriter` / ``sciml simulate``.
      engine: ``"h5netcdf"`` (default) or ``"netcdf4"``.

    Returns:
      Dataset with dims ``(sample, time, x[, y[, z]])``, one variable per field; values are read
      on access (``ds["u"].isel(sample=0).values``).
    """
    path = check_hdf5_file(path)
    ds = open_xarray(path, engine=engine)
    if ds.attrs.get("sciml_format") != FORMAT_NAME:
        found = ds.attrs.get("sciml_format", "no sciml_format attribute")
        ds.close()
        raise ValueError(
            f"{path}: expected a sciml trajectory file (sciml_format = {FORMAT_NAME!r}), found "
            f"{found!r}; use sciml.datasets.open_trajectories for PDEBench, The Well and jax-cfd files"
        )
    return ds
