"""Trajectories -> training windows for learned steppers: loading, coarse-graining, statistics.

A learned stepper is trained at a coarse grid and a coarse time step on fine reference data:

1. load trajectories ``(sample, time, *spatial, C)`` (a ``sciml simulate`` file or any array),
2. coarse-grain space (:func:`sciml.solvers.coarsen`: spectral truncation or block averaging) and keep
   every ``time_stride``-th frame (the stepper's ``dt = time_stride * dt_file``),
3. cut windows ``{"inputs": (1, *spatial, C), "targets": (k, *spatial, C)}`` (the layout of
   :class:`sciml.datasets.TrajectoryWindows`) and compute the normalisation statistics the model
   carries (state mean/std and the mean/std of the finite-difference tendency ``dz/dt``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sciml.solvers.grid import Grid


@dataclass
class Trajectories:
    """Trajectories in memory.

    Attributes:
      data: ``(sample, time, *spatial, C)`` float32.
      times: ``(time,)`` saved times (time units).
      grid: the spatial grid.
      variables: field names, one per channel.
      units: units per field (plus ``"x"``/``"t"``).
      attrs: producer metadata (equation, parameters...).
    """

    data: np.ndarray
    times: np.ndarray
    grid: Grid
    variables: tuple[str, ...] = ("u",)
    units: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def dt(self) -> float:
        """Spacing of the saved frames (time units)."""
        if len(self.times) < 2:
            raise ValueError("trajectories: need at least 2 saved frames to define a time step")
        return float(self.times[1] - self.times[0])


def load_trajectories(
    path: str | os.PathLike, variables: Sequence[str] | None = None
) -> Trajectories:
    """Read a ``sciml simulate`` trajectory file fully into memory (small and coarse data).

    Args:
      path: trajectory file (netCDF4/HDF5, ``sciml-trajectories`` format).
      variables: fields to stack as channels (default: all data variables, file order).
    """
    from sciml.datasets.trajectory_file import read_trajectories

    ds = read_trajectories(path)
    try:
        names = list(variables) if variables is not None else list(ds.data_vars)
        missing = [v for v in names if v not in ds.data_vars]
        if missing:
            raise ValueError(
                f"{path}: variables {missing} not found; the file has {list(ds.data_vars)}"
            )
        spatial = [d for d in ("x", "y", "z") if d in ds.dims]
        order = ("sample", "time", *spatial)
        data = np.stack(
            [np.asarray(ds[v].transpose(*order).values, np.float32) for v in names], axis=-1
        )
        attrs = dict(ds.attrs)
        grid = Grid(
            tuple(int(n) for n in np.atleast_1d(attrs["grid_shape"])),
            tuple(float(v) for v in np.atleast_1d(attrs["domain_length"])),
            boundary=str(attrs.get("boundary", "periodic")),
            boundary_value=float(attrs.get("boundary_value", 0.0)),
        )
        units = {v: str(ds[v].attrs.get("units", "")) for v in names}
        units["t"] = str(ds["time"].attrs.get("units", ""))
        return Trajectories(
            data, np.asarray(ds["time"].values, np.float64), grid, tuple(names), units, attrs
        )
    finally:
        ds.close()


def grid_from_attrs(attrs: dict[str, Any], shape: Sequence[int] | None = None) -> Grid | None:
    """The grid a trajectory file's attributes state (``grid_shape``/``domain_length`` or
    ``dx``; ``boundary``), or None when they state none."""
    boundary = str(attrs.get("boundary", "periodic"))
    value = float(attrs.get("boundary_value", 0.0))
    n = attrs.get("grid_shape", shape)
    if n is None:
        return None
    n = tuple(int(v) for v in np.atleast_1d(n))
    if "domain_length" in attrs:
        length = tuple(float(v) for v in np.atleast_1d(attrs["domain_length"]))
    elif "dx" in attrs:
        dx = np.broadcast_to(np.asarray(attrs["dx"], np.float64).reshape(-1), (len(n),))
        length = tuple(float(k * d) for k, d in zip(n, dx))
    else:
        return None
    return Grid(n, length, boundary=boundary, boundary_value=value)


def check_data_grid(model: Any, grid: Grid, *, source: str = "data") -> None:
    """Check that trajectories on ``grid`` can be stepped by ``model`` (a LearnedStepper).

    Raises ValueError naming the mismatch: grid spacing, dimension or boundary.
    """
    if grid.ndim != model.ndim:
        raise ValueError(
            f"{source}: grid has {grid.ndim} spatial axes but the model steps {model.ndim}-D states"
        )
    if not np.allclose(grid.dx, model.dx, rtol=1e-6):
        raise ValueError(
            f"{source}: grid spacing dx={list(grid.dx)} does not match the model's "
            f"dx={list(model.dx)}; set model.kwargs.dx={list(grid.dx)} or coarse-grain the "
            "data to the model grid with sciml.solvers.coarsen"
        )
    tb = getattr(getattr(model, "tendency", None), "boundary", "periodic")
    if grid.boundary != "periodic" and tb == "periodic":
        raise ValueError(
            f"{source}: {grid.boundary} boundaries but the model's tendency network is periodic "
            "without ghost cells; build it with boundary='ghost'"
        )
    if grid.boundary != model.boundary:
        raise ValueError(
            f"{source}: boundary {grid.boundary!r} does not match the model's {model.boundary!r}"
        )


def make_windows(
    data: np.ndarray, *, n_target: int, n_input: int = 1, stride: int = 1
) -> dict[str, np.ndarray]:
    """All windows of a trajectory array, as in :class:`sciml.datasets.TrajectoryWindows`.

    Args:
      data: ``(sample, time, *spatial, C)``.
      n_target: target frames per window; n_input: input frames; stride: frames between starts.

    Returns:
      ``{"inputs": (W, n_input, *spatial, C), "targets": (W, n_target, *spatial, C)}`` float32,
      ordered trajectory-major.
    """
    data = np.asarray(data, np.float32)
    span = n_input + n_target
    if data.ndim < 4 or data.shape[1] < span:
        raise ValueError(
            f"trajectories: expected (sample, time >= {span}, *spatial, C), found {data.shape}; "
            "lower n_target or save more frames"
        )
    starts = np.arange(0, data.shape[1] - span + 1, stride)
    idx = starts[:, None] + np.arange(span)[None, :]
    win = data[:, idx].reshape(-1, span, *data.shape[2:])
    return {
        "inputs": np.ascontiguousarray(win[:, :n_input]),
        "targets": np.ascontiguousarray(win[:, n_input:]),
    }


def normalisation_stats(data: np.ndarray, dt: float) -> dict[str, list[float]]:
    """Per-channel statistics for :class:`LearnedStepper` from ``(sample, time, *spatial, C)``.

    ``state_mean/std`` of the fields and ``tendency_mean/std`` of ``(z_{n+1} - z_n) / dt``;
    the values of :meth:`sciml.stepper.normalisation.Normalisation.from_trajectories` (the
    training loop's streaming statistics), as plain lists.
    """
    from sciml.stepper.normalisation import FIELDS, Normalisation

    norm = Normalisation.from_trajectories(data, dt)
    return {name: list(getattr(norm, name)) for name in FIELDS}


def data_hash(*arrays: np.ndarray) -> str:
    """``sha256:<hex>`` of the arrays' shapes, dtypes and bytes (provenance of training data)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()


def __getattr__(name: str) -> Any:
    if name in ("coarse_grain", "coarse_grid"):
        from sciml._deprecation import moved_module

        target = {"coarse_grain": "coarsen_array", "coarse_grid": "coarse_grid"}[name]
        return moved_module(__name__, "sciml.solvers.coarsen", renames={name: target})(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
