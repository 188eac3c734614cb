"""Training windows over trajectory files: ``n_input`` frames in, ``n_target`` frames out.

A trajectory file holds variables with dims ``(sample, time, *spatial)`` (the layout written by
``sciml simulate`` and produced by the PDEBench / The Well / jax-cfd readers). For a learned
integrator ``Z(t+dt) = Z(t) + dt G(Z(t))`` trained with a multi-step loss, one training sample is a
window of consecutive frames::

    inputs  = Z[s], ..., Z[s + n_input - 1]
    targets = Z[s + n_input], ..., Z[s + n_input + n_target - 1]

with window starts ``s = 0, stride, 2 stride, ...`` inside every trajectory (windows never cross
from one trajectory into the next). Frames are read on demand, one window per ``__getitem__``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import xarray as xr
from sciml.datasets.plain_layout import is_plain_array_file, read_plain
from sciml.datasets.sources import (
    Source,
    Spec,
    check_finite_sample,
    sample_index,
    unreadable_sample,
)
from sciml.datasets.xarray_sources import check_variables, common_dims, open_xarray_lazily

from sciml.errors import reading

__all__ = ["TrajectoryWindows"]


def _positive_int(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"TrajectoryWindows: {name}: expected an integer >= {minimum}, found {value!r}; "
            f"pass {name}={max(minimum, 1)} or more"
        )
    return int(value)


class TrajectoryWindows(Source):
    """Windows of ``n_input`` input and ``n_target`` target frames over trajectory variables.

    Args:
        path_or_dataset: a netCDF/HDF5/zarr file (opened lazily with xarray) or an open
            ``xr.Dataset`` whose variables have dims ``(sample_dim, time_dim, *spatial)`` in any
            order.
        variables: the fields to stack as channels, in this order (``C = len(variables)``).
        n_input: frames per input window (``k >= 1``).
        n_target: frames per target window (``m >= 0``; ``0`` gives inputs only).
        stride: frames between consecutive window starts in a trajectory (``>= 1``).
        sample_dim, time_dim: the dims indexing trajectories and time.
        engine: xarray engine for a path (None: h5netcdf for netCDF4/HDF5; see ``open_xarray``).
        check_finite: check every window read for NaN/Inf.
        dims: for plain array files (h5py/npz without dimension names): the role of every axis,
            e.g. ``"sample,time,x,channel"`` (see :mod:`sciml.datasets.plain_layout`).

    Attributes ``attrs`` (the file's global attributes), ``frame_dt`` (spacing of the ``time``
    coordinate, None without one) and ``spatial_shape`` let a model check that the data matches
    its grid and time step before training.

    Item ``i`` is ``{"inputs": (n_input, *spatial, C), "targets": (n_target, *spatial, C)}``,
    float32, where the spatial dims are all the variables' dims other than sample/time in the
    first variable's file order (x, y, z). With ``T`` frames per trajectory there are
    ``W = (T - n_input - n_target) // stride + 1`` windows per trajectory and item ``i`` is window
    ``i % W`` of trajectory ``i // W``.
    """

    def __init__(
        self,
        path_or_dataset: str | os.PathLike | xr.Dataset,
        variables: Sequence[str],
        *,
        n_input: int = 1,
        n_target: int = 1,
        stride: int = 1,
        sample_dim: str = "sample",
        time_dim: str = "time",
        engine: str | None = None,
        check_finite: bool = True,
        dims: str | Sequence[str] | None = None,
    ):
        owner = "TrajectoryWindows"
        if not isinstance(path_or_dataset, xr.Dataset) and (
            dims is not None or is_plain_array_file(path_or_dataset)
        ):
            # Plain arrays carry no dimension names: read them with their axis roles resolved
            # (stated by the file or by ``dims``), never with HDF5's phony_dim_* names.
            path_or_dataset = read_plain(path_or_dataset, variables, dims=dims)
        self.n_input = _positive_int(n_input, "n_input", 1)
        self.n_target = _positive_int(n_target, "n_target", 0)
        self.stride = _positive_int(stride, "stride", 1)
        self._handle, ds, self.name = open_xarray_lazily(path_or_dataset, engine, owner)
        with reading(self.name, what="data file"):
            self.variables = check_variables(ds, variables, self.name, owner)
            self.sample_dim, self.time_dim = str(sample_dim), str(time_dim)
            required = (self.sample_dim, self.time_dim)
            self.spatial_dims = common_dims(ds, self.variables, required, self.name, owner)
            phony = [d for d in self.spatial_dims if str(d).startswith("phony_dim_")]
            if phony:
                found = ", ".join(f"{d}={ds.sizes[d]}" for d in ds[self.variables[0]].dims)
                raise ValueError(
                    f"{owner}: '{self.name}': unnamed dimensions {phony} (dimensions found: "
                    f"{found}) could be space or channel axes; pass dims='sample,time,x,channel' "
                    "naming every axis, or write the file with sciml.datasets.write_trajectories"
                )
            self.attrs = dict(ds.attrs)
            self.frame_dt = _frame_dt(ds, self.time_dim)
            self.n_samples = int(ds.sizes[self.sample_dim])
            self.n_times = int(ds.sizes[self.time_dim])
            span = self.n_input + self.n_target
            if span > self.n_times:
                raise ValueError(
                    f"{owner}: '{self.name}': n_input + n_target = {span} frames per window, found "
                    f"only {self.n_times} frames along '{self.time_dim}'; lower n_input/n_target or "
                    "simulate more steps"
                )
            self.windows_per_trajectory = (self.n_times - span) // self.stride + 1
            self.check_finite = bool(check_finite)
            spatial = tuple(int(ds.sizes[d]) for d in self.spatial_dims)
            c = len(self.variables)
            f32 = np.dtype(np.float32)
            self._spec: Spec = {
                "inputs": ((self.n_input, *spatial, c), f32),
                "targets": ((self.n_target, *spatial, c), f32),
            }

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """Points per spatial axis of every frame."""
        return tuple(self._spec["inputs"][0][1:-1])

    def __len__(self) -> int:
        return self.n_samples * self.windows_per_trajectory

    @property
    def element_spec(self) -> Spec:
        return dict(self._spec)

    def locate(self, index: int) -> tuple[int, int]:
        """Return ``(trajectory, first_frame)`` of window ``index``."""
        i = sample_index(index, len(self), f"TrajectoryWindows('{self.name}')")
        sample, w = divmod(i, self.windows_per_trajectory)
        return sample, w * self.stride

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        sample, start = self.locate(index)
        span = self.n_input + self.n_target
        where = {self.sample_dim: sample, self.time_dim: slice(start, start + span)}
        order = (self.time_dim, *self.spatial_dims)
        channels = []
        with self._handle.lock:
            ds = self._handle.get()
            for v in self.variables:
                try:
                    da = ds[v].isel(where).transpose(*order)
                    channels.append(np.asarray(da.values, dtype=np.float32))
                except Exception as err:  # h5py/HDF5: a chunk fails to decode
                    frames = f"{self.time_dim} {start}..{start + span - 1}"
                    where_ = f"{self.name} variable '{v}' ({frames})"
                    raise unreadable_sample(where_, sample, err) from None
        if self.check_finite:
            for v, c in zip(self.variables, channels):
                check_finite_sample(
                    c,
                    where=(
                        f"{self.name} variable '{v}' ({self.time_dim} {start}..{start + span - 1})"
                    ),
                    index=sample,
                )
        frames = np.stack(channels, axis=-1)
        return {"inputs": frames[: self.n_input], "targets": frames[self.n_input :]}

    def close(self) -> None:
        """Close this process's file handle (it reopens on the next read)."""
        self._handle.close()

    def __repr__(self) -> str:
        return (
            f"TrajectoryWindows('{self.name}', variables={self.variables}, n_input={self.n_input}, "
            f"n_target={self.n_target}, stride={self.stride}, n={len(self)})"
        )


def _frame_dt(ds: xr.Dataset, time_dim: str) -> float | None:
    """Uniform spacing of the time coordinate (None without one or if it is not uniform)."""
    if time_dim not in ds.coords or ds.sizes[time_dim] < 2:
        return None
    t = np.asarray(ds[time_dim].values, np.float64)
    d = np.diff(t)
    if not np.allclose(d, d[0], rtol=1e-6, atol=0.0):
        return None
    return float(d[0])
