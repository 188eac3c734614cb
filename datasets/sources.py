"""Random-access data sources: in-memory arrays and HDF5 datasets (xarray files: ``xarray_sources``).

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

from sciml.errors import DataFileError

__all__ = ["ArraySource", "H5Source", "Source", "check_finite_sample", "unreadable_sample"]

Spec = dict[str, tuple[tuple[int, ...], np.dtype]]


class Source:
    """The data-source protocol every source of :mod:`sciml.datasets` implements.

    A subclass defines ``__len__`` (number of samples), ``__getitem__(i)`` (one sample as
    ``{key: np.ndarray}``, shapes and dtypes fixed) and :attr:`element_spec`
    (``{key: (shape, dtype)}``, known without reading data). :meth:`read_batch` is what the
    :class:`~sciml.datasets.Loader` calls; the default fills one preallocated array per key from
    ``__getitem__`` (no stacking copy), and file-backed sources override it to read a whole batch
    under one lock.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @property
    def element_spec(self) -> Spec:
        raise NotImplementedError

    def read_batch(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Samples ``indices`` stacked: ``{key: (len(indices), *shape)}`` of the spec's dtype."""
        out = _empty_batch(self.element_spec, len(indices))
        for j, i in enumerate(indices):
            for key, value in self[int(i)].items():
                out[key][j] = value
        return out


def _empty_batch(spec: Spec, n: int) -> dict[str, np.ndarray]:
    return {key: np.empty((n, *shape), dtype) for key, (shape, dtype) in spec.items()}


def check_finite_sample(array: np.ndarray, *, where: str, index: int) -> None:
    """Raise a one-line :class:`~sciml.errors.DataFileError` (a ``ValueError``) if ``array``
    holds NaN or Inf.

    ``where`` names the file and variable (e.g. ``"data.h5 variable 'u'"``), ``index`` the sample.
    """
    if array.dtype.kind not in "fc":
        return
    if _all_finite(array):
        return
    finite = np.isfinite(array)
    n_nan = int(np.isnan(array).sum())
    n_inf = int(array.size - finite.sum()) - n_nan
    raise DataFileError(
        f"{where}, sample {index}: expected finite values, found {n_nan} NaN and {n_inf} Inf "
        f"of {array.size}; clean or drop that sample (or pass check_finite=False to skip the check)"
    )


def unreadable_sample(where: str, index: int, err: BaseException) -> DataFileError:
    """The one-line error for a sample whose bytes cannot be read or decoded (a damaged chunk).

    ``where`` names the file and variable; the message says what to do: the checkpoints of a
    training run are kept, so the run resumes (``--resume``) once the file is repaired.
    """
    text = " ".join(str(err).split()) or type(err).__name__
    return DataFileError(
        f"{where}, sample {index}: cannot read the stored data ({text}); that part of the file "
        "is damaged: regenerate or re-download the file (a training run keeps its checkpoints "
        "and continues with --resume)"
    )


def _all_finite(array: np.ndarray) -> bool:
    """Whether every element is finite, in one BLAS dot product with zeros.

    ``x * 0`` is 0 for every finite ``x`` and NaN for NaN and +-Inf, so the dot product is 0 or
    NaN and never overflows: exact, and cheaper than ``np.isfinite(x).all()`` (no boolean
    temporary). Non-contiguous arrays take the element-wise check.
    """
    flat = array.reshape(-1) if array.flags.c_contiguous else None
    if flat is None or array.dtype not in (np.float32, np.float64):
        return bool(np.isfinite(array).all())
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(np.dot(flat, _zeros(flat.size, array.dtype))))


_ZEROS: dict[tuple[int, np.dtype], np.ndarray] = {}


def _zeros(n: int, dtype: np.dtype) -> np.ndarray:
    key = (n, np.dtype(dtype))
    z = _ZEROS.get(key)
    if z is None:
        if len(_ZEROS) > 8:  # a few sample sizes per process; never grows without bound
            _ZEROS.clear()
        z = _ZEROS[key] = np.zeros(n, dtype)
    return z


def check_numeric(dtype: np.dtype, *, where: str, real: bool = False) -> None:
    kinds = "biuf" if real else "biufc"
    if np.dtype(dtype).kind not in kinds:
        expected = "a real numeric dtype (bool/int/float)" if real else "a numeric dtype"
        raise ValueError(
            f"{where}: expected {expected}, found {np.dtype(dtype)}; convert the variable to "
            "floating point or choose another variable"
        )


def sample_index(index: Any, length: int, name: str) -> int:
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{name}: sample index must be an integer, found {index!r}") from None
    if not -length <= i < length:
        raise IndexError(f"{name}: sample index {i} out of range for {length} samples")
    return i % length


class ArraySource(Source):
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
        i = sample_index(index, self._length, "ArraySource")
        return {k: v[i] for k, v in self._arrays.items()}

    @property
    def element_spec(self) -> Spec:
        return {k: (tuple(v.shape[1:]), v.dtype) for k, v in self._arrays.items()}

    def __repr__(self) -> str:
        return f"ArraySource(n={self._length}, spec={self.element_spec})"


class LazyHandle:
    """A per-process file handle opened on first use, guarded by a lock, dropped on pickling."""

    def __init__(self, opener):
        self._opener = opener
        self._lock = threading.Lock()
        self._handle = None
        self._pid = None

    def get(self):
        """Return the open handle (call with :attr:`lock` held)."""
        if self._handle is None or self._pid != os.getpid():
            # After a fork the inherited handle belongs to the parent: leave it alone, reopen.
            self._handle = self._opener()
            self._pid = os.getpid()
        return self._handle

    def adopt(self, handle: Any) -> None:
        """Use an already-open ``handle`` (opened by this process with the same opener)."""
        with self._lock:
            self._handle, self._pid = handle, os.getpid()

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def close(self) -> None:
        if not getattr(self._opener, "owns_handle", True):
            return  # e.g. a caller's open dataset: theirs to close
        with self._lock:
            if self._handle is not None and self._pid == os.getpid():
                self._handle.close()
            self._handle = None
            self._pid = None

    def __getstate__(self) -> dict:
        return {"_opener": self._opener}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["_opener"])


def check_file(path: str | os.PathLike, owner: str) -> str:
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


def _raw_sample_chunks(dataset: h5py.Dataset) -> bool:
    """Whether sample ``i`` of ``dataset`` is exactly its chunk ``(i, 0, ...)`` stored as plain
    bytes: chunks of one sample, no filter (compression, shuffle, checksum), a native-order
    numeric dtype. Such a sample can be copied into the batch with HDF5's direct chunk read,
    skipping the selection and datatype conversion of ``dataset[i]`` (about half its CPU time)."""
    try:
        return (
            dataset.ndim >= 2  # a sample is an array (a view of the batch), not a scalar
            and dataset.chunks == (1, *dataset.shape[1:])
            and dataset.id.get_create_plist().get_nfilters() == 0
            and dataset.dtype.kind in "biufc"
            and dataset.dtype.isnative
        )
    except Exception:  # an exotic layout: the general read
        return False


def _read_sample(dataset: h5py.Dataset, index: int, batch: np.ndarray, row: int, raw: bool) -> None:
    """``batch[row] = dataset[index]`` (``batch`` a C-contiguous array), by the direct chunk read
    when ``raw`` (:func:`_raw_sample_chunks`). A chunk never written
    (HDF5 returns the fill value) or any failure of the direct read takes the general read, which
    raises the usual error for a damaged file."""
    if raw:
        try:
            offset = (index,) + (0,) * (dataset.ndim - 1)
            dataset.id.read_direct_chunk(offset, out=batch[row].reshape(-1).view(np.uint8))
            return
        except Exception:
            pass
    batch[row] = dataset[index]


class _H5Files:
    """An open HDF5 file and its opened datasets (opening a dataset per read costs as much as
    reading a small sample), with whether each has raw one-sample chunks."""

    def __init__(self, path: str, names: Sequence[str]):
        self.file = h5py.File(path, "r")
        self.datasets = {name: self.file[name] for name in names}
        self.raw = {name: _raw_sample_chunks(d) for name, d in self.datasets.items()}

    def close(self) -> None:
        self.file.close()


class _H5Opener:
    """Picklable callable that opens an HDF5 file read-only with the given datasets."""

    def __init__(self, path: str, names: Sequence[str]):
        self.path = path
        self.names = tuple(names)

    def __call__(self) -> _H5Files:
        return _H5Files(self.path, self.names)


class H5Source(Source):
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
        self.path = check_file(path, "H5Source")
        if isinstance(fields, str):
            fields = [fields]
        if isinstance(fields, Mapping):
            self.fields = {str(k): str(v) for k, v in fields.items()}
        else:
            self.fields = {}
            for v in map(str, fields):
                key = v.rstrip("/").split("/")[-1]
                if key in self.fields:
                    raise ValueError(
                        f"H5Source: fields: '{self.fields[key]}' and '{v}' both give the key "
                        f"'{key}'; pass a mapping such as {{'{key}_a': '{self.fields[key]}', "
                        f"'{key}_b': '{v}'}}"
                    )
                self.fields[key] = v
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
                check_numeric(obj.dtype, where=where)
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
        self._handle = LazyHandle(_H5Opener(self.path, list(self.fields.values())))

    def __len__(self) -> int:
        return self._length

    @property
    def element_spec(self) -> Spec:
        return dict(self._spec)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        i = sample_index(index, self._length, self.path)
        out = {}
        with self._handle.lock:
            datasets = self._handle.get().datasets
            for key, name in self.fields.items():
                try:
                    out[key] = np.asarray(datasets[name][i])
                except Exception as err:  # h5py/HDF5: a chunk fails to decode
                    raise unreadable_sample(f"{self.path} variable '{name}'", i, err) from None
        if self.check_finite:
            for key, name in self.fields.items():
                check_finite_sample(out[key], where=f"{self.path} variable '{name}'", index=i)
        return out

    def read_batch(self, indices: Sequence[int]) -> dict[str, np.ndarray]:
        """Samples ``indices`` read under one lock straight into the batch arrays (datasets
        chunked one sample per chunk without filters are copied chunk by chunk with HDF5's
        direct chunk read)."""
        idx = [sample_index(i, self._length, self.path) for i in indices]
        out = _empty_batch(self._spec, len(idx))
        with self._handle.lock:
            files = self._handle.get()
            for key, name in self.fields.items():
                dataset, target, raw = files.datasets[name], out[key], files.raw[name]
                for j, i in enumerate(idx):
                    try:
                        _read_sample(dataset, i, target, j, raw)
                    except Exception as err:  # h5py/HDF5: a chunk fails to decode
                        where = f"{self.path} variable '{name}'"
                        raise unreadable_sample(where, i, err) from None
        if self.check_finite:
            for key, name in self.fields.items():
                for j, i in enumerate(idx):
                    check_finite_sample(
                        out[key][j], where=f"{self.path} variable '{name}'", index=i
                    )
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
