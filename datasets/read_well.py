"""Read The Well HDF5 files lazily into the common xarray form.

The Well (Ohana et al., NeurIPS 2024) stores all its data sets in one schema:

- root attributes ``dataset_name``, ``grid_type``, ``n_spatial_dims``, ``n_trajectories``,
  ``simulation_parameters`` and one attribute per parameter (kept as dataset attributes);
- ``dimensions/`` (attribute ``spatial_dims``; datasets ``time`` and one per spatial dimension,
  each flagged ``sample_varying`` / ``time_varying``);
- ``boundary_conditions/<name>/`` (attributes ``associated_dims``, ``bc_type``...; datasets
  ``mask``, ``values``);
- ``scalars/``, ``t0_fields/`` (scalars), ``t1_fields/`` (vectors, trailing axis D),
  ``t2_fields/`` (tensors, trailing axes D x D); each field flagged ``sample_varying``,
  ``time_varying`` and ``dim_varying`` (one bool per spatial dimension). A leading sample or time
  axis is absent from the array when the field does not vary along it.

Output: one variable per field component with dims taken from the flags, in the order
``(sample, time, x[, y[, z]])`` minus the axes the field does not vary along (xarray broadcasts
the absent ones). Vector fields become ``<name>_x``, ``<name>_y``...; tensors ``<name>_xx``,
``<name>_xy``.... Boundary conditions are summarised in attributes ``bc_<dim>`` (the bc_type per
spatial dimension) and ``boundary_conditions`` (JSON of every condition's attributes).
"""

from __future__ import annotations

import functools
import itertools
import json
import os

import h5py
import numpy as np
import xarray as xr
from sciml.datasets.lazy_h5 import (
    H5LazyArray,
    check_hdf5_file,
    close_file,
    decode_attr,
    lazy_variable,
)

__all__ = ["is_well_file", "read_well"]


def is_well_file(f: h5py.File) -> bool:
    """True if the open file follows The Well's schema."""
    keys = set(f.keys())
    return "dimensions" in keys and bool(keys & {"t0_fields", "t1_fields", "t2_fields"})


def _flag(obj, name: str, default: bool = True) -> bool:
    if name not in obj.attrs:
        return default
    return bool(np.asarray(obj.attrs[name]).reshape(-1)[0])


def _names(value) -> list[str]:
    value = decode_attr(value)
    if isinstance(value, str):
        return [value]
    return [str(v) for v in np.asarray(value).reshape(-1).tolist()]


def _field_dims(obj, spatial: list[str], path: str, rank: int) -> tuple[str, ...]:
    leading = []
    if _flag(obj, "sample_varying", True):
        leading.append("sample")
    if _flag(obj, "time_varying", True):
        leading.append("time")
    if "dim_varying" in obj.attrs:
        varying = np.asarray(obj.attrs["dim_varying"]).astype(bool).reshape(-1).tolist()
    else:
        varying = [True] * len(spatial)
    dims = (*leading, *(d for d, v in zip(spatial, varying) if v))
    if len(dims) + rank != obj.ndim:
        raise ValueError(
            f"{path}: {obj.name}: the sample_varying/time_varying/dim_varying attributes give dims "
            f"{dims} plus {rank} component axes, but the array has shape {obj.shape}"
        )
    return dims


def _coordinate(f, name: str, path: str):
    """(name in the Dataset, dims, values) of ``dimensions/<name>``; a coordinate that varies over
    samples or time cannot be an index and is stored as ``<name>_coordinate``."""
    ds = f["dimensions"][name]
    values = np.asarray(ds[()])
    dims = []
    if _flag(ds, "sample_varying", False):
        dims.append("sample")
    if name != "time" and _flag(ds, "time_varying", False):
        dims.append("time")
    dims.append(name)
    if len(dims) != values.ndim:
        raise ValueError(
            f"{path}: dimensions/{name}: flags give dims {dims}, found shape {values.shape}"
        )
    out_name = name if len(dims) == 1 else f"{name}_coordinate"
    return out_name, tuple(dims), values


def read_well(path: str | os.PathLike) -> xr.Dataset:
    """Open a file of The Well lazily; values are read only when indexed.

    Returns a Dataset whose variables have dims ``(sample, time, x[, y[, z]])`` (minus the axes a
    field does not vary along), coordinates ``time`` and the spatial dimensions from
    ``dimensions/``, and the file's attributes (simulation parameters included).
    """
    path = check_hdf5_file(path)
    with h5py.File(path, "r") as f:
        if not is_well_file(f):
            raise ValueError(
                f"{path}: not a file of The Well: found keys {sorted(f.keys())}; expected "
                "'dimensions' and at least one of 't0_fields', 't1_fields', 't2_fields'"
            )
        attrs = {k: decode_attr(v) for k, v in f.attrs.items()}
        dgroup = f["dimensions"]
        if "spatial_dims" in dgroup.attrs:
            spatial = _names(dgroup.attrs["spatial_dims"])
        else:
            n = int(np.asarray(f.attrs.get("n_spatial_dims", 0)))
            spatial = ["x", "y", "z"][:n]
        coords = {}
        for name in ["time", *spatial]:
            if name in dgroup:
                out_name, dims, values = _coordinate(f, name, path)
                coords[out_name] = xr.Variable(dims, values, {"long_name": f"{name} coordinate"})

        variables = {}
        for rank, group_name in enumerate(("t0_fields", "t1_fields", "t2_fields")):
            if group_name not in f:
                continue
            group = f[group_name]
            names = (
                _names(group.attrs["field_names"])
                if "field_names" in group.attrs
                else sorted(group)
            )
            for name in names:
                if name not in group:
                    raise ValueError(
                        f"{path}: {group_name}: field_names lists {name!r} but the group holds "
                        f"{sorted(group)}"
                    )
                obj = group[name]
                dims = _field_dims(obj, spatial, path, rank)
                fattrs = {k: decode_attr(v) for k, v in obj.attrs.items()}
                fattrs = {k: (int(v) if isinstance(v, bool) else v) for k, v in fattrs.items()}
                fattrs["tensor_rank"] = rank
                ndim_comp = obj.shape[-1] if rank else 0
                comp_names = (
                    spatial[:ndim_comp]
                    if len(spatial) >= ndim_comp
                    else [str(i) for i in range(ndim_comp)]
                )
                if rank == 0:
                    variables[name] = lazy_variable(dims, H5LazyArray(path, obj.name), fattrs)
                    continue
                for comp in itertools.product(range(ndim_comp), repeat=rank):
                    suffix = "".join(comp_names[c] for c in comp)
                    variables[f"{name}_{suffix}"] = lazy_variable(
                        dims,
                        H5LazyArray(path, obj.name, component=tuple(comp)),
                        {**fattrs, "component_of": name},
                    )

        if "scalars" in f:
            for name, obj in f["scalars"].items():
                if not isinstance(obj, h5py.Dataset):
                    continue
                value = np.asarray(obj[()])
                if value.size == 1:
                    attrs[f"scalar_{name}"] = value.reshape(-1)[0].item()
                elif (
                    value.ndim == 1 and "time" in coords and value.size == coords["time"].shape[-1]
                ):
                    variables[name] = xr.Variable(("time",), value)
                else:
                    variables[name] = xr.Variable(
                        (f"{name}_dim_{i}" for i in range(value.ndim)), value
                    )

        bcs = {}
        if "boundary_conditions" in f:
            for name, bc in f["boundary_conditions"].items():
                battrs = {k: decode_attr(v) for k, v in bc.attrs.items()}
                bcs[name] = battrs
                bc_type = str(battrs.get("bc_type", "unknown"))
                for dim in _names(battrs.get("associated_dims", [])):
                    attrs[f"bc_{dim}"] = bc_type
        attrs["boundary_conditions"] = json.dumps(bcs, default=str, sort_keys=True)
    attrs = {k: (int(v) if isinstance(v, bool) else v) for k, v in attrs.items()}
    attrs["source_format"] = "The Well"
    attrs["source_file"] = os.path.abspath(path)
    ds = xr.Dataset(variables, coords=coords, attrs=attrs)
    ds.set_close(functools.partial(close_file, path))  # ds.close() releases the HDF5 handle
    return ds
