"""A complete, trainable and exportable learned-stepper config from a user's own trajectory file.

``sciml init stepper --data my.h5 --variables u --out stepper.yaml`` calls
:func:`init_stepper_config`, which

1. opens the file in any layout :func:`sciml.datasets.open_trajectories` reads (sciml trajectory
   files, PDEBench, The Well, jax-cfd, netCDF, and plain h5py/npz arrays in the shape convention
   ``(sample, time, *space, channel)`` or with the axis roles named once by ``dims``); an
   ambiguous layout is refused with the dimensions found and the flag that names them;
2. takes the time between saved frames (``dt``) and the grid spacing (``dx``) from the file,
   or from the ``dt``/``dx`` arguments when the file has none;
3. splits the trajectories into a training and an evaluation split (whole trajectories, the last
   ``eval_fraction`` of them held out) and writes both as sciml trajectory files, which record
   the grid, dt and units so that ``sciml train`` can check them against the model;
4. computes the normalisation statistics from the training split with the training loop's
   streaming :func:`sciml.datasets.compute_stats` (state: the ``inputs`` of the training windows,
   exactly what the loop stores as ``RUN_DIR/stats/inputs.json``; tendency: the same pass over
   ``(z_{n+1} - z_n) / dt``);
5. writes the config: ``sciml.stepper.model:make_learned_stepper`` with the conv -> f -> conv
   network (the family ``sciml export`` writes to HDF5), a :class:`RolloutTask`, the two splits
   as ``windows`` sources, an Adam/cosine optimiser and the run directory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sciml.atomic import write_text


class _NoAliases(yaml.SafeDumper):
    """Safe YAML without ``&id`` anchors (a config is read by people)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _Tendencies:
    """Source over training windows whose item is the frame difference ``(z1 - z0) / dt``."""

    def __init__(self, windows: Any, dt: float):
        self.windows, self.dt = windows, float(dt)
        shape, dtype = windows.element_spec["inputs"]
        self.element_spec = {"tendency": (tuple(shape[1:]), dtype)}

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        w = self.windows[i]
        return {"tendency": (w["targets"][0] - w["inputs"][-1]) / self.dt}


def _open(path: str, variables: Sequence[str], dims, dt, dx):
    from sciml.datasets import open_trajectories

    layout = "plain" if dims is not None else None
    ds = open_trajectories(path, layout=layout, variables=variables, dims=dims, dt=dt, dx=dx)
    return ds


def _fields(ds, variables: Sequence[str], path: str) -> list[str]:
    names = []
    for v in variables:
        if v in ds.data_vars:
            names.append(v)
            continue
        parts = sorted(
            (k for k in map(str, ds.data_vars) if k.startswith(v) and k[len(v) :].isdigit()),
            key=lambda k: int(k[len(v) :]),
        )
        if not parts:
            raise ValueError(
                f"{path}: no variable {v!r}; variables found: {sorted(map(str, ds.data_vars))}; "
                "pass --variables with some of them"
            )
        names.extend(parts)
    return names


def _grid(ds, fields: list[str], path: str, dx_arg):
    from sciml.solvers.grid import Grid

    dims = ds[fields[0]].dims
    if dims[:2] != ("sample", "time"):
        raise ValueError(
            f"{path}: variable {fields[0]!r} has dims {dims}, expected (sample, time, *space); "
            "name the axes with --dims sample,time,x,channel"
        )
    space = dims[2:]
    shape = tuple(int(ds.sizes[d]) for d in space)
    attrs = dict(ds.attrs)
    dx = attrs.get("dx")
    if dx is None and all(d in ds.coords and ds.sizes[d] > 1 for d in space):
        dx = [float(ds[d].values[1] - ds[d].values[0]) for d in space]
    if dx is None:
        dx = dx_arg
    if dx is None:
        raise ValueError(
            f"{path}: no 'dx' attribute and no spatial coordinates; pass the grid spacing with --dx"
        )
    dx = np.broadcast_to(np.asarray(dx, np.float64).reshape(-1), (len(shape),))
    if dx_arg is not None and not np.allclose(np.atleast_1d(dx_arg), dx, rtol=1e-9):
        raise ValueError(
            f"{path}: --dx {dx_arg} given but the file says dx={dx.tolist()}; drop --dx"
        )
    length = attrs.get("domain_length")
    if length is None:
        length = [n * d for n, d in zip(shape, dx)]
    boundary = str(attrs.get("boundary", "periodic"))
    return Grid(
        shape, length, boundary=boundary, boundary_value=float(attrs.get("boundary_value", 0))
    )


def _frame_dt(ds, path: str, dt_arg) -> float:
    t = np.asarray(ds["time"].values, np.float64) if "time" in ds.coords else None
    if t is None or len(t) < 2:
        if dt_arg is None:
            raise ValueError(f"{path}: no time coordinate; pass the time between frames with --dt")
        return float(dt_arg)
    d = np.diff(t)
    if not np.allclose(d, d[0], rtol=1e-6, atol=0.0):
        raise ValueError(
            f"{path}: frames are not evenly spaced in time (spacings {d.min():g}..{d.max():g}); "
            "resample the trajectories to a constant time step"
        )
    if dt_arg is not None and not np.isclose(dt_arg, d[0], rtol=1e-6):
        raise ValueError(
            f"{path}: --dt {dt_arg} given but the file's frames are {d[0]:g} apart; drop --dt"
        )
    return float(d[0])


def _write_split(ds, fields, grid, samples: range, out: Path, dt: float, units, attrs) -> str:
    from sciml.datasets import TrajectoryWriter

    times = np.asarray(ds["time"].values, np.float64) if "time" in ds.coords else None
    n_t = int(ds.sizes["time"])
    if times is None:
        times = np.arange(n_t) * dt
    batch = max(1, int(2**24 // max(1, 4 * n_t * int(np.prod(grid.shape)) * len(fields))))
    with TrajectoryWriter(
        out,
        fields=fields,
        n_samples=len(samples),
        times=times,
        grid=grid,
        units=units,
        attrs=attrs,
        overwrite=True,
    ) as writer:
        for start in range(0, len(samples), batch):
            sel = slice(samples.start + start, min(samples.start + start + batch, samples.stop))
            block = np.stack(
                [np.asarray(ds[f].isel(sample=sel).values, np.float32) for f in fields], axis=-1
            )
            writer.write(block, sample_start=start)
    return str(out)


def _file_hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def init_stepper_config(
    data: str | os.PathLike,
    variables: Sequence[str],
    out: str | os.PathLike,
    *,
    dims: str | Sequence[str] | None = None,
    dt: float | None = None,
    dx: float | Sequence[float] | None = None,
    eval_fraction: float = 0.2,
    data_dir: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    steps: int = 2000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    unroll: int = 1,
    width: int = 32,
    kernel_size: int = 5,
    depth: int = 2,
    activation: str = "gelu",
    integrator: str = "euler",
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a complete learned-stepper config for ``sciml train`` (see the module docstring).

    Args:
      data: the user's trajectory file.
      variables: fields to learn, one channel each (an array with a channel axis of size C
        contributes C fields ``NAME0..``).
      out: the YAML config to write.
      dims: role of every array axis for plain files (``"sample,time,x,channel"``).
      dt, dx: time between saved frames and grid spacing, when the file does not state them.
      eval_fraction: share of whole trajectories held out for evaluation (at least one).
      data_dir: where the two split files go (default ``OUT_STEM_data/`` next to ``out``).
      run_dir: the run directory the config names (default ``runs/OUT_STEM``).
      steps, batch_size, learning_rate, unroll, seed: training settings.
      width, kernel_size, depth, activation: the conv -> f -> conv tendency network.
      integrator: time integrator of the stepper (``euler``, ``rk2``, ``ssprk3``, ``rk4``).
      overwrite: replace an existing ``out``.

    Returns:
      The config as a plain dict (what was written).
    """
    from sciml.datasets import TrajectoryWindows, compute_stats

    data, out = os.fspath(data), Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"--out {out}: file exists; pass --overwrite or choose another path")
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction: expected a number in (0, 1), found {eval_fraction}")
    if isinstance(variables, str):
        variables = [variables]
    ds = _open(data, variables, dims, dt, dx)
    try:
        fields = _fields(ds, variables, data)
        grid = _grid(ds, fields, data, dx)
        frame_dt = _frame_dt(ds, data, dt)
        n = int(ds.sizes["sample"])
        n_t = int(ds.sizes["time"])
        if n < 2:
            raise ValueError(
                f"{data}: {n} trajectory; need at least 2 (one to train on, one held out)"
            )
        if n_t < unroll + 1:
            raise ValueError(
                f"{data}: {n_t} frames per trajectory; need at least unroll + 1 = {unroll + 1}"
            )
        n_eval = min(n - 1, max(1, round(n * eval_fraction)))
        units = {f: str(ds[f].attrs.get("units", "")) for f in fields}
        if "time" in ds.coords and ds["time"].attrs.get("units"):
            units["t"] = str(ds["time"].attrs["units"])
        keep = (str, int, float)
        attrs = {
            k: v
            for k, v in ds.attrs.items()
            if isinstance(v, keep)
            and not k.startswith("sciml_format")
            and k not in ("save_every", "n_steps")
        }
        attrs.update(dt=frame_dt, dt_save=frame_dt, source_file=os.path.abspath(data))
        folder = Path(data_dir) if data_dir is not None else out.parent / f"{out.stem}_data"
        folder.mkdir(parents=True, exist_ok=True)
        train_path = _write_split(
            ds, fields, grid, range(0, n - n_eval), folder / "train.nc", frame_dt, units, attrs
        )
        eval_path = _write_split(
            ds, fields, grid, range(n - n_eval, n), folder / "eval.nc", frame_dt, units, attrs
        )
    finally:
        ds.close()

    windows = {"variables": fields, "n_target": unroll}
    train_src = TrajectoryWindows(train_path, **windows)
    eval_src = TrajectoryWindows(eval_path, **windows)
    state = compute_stats(train_src, "inputs")
    tendency = compute_stats(_Tendencies(train_src, frame_dt), "tendency")
    tiny = 1e-12
    batch = int(min(batch_size, len(train_src), len(eval_src)))
    model_kwargs = {
        "variables": fields,
        "dx": [float(v) for v in grid.dx],
        "dt": frame_dt,
        "integrator": integrator,
        "boundary": grid.boundary,
        "boundary_value": float(grid.boundary_value),
        "network": "tendency",
        "network_kwargs": {
            "width": int(width),
            "kernel_size": int(kernel_size),
            "depth": int(depth),
            "activation": activation,
        },
        "units": {k: v for k, v in units.items() if v},
        "state_mean": state["mean"],
        "state_std": [max(s, tiny) for s in state["std"]],
        "tendency_mean": tendency["mean"],
        "tendency_std": [max(s, tiny) for s in tendency["std"]],
        "data_hash": _file_hash(train_path),
        "grid_shape": [int(v) for v in grid.shape],
    }
    config = {
        "model": {"name": "sciml.stepper.model:make_learned_stepper", "kwargs": model_kwargs},
        "task": {"name": "sciml.stepper.tasks:RolloutTask", "kwargs": {"unroll": int(unroll)}},
        "data": {
            "train": {"kind": "windows", "kwargs": {"path_or_dataset": train_path, **windows}},
            "eval": {
                "kind": "windows",
                "kwargs": {"path_or_dataset": eval_path, **windows, "stride": 1},
            },
        },
        "optim": {
            "name": "adam",
            "learning_rate": float(learning_rate),
            "schedule": "cosine",
            "warmup_steps": min(100, steps // 10),
            "end_factor": 0.02,
            "clip_norm": 1.0,
        },
        "mesh": {"data": 1, "space": 1},
        "steps": int(steps),
        "batch_size": batch,
        "eval_every": max(1, steps // 4),
        "log_every": max(1, steps // 50),
        "checkpoint_every": 0,
        "keep_checkpoints": 1,
        "best_metric": "mse_unrolled",
        "best_mode": "min",
        "seed": int(seed),
        "run_dir": os.fspath(run_dir) if run_dir is not None else f"runs/{out.stem}",
    }
    header = (
        f"# Learned stepper for {fields} of {data}, written by `sciml init stepper`.\n"
        f"# {n - n_eval} training and {n_eval} evaluation trajectories of {n_t} frames on a "
        f"{'x'.join(map(str, grid.shape))} {grid.boundary} grid; dt = {frame_dt:g} between "
        f"frames, dx = {[round(v, 12) for v in grid.dx]}.\n"
        "# Statistics: streaming pass over the training split (sciml.datasets.compute_stats).\n"
        f"# Next: sciml train --config {out}   then   sciml export RUN_DIR --out my_stepper.h5\n"
    )
    write_text(out, header + yaml.dump(config, Dumper=_NoAliases, sort_keys=False))
    return config
