"""Random-access data sources: in-memory arrays, HDF5 datasets and xarray (netCDF/HDF5/zarr) files.

A *source* is the unit the :class:`~sciml.datasets.Loader` batches: ``len(source)`` samples,
``source[i]`` returns one sample as a ``dict[str, np.ndarray]`` whose shapes and dtypes never
change from sample to sample, and ``source.element_spec`` describes them as
``{key: (shape, dtype)}`` without reading any data.

File-backed sources read one sample per ``__getitem__`` call and never load a whole file (public
data sets run to 100 GB per file). Their file handle is opened lazily on first use, once per
process, and every read happens under a lock, so one source may be shared by the reader threads
of a loader; pickling drops the handle, so a source can be sent to worker processes and reopens
the file there.

Every sample of a file-backed source is checked for NaN/Inf when it is read (``check_finite``),
and the error names the file, the variable and the sample index.
"""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import xarray as xr

__all__ = ["ArraySource", "H5Source", "XarraySource", "check_finite_sample"]

Spec = dict[str, tuple[tuple[int, ...], np.dtype]]


def check_finite_sample(array: np.ndarray, *, where: str, index: int) -> None:
    """Raise a one-line ``ValueError`` if ``array`` holds NaN or Inf.

    ``where`` names the file and variable (e.g. ``"data.h5 variable 'u'"``), ``index`` the sample.
    """
    if array.dtype.kind not in "fc":
        return
    finite = np.isfinite(array)
    if finite.all():
        return
    n_nan = int(np.isnan(array).sum())
    n_inf = int(array.size - finite.sum()) - n_nan
    raise ValueError(
        f"{where}, sample {index}: expected finite values, found {n_nan} NaN and {n_inf} Inf "
        f"of {array.size}; clean or drop that sample (or pass check_finite=False to skip the check)"
    )


def _check_numeric(dtype: np.dtype, *, where: str, real: bool = False) -> None:
    kinds = "biuf" if real else "biufc"
    if np.dtype(dtype).kind not in kinds:
        expected = "a real numeric dtype (bool/int/float)" if real else "a numeric dtype"
        raise ValueError(
            f"{where}: expected {expected}, found {np.dtype(dtype)}; convert the variable to "
            "floating point or choose another variable"
        )


def _sample_index(index: Any, length: int, name: str) -> int:
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{name}: sample index must be an integer, found {index!r}") from None
    if not -length <= i < length:
        raise IndexError(f"{name}: sample index {i} out of range for {length} samples")
    return i % length


class ArraySource:
    """In-memory source: a dict of arrays whose axis 0 indexes samples (tests and small data).

    Args:
        arrays: ``{key: array}`` with equal ``shape[0]`` (the number of samples); each sample of
            ``arrays[key]`` has shape ``arrays[key].shape[1:]``.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        if not isinstance(arrays, Mapping) or not arrays:
            raise ValueError(
                f"ArraySource: expected a non-empty mapping of arrays, found {type(arrays).__name__}; "
                "pass e.g. {'x': np.zeros((n, 32, 1))}"
            )
        self._arrays = {str(k): np.asarray(v) for k, v in arrays.items()}
        lengths = {k: (v.shape[0] if v.ndim else None) for k, v in self._arrays.items()}
        for key, n in lengths.items():
            if n is None:
                raise ValueError(
                    f"ArraySource: array '{key}': expected rank >= 1 (axis 0 = samples), found a "
                    "scalar; add a leading sample axis"
                )
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"ArraySource: expected the same number of samples (axis 0) in every array, "
                f"found {lengths}; trim the arrays to a common length"
            )
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        i = _sample_index(index, self._length, "ArraySource")
        return {k: v[i] for k, v in self._arrays.items()}

    @property
    def element_spec(self) -> Spec:
        return {k: (tuple(v.shape[1:]), v.dtype) for k, v in self._arrays.items()}

    def __repr__(self) -> str:
        return f"ArraySource(n={self._length}, spec={self.element_spec})"


class _LazyHandle:
    """A per-process file handle opened on first use, guarded by a lock, dropped on pickling."""

    def __init__(self, opener):
        self._opener = opener
        self._lock = threading.Lock()
        self._handle = None
        self._pid = None

    def get(self):
        """Return the open handle (call with :attr:`lock` held)."""
        if self._handle is None or self._pid != os.getpid():
            self._handle = self._opener()
            self._pid = os.getpid()
        return self._handle

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def close(self) -> None:
        if isinstance(self._opener, _InMemory):
            return  # the caller's dataset: theirs to close
        with self._lock:
            if self._handle is not None and self._pid == os.getpid():
                self._handle.close()
            self._handle = None
            self._pid = None

    def __getstate__(self) -> dict:
        return {"_opener": self._opener}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["_opener"])


def _check_file(path: str | os.PathLike, owner: str) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{owner}: file '{path}' not found; check the path or create the file"
        )
    return path


def _list_h5_datasets(f: h5py.File, limit: int = 30) -> str:
    names: list[str] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            names.append(f"{name}{list(obj.shape)}")

    f.visititems(visit)
    shown = ", ".join(names[:limit]) + (
        f", ... ({len(names)} in all)" if len(names) > limit else ""
    )
    return shown or "none"


class _H5Opener:
    """Picklable callable that opens an HDF5 file read-only."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self) -> h5py.File:
        return h5py.File(self.path, "r")


class H5Source:
    """HDF5 datasets whose axis 0 indexes samples, read lazily one sample at a time.

    Args:
        path: the HDF5 file.
        fields: dataset paths (``["u", "group/v"]``; the output key is the last path component)
            or ``{output_key: "hdf5/path/in/file"}``. All datasets need the same length along
            axis 0; a sample of dataset ``d`` has shape ``d.shape[1:]`` and ``d``'s stored dtype.
        check_finite: check every sample read for NaN/Inf (floating and complex data).
        ndim: optional expected rank of one sample (excluding the sample axis), an int for every
            field or ``{output_key: rank}``; a mismatch is an error naming the field.

    The file is opened on first read in each process and reads are serialised by a lock (h5py
    itself is not thread-parallel); the object pickles without its handle.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fields: Sequence[str] | Mapping[str, str],
        *,
        check_finite: bool = True,
        ndim: int | Mapping[str, int] | None = None,
    ):
        self.path = _check_file(path, "H5Source")
        if isinstance(fields, str):
            fields = [fields]
        if isinstance(fields, Mapping):
            self.fields = {str(k): str(v) for k, v in fields.items()}
        else:
            self.fields = {str(v).rstrip("/").split("/")[-1]: str(v) for v in fields}
        if not self.fields:
            raise ValueError(
                f"H5Source: '{self.path}': expected at least one field, found none; "
                "pass fields=['u'] or {'x': 'group/u'}"
            )
        self.check_finite = bool(check_finite)
        spec: Spec = {}
        lengths: dict[str, int] = {}
        try:
            f = h5py.File(self.path, "r")
        except OSError as err:
            raise ValueError(
                f"H5Source: '{self.path}': expected a readable HDF5 file, found an unreadable one "
                f"({str(err).splitlines()[0]}); re-create or re-download the file"
            ) from None
        with f:
            for key, name in self.fields.items():
                obj = f.get(name)
                if not isinstance(obj, h5py.Dataset):
                    found = "a group" if isinstance(obj, h5py.Group) else "nothing"
                    raise ValueError(
                        f"H5Source: '{self.path}' has no dataset '{name}' (found {found} there); "
                        f"datasets in the file: {_list_h5_datasets(f)}; pass one of them in fields"
                    )
                where = f"H5Source: '{self.path}' dataset '{name}'"
                _check_numeric(obj.dtype, where=where)
                if obj.ndim < 1:
                    raise ValueError(
                        f"{where}: expected rank >= 1 (axis 0 = samples), found a scalar; "
                        "choose a dataset with a sample axis"
                    )
                want = ndim.get(key) if isinstance(ndim, Mapping) else ndim
                if want is not None and obj.ndim - 1 != want:
                    raise ValueError(
                        f"{where}: expected rank {want} per sample, found rank {obj.ndim - 1} "
                        f"(dataset shape {obj.shape}, axis 0 = samples); pass the right dataset "
                        "or fix ndim"
                    )
                spec[key] = (tuple(obj.shape[1:]), obj.dtype)
                lengths[name] = obj.shape[0]
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"H5Source: '{self.path}': expected the same number of samples (axis 0) in every "
                f"field, found {lengths}; read the fields with separate sources"
            )
        self._length = next(iter(lengths.values()))
        self._spec = spec
        self._handle = _LazyHandle(_H5Opener(self.path))

    def __len__(self) -> int:
        return self._length

    @property
    def element_spec(self) -> Spec:
        return dict(self._spec)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        i = _sample_index(index, self._length, f"H5Source('{self.path}')")
        with self._handle.lock:
            f = self._handle.get()
            out = {key: np.asarray(f[name][i]) for key, name in self.fields.items()}
        if self.check_finite:
            for key, name in self.fields.items():
                check_finite_sample(out[key], where=f"{self.path} variable '{name}'", index=i)
        return out

    def close(self) -> None:
        """Close this process's file handle (it reopens on the next read)."""
        self._handle.close()

    def __enter__(self) -> H5Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"H5Source('{self.path}', fields={self.fields}, n={self._length})"


def _find_zarr_engine(path: str, engine: str | None) -> str | None:
    if engine is None and path.rstrip("/").endswith(".zarr"):
        import importlib.util

        if importlib.util.find_spec("zarr") is None:
            raise ValueError(
                f"'{path}': a zarr store needs the zarr package, found it not installed; "
                "pip install zarr or convert the store to netCDF"
            )
        return "zarr"
    return engine


class _XarrayOpener:
    """Picklable callable that opens a file lazily with xarray (no dask, no data read)."""

    def __init__(self, path: str, engine: str | None):
        self.path = path
        self.engine = engine

    def __call__(self) -> xr.Dataset:
        try:
            return xr.open_dataset(self.path, engine=self.engine, cache=False)
        except (OSError, ValueError) as err:
            raise ValueError(
                f"'{self.path}': expected a netCDF/HDF5/zarr file xarray can open "
                f"(engine={self.engine!r}), found an unreadable one ({str(err).splitlines()[0]}); "
                "check the file or pass engine='h5netcdf' or 'netcdf4'"
            ) from None


class _InMemory:
    """Holds an already-open xarray Dataset behind the same interface as the file opener."""

    def __init__(self, dataset: xr.Dataset):
        self.dataset = dataset

    def __call__(self) -> xr.Dataset:
        return self.dataset


def open_xarray_lazily(
    path_or_dataset: str | os.PathLike | xr.Dataset, engine: str | None, owner: str
) -> tuple[_LazyHandle, xr.Dataset, str]:
    """Return ``(handle, metadata_dataset, name)`` for a path or an open ``xr.Dataset``.

    ``handle`` reopens the file lazily per process; ``metadata_dataset`` is open now for
    validation (only metadata has been read) and ``name`` names the file in messages.
    """
    if isinstance(path_or_dataset, xr.Dataset):
        ds = path_or_dataset
        name = str(ds.encoding.get("source", "<in-memory dataset>"))
        return _LazyHandle(_InMemory(ds)), ds, name
    path = _check_file(path_or_dataset, owner)
    opener = _XarrayOpener(path, _find_zarr_engine(path, engine))
    try:
        ds = opener()
    except ValueError as err:
        raise ValueError(f"{owner}: {err}") from None
    handle = _LazyHandle(opener)
    handle._handle, handle._pid = ds, os.getpid()
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
        _check_numeric(ds[v].dtype, where=f"{owner}: '{name}' variable '{v}'", real=True)
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


class XarraySource:
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
        engine: xarray engine (``"h5netcdf"``, ``"netcdf4"``, ``"zarr"``); ``None`` lets xarray
            choose (``.zarr`` stores use zarr when it is installed).
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
        i = _sample_index(index, self._length, f"XarraySource('{self.name}')")
        where = dict(zip(self.sample_dims, np.unravel_index(i, self._counts)))
        where = {d: int(v) for d, v in where.items()}
        channels = []
        with self._handle.lock:
            ds = self._handle.get()
            for v in self.variables:
                da = ds[v].isel(where).transpose(*self.spatial_dims)
                channels.append(np.asarray(da.values, dtype=np.float32))
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
