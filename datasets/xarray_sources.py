"""Random-access sources over xarray files (netCDF4/HDF5 through h5netcdf or netCDF4, zarr).

Files are opened with ``xr.open_dataset`` without dask and with ``cache=False``: only metadata is
read on opening, and ``ds[v].isel(sample=i).values`` reads one sample from disk through xarray's
lazy indexing. As with :class:`~sciml.datasets.H5Source`, the handle is opened once per process,
reads are serialised by a lock and pickling drops the handle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import xarray as xr
from sciml.datasets.netcdf_open import open_xarray
from sciml.datasets.sources import (
    LazyHandle,
    Source,
    Spec,
    check_file,
    check_finite_sample,
    check_numeric,
    sample_index,
    unreadable_sample,
)

from sciml.errors import DataFileError, reading

__all__ = ["XarraySource", "check_variables", "common_dims", "open_xarray_lazily"]


class _XarrayOpener:
    """Picklable callable that opens a file lazily with xarray (no dask, no data read)."""

    def __init__(self, path: str, engine: str | None):
        self.path = path
        self.engine = engine

    def __call__(self) -> xr.Dataset:
        return open_xarray(self.path, engine=self.engine, cache=False)


class _InMemory:
    """Holds an already-open xarray Dataset behind the same interface as the file opener."""

    owns_handle = False

    def __init__(self, dataset: xr.Dataset):
        self.dataset = dataset

    def __call__(self) -> xr.Dataset:
        return self.dataset


def open_xarray_lazily(
    path_or_dataset: str | os.PathLike | xr.Dataset, engine: str | None, owner: str
) -> tuple[LazyHandle, xr.Dataset, str]:
    """Return ``(handle, metadata_dataset, name)`` for a path or an open ``xr.Dataset``.

    ``handle`` reopens the file lazily per process; ``metadata_dataset`` is open now for
    validation (only metadata has been read) and ``name`` names the file in messages.
    """
    if isinstance(path_or_dataset, xr.Dataset):
        ds = path_or_dataset
        name = str(ds.encoding.get("source", "<in-memory dataset>"))
        return LazyHandle(_InMemory(ds)), ds, name
    path = check_file(path_or_dataset, owner)
    opener = _XarrayOpener(path, engine)
    try:
        ds = opener()
    except DataFileError as err:
        raise DataFileError(f"{owner}: {err}") from None
    handle = LazyHandle(opener)
    handle.adopt(ds)
    return handle, ds, path


def check_variables(ds: xr.Dataset, variables: Sequence[str], name: str, owner: str) -> list[str]:
    """Check ``variables`` exist in ``ds`` and are real numeric; return them as a list."""
    if isinstance(variables, str):
        variables = [variables]
    variables = [str(v) for v in variables]
    if not variables:
        raise ValueError(
            f"{owner}: '{name}': expected at least one variable, found none; "
            f"pass some of {sorted(map(str, ds.data_vars))}"
        )
    for v in variables:
        if v not in ds.variables:
            raise ValueError(
                f"{owner}: '{name}' has no variable '{v}'; variables found: "
                f"{sorted(map(str, ds.data_vars))}; pass one of them"
            )
        check_numeric(ds[v].dtype, where=f"{owner}: '{name}' variable '{v}'", real=True)
    return variables


def common_dims(
    ds: xr.Dataset, variables: Sequence[str], required: Sequence[str], name: str, owner: str
) -> tuple[str, ...]:
    """The dims other than ``required`` shared by all ``variables``, in the first one's order."""
    first = ds[variables[0]].dims
    for v in variables:
        dims = ds[v].dims
        missing = [d for d in required if d not in dims]
        if missing:
            raise ValueError(
                f"{owner}: '{name}' variable '{v}': expected dims including {tuple(required)}, "
                f"found dims {tuple(dims)} (rank {len(dims)}); pass the dims that index samples "
                "(sample_dim/time_dim) or choose another variable"
            )
        if set(dims) != set(first):
            raise ValueError(
                f"{owner}: '{name}' variable '{v}': expected the same dims as "
                f"'{variables[0]}' {tuple(first)}, found {tuple(dims)}; stack only variables "
                "defined on the same grid"
            )
    return tuple(d for d in first if d not in required)


class XarraySource(Source):
    """Variables of a netCDF/HDF5/zarr file (or an ``xr.Dataset``) stacked as channels.

    Args:
        path_or_dataset: a file path (opened lazily with ``xr.open_dataset``) or an open
            ``xr.Dataset`` (used as is; lazily backed datasets stay lazy).
        variables: the variables to read; sample ``i`` of the source is
            ``np.stack([ds[v][i] for v in variables], axis=-1)`` as float32, shape
            ``(*spatial, C)`` where the spatial dims are the variables' other dims in the first
            variable's file order and ``C = len(variables)``.
        sample_dims: the dims that index samples; several (e.g. ``("sample", "time")``) are
            flattened in C order, so every (sample, time) frame becomes one sample.
        key: the key of the stacked array in each sample dict.
        engine: xarray engine (``"h5netcdf"``, ``"netcdf4"``, ``"zarr"``); ``None``: h5netcdf
            for netCDF4/HDF5, scipy for netCDF-3, zarr for ``.zarr`` stores (see
            :func:`~sciml.datasets.netcdf_open.open_xarray`).
        check_finite: check every sample read for NaN/Inf.
    """

    def __init__(
        self,
        path_or_dataset: str | os.PathLike | xr.Dataset,
        variables: Sequence[str],
        *,
        sample_dims: Sequence[str] = ("sample",),
        key: str = "x",
        engine: str | None = None,
        check_finite: bool = True,
    ):
        owner = "XarraySource"
        self._handle, ds, self.name = open_xarray_lazily(path_or_dataset, engine, owner)
        with reading(self.name, what="data file"):
            self.variables = check_variables(ds, variables, self.name, owner)
            if isinstance(sample_dims, str):
                sample_dims = (sample_dims,)
            self.sample_dims = tuple(str(d) for d in sample_dims)
            self.spatial_dims = common_dims(ds, self.variables, self.sample_dims, self.name, owner)
            self._counts = tuple(int(ds.sizes[d]) for d in self.sample_dims)
            self._length = int(np.prod(self._counts))
            self.key = str(key)
            self.check_finite = bool(check_finite)
            shape = (*(int(ds.sizes[d]) for d in self.spatial_dims), len(self.variables))
            self._spec: Spec = {self.key: (shape, np.dtype(np.float32))}

    def __len__(self) -> int:
        return self._length

    @property
    def element_spec(self) -> Spec:
        return dict(self._spec)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        i = sample_index(index, self._length, f"XarraySource('{self.name}')")
        where = dict(zip(self.sample_dims, np.unravel_index(i, self._counts)))
        where = {d: int(v) for d, v in where.items()}
        channels = []
        with self._handle.lock:
            ds = self._handle.get()
            for v in self.variables:
                try:
                    da = ds[v].isel(where).transpose(*self.spatial_dims)
                    channels.append(np.asarray(da.values, dtype=np.float32))
                except Exception as err:  # h5py/HDF5: a chunk fails to decode
                    raise unreadable_sample(f"{self.name} variable '{v}'", i, err) from None
        if self.check_finite:
            for v, c in zip(self.variables, channels):
                check_finite_sample(c, where=f"{self.name} variable '{v}'", index=i)
        return {self.key: np.stack(channels, axis=-1)}

    def close(self) -> None:
        """Close this process's file handle (it reopens on the next read)."""
        self._handle.close()

    def __repr__(self) -> str:
        return (
            f"XarraySource('{self.name}', variables={self.variables}, "
            f"sample_dims={self.sample_dims}, n={self._length})"
        )
