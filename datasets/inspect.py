"""Describe a data file or a run directory (``sciml inspect``), and block-wise value ranges.

For a trajectory file (sciml, PDEBench, The Well, jax-cfd) :func:`describe` writes the
dimensions, the variables (dims, dtype, units) with their value ranges (min / max / mean,
computed block by block so that a large file is never loaded whole), the coordinates and the
attributes. Any other HDF5 file (e.g. fastMRI) is written as a tree of groups and datasets with
their attributes and value ranges (complex data: of the magnitude). For a run directory: its
contents, config.yaml, checkpoints and the last lines of its metrics files. netCDF-3 files are
read with xarray's scipy engine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import numpy as np

__all__ = ["describe", "value_ranges"]

_BLOCK_BYTES = 64 * 2**20


def _blocks(shape: tuple[int, ...], itemsize: int, budget: int | None = None) -> Iterator[tuple]:
    """Index tuples covering an array of ``shape`` in blocks of at most ``budget`` bytes
    (leading axes are split first; a single trailing slab may exceed the budget)."""
    budget = _BLOCK_BYTES if budget is None else budget
    if not shape:
        yield ()
        return
    inner = int(np.prod(shape[1:], dtype=np.int64)) * itemsize
    if len(shape) == 1 or inner <= budget:
        step = max(1, budget // max(inner, 1))
        for start in range(0, shape[0], step):
            yield (slice(start, min(start + step, shape[0])),)
        return
    for i in range(shape[0]):
        for rest in _blocks(shape[1:], itemsize, budget):
            yield (slice(i, i + 1), *rest)


def value_ranges(
    read: Callable[[tuple], np.ndarray], shape: tuple[int, ...], dtype: np.dtype
) -> dict[str, float | int] | None:
    """min / max / mean / count of the finite values and the number of NaN/Inf, block by block.

    ``read(key)`` returns the block ``array[key]``. Complex data are summarised by magnitude.
    Returns None for non-numeric data.
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "biufc":
        return None
    from tqdm import tqdm

    lo, hi, total, count, bad = np.inf, -np.inf, 0.0, 0, 0
    blocks = list(_blocks(tuple(shape), dtype.itemsize))
    quiet = len(blocks) < 4 or not sys.stderr.isatty()
    for key in tqdm(blocks, desc="value ranges", unit="block", leave=False, disable=quiet):
        block = np.asarray(read(key))
        if dtype.kind == "c":
            block = np.abs(block)
        block = block.astype(np.float64, copy=False)
        finite = np.isfinite(block)
        bad += int(block.size - finite.sum())
        values = block[finite]
        if values.size:
            lo = min(lo, float(values.min()))
            hi = max(hi, float(values.max()))
            total += float(values.sum())
            count += int(values.size)
    return {
        "min": lo if count else float("nan"),
        "max": hi if count else float("nan"),
        "mean": total / count if count else float("nan"),
        "count": count,
        "nonfinite": bad,
    }


def _format_ranges(r: dict | None, complex_: bool = False) -> str:
    if r is None:
        return ""
    text = f"min {r['min']:.6g}  max {r['max']:.6g}  mean {r['mean']:.6g}"
    if complex_:
        text = "|z|: " + text
    if r["nonfinite"]:
        text += f"  NaN/Inf: {r['nonfinite']}"
    return text


def _short(value, limit: int) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=8, max_line_width=10**6)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_dataset(ds, path: str, layout: str, stats: bool, limit: int, out: TextIO) -> None:
    """Dimensions, coordinates, variables (with value ranges) and attributes of a dataset."""
    print(f"{path}  (layout: {layout})", file=out)
    print("dimensions:", file=out)
    for dim, size in ds.sizes.items():
        print(f"  {dim}: {size}", file=out)
    print("coordinates:", file=out)
    for name, coord in ds.coords.items():
        units = coord.attrs.get("units", "")
        values = np.asarray(coord.values)
        span = (
            f"{values.min():.6g} .. {values.max():.6g}"
            if values.size and values.dtype.kind in "iuf"
            else ""
        )
        print(
            f"  {name} {coord.dims} {coord.dtype} {span}" + (f"  [{units}]" if units else ""),
            file=out,
        )
    print("variables:", file=out)
    for name, var in ds.data_vars.items():
        units = var.attrs.get("units", "")
        head = f"  {name} {var.dims} {tuple(var.shape)} {var.dtype}" + (
            f" [{units}]" if units else ""
        )
        print(head, file=out)
        if stats:
            variable = var.variable
            r = value_ranges(lambda key, v=variable: v[key].values, tuple(var.shape), var.dtype)
            if r is not None:
                print(f"      {_format_ranges(r, var.dtype.kind == 'c')}", file=out)
        for key, value in var.attrs.items():
            if key not in ("units",):
                print(f"      @{key} = {_short(value, limit)}", file=out)
    print("attributes:", file=out)
    for key, value in ds.attrs.items():
        print(f"  {key} = {_short(value, limit)}", file=out)


def describe_hdf5_tree(path: str, stats: bool, limit: int, out: TextIO) -> None:
    """Groups and datasets of any HDF5 file, with attributes and value ranges."""
    import h5py

    print(f"{path}  (generic HDF5)", file=out)
    with h5py.File(path, "r") as f:
        for key, value in f.attrs.items():
            print(f"  @{key} = {_short(value, limit)}", file=out)

        def visit(name, obj):
            depth = name.count("/") + 1
            pad = "  " * depth
            if isinstance(obj, h5py.Group):
                print(f"{pad}{name.split('/')[-1]}/", file=out)
            else:
                print(f"{pad}{name.split('/')[-1]} {obj.shape} {obj.dtype}", file=out)
                if stats and obj.shape is not None and obj.size:
                    r = value_ranges(
                        lambda key, d=obj: d[key] if key else d[()], obj.shape, obj.dtype
                    )
                    if r is not None:
                        print(f"{pad}    {_format_ranges(r, obj.dtype.kind == 'c')}", file=out)
            for key, value in obj.attrs.items():
                if key in ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME"):
                    continue
                print(f"{pad}    @{key} = {_short(value, limit)}", file=out)

        f.visititems(visit)


def describe_run_dir(path: str, lines: int, out: TextIO) -> None:
    """Contents, config.yaml, checkpoints and the last metrics lines of a run directory."""
    print(f"{path}  (run directory)", file=out)
    entries = sorted(os.listdir(path))
    print(
        "contents: "
        + (
            ", ".join(e + ("/" if os.path.isdir(os.path.join(path, e)) else "") for e in entries)
            or "(empty)"
        ),
        file=out,
    )
    config = os.path.join(path, "config.yaml")
    if os.path.isfile(config):
        print("config.yaml:", file=out)
        with open(config, encoding="utf-8") as fh:
            for line in fh.read().rstrip().splitlines():
                print(f"  {line}", file=out)
    else:
        print("config.yaml: (none)", file=out)
    checkpoints = os.path.join(path, "checkpoints")
    if os.path.isdir(checkpoints):
        steps = sorted(
            os.listdir(checkpoints),
            key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n),
        )
        print(f"checkpoints: {', '.join(steps) if steps else '(none)'}", file=out)
    metrics = []
    for root, _, files in os.walk(path):
        if os.path.relpath(root, path).count(os.sep) > 1:
            continue
        for name in files:
            if name.startswith("metrics") and name.endswith((".jsonl", ".csv", ".txt", ".json")):
                metrics.append(os.path.join(root, name))
    for file in sorted(metrics):
        with open(file, encoding="utf-8", errors="replace") as fh:
            content = fh.read().rstrip().splitlines()
        print(
            f"{os.path.relpath(file, path)} (last {min(lines, len(content))} of {len(content)} lines):",
            file=out,
        )
        for line in content[-lines:]:
            print(f"  {line}", file=out)
    if not metrics:
        print("metrics: (none)", file=out)


def describe(
    path: str | os.PathLike,
    *,
    stats: bool = True,
    lines: int = 5,
    attr_chars: int = 200,
    out: TextIO | None = None,
) -> None:
    """Describe a trajectory file, any HDF5/netCDF-3 file or a run directory, as text on ``out``.

    Args:
      path: a ``.nc``/``.h5``/``.hdf5`` file or a run directory.
      stats: compute value ranges (min / max / mean, block by block; complex data by magnitude).
      lines: metrics lines shown for a run directory.
      attr_chars: attribute values are truncated to this length.
      out: text stream (default ``sys.stdout``).
    """
    out = sys.stdout if out is None else out
    path = os.fspath(path)
    if os.path.isdir(path):
        describe_run_dir(path, lines, out)
        return
    from sciml.datasets.lazy_h5 import check_hdf5_file, is_netcdf3
    from sciml.datasets.open import detect_layout, open_trajectories
    from sciml.datasets.read_jaxcfd import open_netcdf

    path = check_hdf5_file(path, allow_netcdf3=True)
    try:
        layout = detect_layout(path)
    except ValueError as err:
        if "unknown trajectory layout" not in str(err):
            raise
        if is_netcdf3(path):
            with open_netcdf(path) as ds:
                describe_dataset(ds, path, "generic netCDF-3", stats, attr_chars, out)
        else:
            describe_hdf5_tree(path, stats, attr_chars, out)
        return
    with open_trajectories(path, layout=layout) as ds:
        describe_dataset(ds, path, layout, stats, attr_chars, out)
