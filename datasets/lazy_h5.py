"""Lazy, picklable views of HDF5 datasets for xarray: nothing is read until a value is indexed.

The foreign-format readers (PDEBench, The Well) wrap the datasets of a file in
:class:`H5LazyArray` objects and hand them to xarray as lazily indexed variables, so that opening
a 100 GB file reads only its metadata and ``ds["u"].isel(sample=3, time=slice(0, 10))`` reads
exactly those frames. A view may select one component of the last axis (vector fields split into
one variable per component) and may stack the same dataset from several groups along a new
leading axis (PDEBench's one-group-per-seed layout).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import h5py
import numpy as np
from xarray.backends import BackendArray
from xarray.core import indexing

from sciml.errors import reading

__all__ = ["H5LazyArray", "check_hdf5_file", "close_file", "is_netcdf3", "lazy_variable"]


def is_netcdf3(path: str | os.PathLike) -> bool:
    """True if ``path`` starts with the netCDF-3 (classic / 64-bit offset / CDF-5) signature."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"CDF\x01", b"CDF\x02", b"CDF\x05")


def check_hdf5_file(path: str | os.PathLike, *, allow_netcdf3: bool = False) -> str:
    """Return ``path`` as a string after checking it exists and is a readable HDF5/netCDF4 file
    (or, with ``allow_netcdf3``, a netCDF-3 file)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file; check the path")
    if os.path.isdir(path):
        raise ValueError(f"{path}: expected a file, found a directory; pass a .h5/.hdf5/.nc file")
    if allow_netcdf3 and is_netcdf3(path):
        return path
    try:
        with h5py.File(path, "r") as f:
            list(f.keys())
    except OSError as err:
        size = os.path.getsize(path)
        raise ValueError(
            f"{path}: not a readable HDF5/netCDF4 file ({size} bytes; h5py says: "
            f"{str(err).splitlines()[0]}); the file is corrupt or truncated, re-download or "
            "regenerate it"
        ) from None
    return path


class _FileHandle:
    """One read-only h5py handle per process, opened on first use and guarded by a lock.

    h5py objects do not pickle and are not safe to share across a fork, so the handle is
    dropped when pickled and reopened (keyed by process id) when next needed; it is also
    reopened when the file on disk was replaced or rewritten (inode, mtime or size changed).
    """

    def __init__(self, path: str):
        self.path = path
        self._file: h5py.File | None = None
        self._stamp: tuple | None = None
        self._datasets: dict[str, h5py.Dataset] = {}
        self.lock = threading.Lock()

    def get(self) -> h5py.File:
        st = os.stat(self.path)
        stamp = (os.getpid(), st.st_ino, st.st_mtime_ns, st.st_size)
        if self._file is None or self._stamp != stamp:
            # first use, a forked child, or the file was replaced/rewritten since it was opened
            if self._file is not None and self._stamp[0] == stamp[0]:
                self._file.close()
            self._file = h5py.File(self.path, "r")
            self._stamp = stamp
            self._datasets = {}
        return self._file

    def dataset(self, name: str) -> h5py.Dataset:
        """The dataset ``name`` of the open file (looked up once per opening: h5py lookups cost
        more than small reads)."""
        f = self.get()
        if name not in self._datasets:
            self._datasets[name] = f[name]
        return self._datasets[name]

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])


_HANDLES: dict[str, _FileHandle] = {}
_HANDLES_LOCK = threading.Lock()


def _handle(path: str) -> _FileHandle:
    with _HANDLES_LOCK:
        if path not in _HANDLES:
            _HANDLES[path] = _FileHandle(path)
        return _HANDLES[path]


def close_file(path: str | os.PathLike) -> None:
    """Close this process's cached handle of ``path`` (reopened on the next read if any)."""
    path = os.fspath(path)
    with _HANDLES_LOCK:
        handle = _HANDLES.pop(path, None)
    if handle is not None:
        with handle.lock:
            if handle._file is not None and handle._stamp and handle._stamp[0] == os.getpid():
                handle._file.close()
            handle._file = None


class H5LazyArray(BackendArray):
    """A lazily read view of one HDF5 dataset (or of the same dataset stacked over groups).

    Args:
      path: the HDF5 file.
      name: dataset path inside the file (relative to each group when ``groups`` is given).
      component: if not None, select this index of the dataset's last axis (drops that axis); a
        tuple selects one index in each of the last ``len(component)`` axes (tensor components).
      groups: if given, stack ``f[group][name]`` over these groups along a new leading axis.

    The view's ``shape`` is the dataset's shape with the component axis dropped and, for
    ``groups``, ``len(groups)`` prepended. Only the indexed part is read from disk.
    """

    def __init__(
        self,
        path: str,
        name: str,
        *,
        component: int | tuple[int, ...] | None = None,
        groups: Sequence[str] | None = None,
    ):
        self.path = os.fspath(path)
        self.name = name
        if component is not None and not isinstance(component, tuple):
            component = (int(component),)
        self.component = component
        self.groups = None if groups is None else list(groups)
        with reading(self.path, what="HDF5 file"), h5py.File(self.path, "r") as f:
            first = f[self.groups[0]][name] if self.groups else f[name]
            shape = tuple(first.shape)
            self.dtype = np.dtype(first.dtype)
        if component is not None:
            n = len(component)
            if len(shape) < n or not all(0 <= c < s for c, s in zip(component, shape[-n:])):
                raise ValueError(
                    f"{self.path}: {name}: component {component} out of range for shape {shape}"
                )
            shape = shape[:-n]
        if self.groups is not None:
            shape = (len(self.groups), *shape)
        self.shape = shape

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read_one(self, dataset: h5py.Dataset, key: tuple) -> np.ndarray:
        full = key + (self.component or ())
        if not full:
            return np.asarray(dataset[()])
        return np.asarray(dataset[full])

    def _read(self, key: tuple) -> np.ndarray:
        with reading(self.path, what=f"HDF5 dataset {self.name!r}"):
            return self._read_key(key)

    def _read_key(self, key: tuple) -> np.ndarray:
        key = tuple(key) + (slice(None),) * (len(self.shape) - len(key))
        handle = _handle(self.path)
        with handle.lock:
            if self.groups is None:
                return self._read_one(handle.dataset(self.name), key)
            first, rest = key[0], key[1:]
            if isinstance(first, (int, np.integer)):
                return self._read_one(handle.dataset(f"{self.groups[first]}/{self.name}"), rest)
            picked = range(len(self.groups))[first]
            parts = [
                self._read_one(handle.dataset(f"{self.groups[i]}/{self.name}"), rest)
                for i in picked
            ]
            if not parts:
                probe = self._read_one(handle.dataset(f"{self.groups[0]}/{self.name}"), rest)
                return np.empty((0, *probe.shape), dtype=self.dtype)
            return np.stack(parts)


def lazy_variable(dims: Sequence[str], array: H5LazyArray, attrs: dict | None = None):
    """An ``xarray.Variable`` over ``array`` that reads from disk only when indexed."""
    import xarray as xr

    if len(dims) != len(array.shape):
        raise ValueError(
            f"{array.path}: {array.name}: expected {len(dims)} axes {tuple(dims)}, found shape "
            f"{array.shape}"
        )
    return xr.Variable(tuple(dims), indexing.LazilyIndexedArray(array), attrs=attrs or {})


def decode_attr(value):
    """HDF5 attribute -> plain Python/NumPy value (bytes to str, 1-element arrays kept as arrays)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in ("S", "O"):
        return [
            v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v) for v in value
        ]
    if isinstance(value, np.generic):
        return value.item()
    return value


def netcdf_attr(value):
    """A value that netCDF attributes accept (bools to ints, lists of str kept, None to '')."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return value.astype(np.int8)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, (bool, np.bool_)) for v in value):
            return np.asarray(value, dtype=np.int8)
        try:
            return np.asarray(value)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, default=str)
    return value
