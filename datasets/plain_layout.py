"""Plain array files (HDF5 written with h5py, ``.npz``, netCDF with any dimension names) read as
sciml trajectories, with every axis role either stated by the file or named by the user.

The shape convention of sciml is ``(sample, time, *space, channel)``, channels last. A plain array
carries no names, so its axis roles are taken, in this order, from

1. ``dims``: the user names the role of every axis once, e.g. ``("sample", "time", "x",
   "channel")`` (``sciml init stepper --dims sample,time,x,channel``);
2. a ``dims`` attribute on the dataset (``"sample,time,x,channel"``);
3. named dimensions (netCDF): names that already are roles (``sample``, ``time``, ``x``, ``y``,
   ``z``, ``channel``);
4. the shape convention, *confirmed* by a 1-D ``time`` (or ``t``) array whose length is the size
   of axis 1.

Anything else is refused rather than guessed: the error lists the dimensions found (name and
size) and the flag and attribute that name them. In particular a file whose sample and time axes
are swapped (its ``time`` array has the length of axis 0) is refused, never trained on transposed.

Time and space: frame times from the ``time``/``t`` array, else ``arange(T) * dt`` from a ``dt``
attribute (dataset or root) or argument; grid spacing from a ``dx`` attribute/argument or an
``x`` coordinate; ``boundary`` attribute/argument (default periodic). The result is an
``xarray.Dataset`` with dims ``(sample, time, x[, y[, z]])`` and the grid attributes of a sciml
trajectory file (``dt``, ``dx``, ``grid_shape``, ``domain_length``, ``boundary``); values are read
into memory (write big data with :class:`sciml.datasets.TrajectoryWriter` instead).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np
import xarray as xr

__all__ = ["ROLES", "SPACE_ROLES", "is_plain_array_file", "parse_dims", "read_plain"]

SPACE_ROLES = ("x", "y", "z")
ROLES = ("sample", "time", *SPACE_ROLES, "channel")
_FLAG = "name the axes with dims=... (CLI: --dims sample,time,x,channel) or a 'dims' attribute"


def parse_dims(dims: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"sample,time,x,channel"`` or a sequence -> a checked tuple of roles (or None)."""
    if dims is None:
        return None
    if isinstance(dims, bytes):
        dims = dims.decode()
    items = (
        [d.strip() for d in dims.split(",")] if isinstance(dims, str) else [str(d) for d in dims]
    )
    bad = [d for d in items if d not in ROLES]
    if bad or len(set(items)) != len(items):
        raise ValueError(
            f"dims: expected distinct roles from {list(ROLES)} (one per array axis), found "
            f"{items}; e.g. dims=sample,time,x,channel"
        )
    for need in ("sample", "time"):
        if need not in items:
            raise ValueError(f"dims: expected a {need!r} axis, found {items}; name it in dims")
    if not any(d in SPACE_ROLES for d in items):
        raise ValueError(f"dims: expected at least one spatial axis (x, y, z), found {items}")
    return tuple(items)


def is_plain_array_file(path: str | os.PathLike) -> bool:
    """True for a ``.npz`` file or an HDF5 file without netCDF dimensions whose root holds an
    array of rank >= 4 (netCDF4 files, sciml trajectory files among them, are not plain)."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        return os.path.isfile(path)
    try:
        with h5py.File(path, "r") as f:
            arrays = [v for v in f.values() if isinstance(v, h5py.Dataset)]
            named = "_NCProperties" in f.attrs or any("DIMENSION_LIST" in v.attrs for v in arrays)
            return not named and any(v.ndim >= 4 for v in arrays)
    except OSError:
        return False


class _Container:
    """Arrays and attributes of an HDF5 or npz file, read the same way."""

    def __init__(self, path: str):
        self.path = path
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as npz:
                self.arrays = {k: npz[k] for k in npz.files}
            self.attrs: dict[str, Any] = {
                k: v.item() if v.ndim == 0 else v
                for k, v in self.arrays.items()
                if k in ("dt", "dx", "boundary", "equation", "dims") or v.ndim == 0
            }
            self.var_attrs: dict[str, dict[str, Any]] = {k: {} for k in self.arrays}
        else:
            with h5py.File(path, "r") as f:
                self.arrays = {k: v for k, v in f.items() if isinstance(v, h5py.Dataset)}
                self.arrays = {k: v[()] for k, v in self.arrays.items()}
                self.attrs = {k: _decode(v) for k, v in f.attrs.items()}
                self.var_attrs = {
                    k: {a: _decode(b) for a, b in v.attrs.items()}
                    for k, v in f.items()
                    if isinstance(v, h5py.Dataset)
                }

    def describe(self) -> str:
        return ", ".join(
            f"{k} {tuple(np.shape(v))}" for k, v in self.arrays.items() if np.ndim(v) >= 1
        )


def _decode(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
        return [x.decode() if isinstance(x, bytes) else x for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _dims_listing(shape: tuple[int, ...]) -> str:
    return ", ".join(f"phony_dim_{i}={n}" for i, n in enumerate(shape))


def _roles(
    c: _Container, var: str, shape: tuple[int, ...], dims: tuple[str, ...] | None
) -> tuple[str, ...]:
    where = f"{c.path} variable '{var}'"
    if dims is None and "dims" in c.var_attrs.get(var, {}):
        dims = parse_dims(c.var_attrs[var]["dims"])
    if dims is not None:
        if len(dims) != len(shape):
            raise ValueError(
                f"{where}: dims names {len(dims)} axes {list(dims)} but the array has shape "
                f"{shape} ({len(shape)} axes); give one role per axis"
            )
        return dims
    times = _time_array(c)
    n_space = len(shape) - 3
    convention = ("sample", "time", *SPACE_ROLES[:n_space], "channel")
    if times is None or n_space < 1 or n_space > 3:
        raise ValueError(
            f"{where}: ambiguous axis roles: dimensions found {_dims_listing(shape)} and no 'time' "
            f"array to confirm the convention (sample, time, *space, channel); {_FLAG}"
        )
    if len(times) != shape[1]:
        swapped = len(times) == shape[0]
        hint = " (sample and time look swapped)" if swapped else ""
        raise ValueError(
            f"{where}: the 'time' array has {len(times)} entries but axis 1 (time in the "
            f"convention (sample, time, *space, channel)) has {shape[1]}{hint}: dimensions found "
            f"{_dims_listing(shape)}; transpose the array or {_FLAG}"
        )
    return convention


def _time_array(c: _Container) -> np.ndarray | None:
    for k in ("time", "t", "times"):
        if k in c.arrays and np.ndim(c.arrays[k]) == 1:
            return np.asarray(c.arrays[k], np.float64)
    return None


def _scalar_or_list(v: Any) -> list[float]:
    return [float(x) for x in np.atleast_1d(np.asarray(v, np.float64))]


def read_plain(
    path: str | os.PathLike,
    variables: Sequence[str],
    *,
    dims: str | Sequence[str] | None = None,
    dt: float | None = None,
    dx: float | Sequence[float] | None = None,
    boundary: str | None = None,
) -> xr.Dataset:
    """Read arrays of a plain HDF5/npz file as sciml trajectories (see the module docstring).

    Args:
      path: ``.h5``/``.hdf5``/``.npz`` file.
      variables: array names; each becomes one field (an array with a channel axis of size
        ``C > 1`` becomes the fields ``NAME0 .. NAME{C-1}``).
      dims: role of every axis (``"sample,time,x,channel"``); overrides the file.
      dt, dx, boundary: used when the file has no such attribute (a file's value wins only when
        the argument is None; a conflict is an error).

    Returns:
      ``xarray.Dataset``: one variable per field with dims ``(sample, time, *space)``, coordinate
      ``time`` and the attributes ``dt``, ``dx``, ``grid_shape``, ``domain_length``, ``boundary``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file; check the path")
    c = _Container(path)
    dims = parse_dims(dims)
    if isinstance(variables, str):
        variables = [variables]
    fields: dict[str, np.ndarray] = {}
    shape_ref: tuple[int, ...] | None = None
    for var in variables:
        if var not in c.arrays:
            raise ValueError(
                f"{path}: no array '{var}'; arrays found: {c.describe()}; pass one of them as "
                "variables"
            )
        a = np.asarray(c.arrays[var])
        roles = _roles(c, var, a.shape, dims)
        space = [r for r in SPACE_ROLES if r in roles]
        order = ["sample", "time", *space] + (["channel"] if "channel" in roles else [])
        a = np.transpose(a, [roles.index(r) for r in order])
        if "channel" not in roles:
            a = a[..., None]
        if shape_ref is not None and a.shape[:-1] != shape_ref:
            raise ValueError(
                f"{path}: variable '{var}' has (sample, time, *space) = {a.shape[:-1]}, the first "
                f"variable {shape_ref}; stack only variables on the same grid and times"
            )
        shape_ref = a.shape[:-1]
        names = [var] if a.shape[-1] == 1 else [f"{var}{i}" for i in range(a.shape[-1])]
        for i, n in enumerate(names):
            fields[n] = (("sample", "time", *space), np.asarray(a[..., i], np.float32))
    assert shape_ref is not None
    n_t, spatial = shape_ref[1], shape_ref[2:]
    times = _time_array(c)
    file_dt = c.attrs.get("dt", c.var_attrs.get(variables[0], {}).get("dt"))
    dt_value = _pick(file_dt, dt, "dt", path, "--dt")
    if times is None:
        if dt_value is None:
            raise ValueError(
                f"{path}: no 'time' array and no 'dt' attribute; pass the time between saved "
                "frames with dt=... (CLI: --dt)"
            )
        times = np.arange(n_t) * float(dt_value)
    elif len(times) != n_t:
        raise ValueError(f"{path}: 'time' has {len(times)} entries, the data {n_t} frames")
    file_dx = c.attrs.get("dx", c.var_attrs.get(variables[0], {}).get("dx"))
    if file_dx is None and "x" in c.arrays and np.ndim(c.arrays["x"]) == 1 and len(spatial) == 1:
        x = np.asarray(c.arrays["x"], np.float64)
        file_dx = float(x[1] - x[0]) if x.size > 1 else None
    dx_value = _pick(file_dx, dx, "dx", path, "--dx")
    if dx_value is None:
        raise ValueError(
            f"{path}: no 'dx' attribute or 'x' coordinate; pass the grid spacing with dx=... "
            "(CLI: --dx)"
        )
    dxs = _scalar_or_list(dx_value)
    if len(dxs) == 1:
        dxs = dxs * len(spatial)
    if len(dxs) != len(spatial):
        raise ValueError(
            f"{path}: dx has {len(dxs)} entries but the data has {len(spatial)} spatial axes; "
            "give one dx per axis"
        )
    bc = str(_pick(c.attrs.get("boundary"), boundary, "boundary", path, "--boundary") or "periodic")
    attrs: dict[str, Any] = {
        k: v for k, v in c.attrs.items() if isinstance(v, (str, int, float)) and k != "dims"
    }
    attrs.update(
        dt=float(times[1] - times[0]) if n_t > 1 else float(dt_value or 0.0),
        dx=dxs,
        grid_shape=[int(n) for n in spatial],
        domain_length=[n * d for n, d in zip(spatial, dxs)],
        boundary=bc,
        source_format="plain arrays",
        source_file=os.path.abspath(path),
    )
    coords = {"time": ("time", np.asarray(times, np.float64))}
    ds = xr.Dataset(fields, coords=coords, attrs=attrs)
    ds.encoding["source"] = path
    return ds


def _pick(file_value: Any, arg: Any, name: str, path: str, flag: str) -> Any:
    if file_value is None:
        return arg
    if arg is None:
        return file_value
    if not np.allclose(_scalar_or_list(file_value), _scalar_or_list(arg), rtol=1e-9):
        raise ValueError(
            f"{path}: {name}={arg} given but the file says {name}={file_value}; drop {flag} "
            "or fix the file's attribute"
        )
    return file_value
