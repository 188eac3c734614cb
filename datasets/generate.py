"""Generate a trajectory file from a registered classical solver (the engine of ``sciml simulate``).

Samples are simulated in batches and each batch in time segments; every segment is written to the
file as soon as it is computed, so memory is bounded by one segment (``batch x frames x grid``),
not by the data set. Sample ``i`` starts from the initial condition drawn with
``jax.random.fold_in(jax.random.key(seed), i)``, so the file depends only on the seed and the
physical settings, not on the batch size.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sciml.datasets.trajectory_file import TrajectoryWriter, remove_stale_temporaries
from sciml.solvers.grid import Grid
from sciml.solvers.rollout import BlowUpError, rollout

from sciml import interrupt
from sciml.errors import InsufficientSpaceError
from sciml.progress import Progress

__all__ = ["SimulationBlowUpError", "parse_param_value", "resolve_params", "simulate_to_file"]

_SEGMENT_BYTES = 32 * 2**20  # memory budget of one simulated segment (float32)


class SimulationBlowUpError(BlowUpError, ValueError):
    """A simulation produced NaN/Inf; the message names the sample, the step and the time.

    It is both a :class:`sciml.solvers.BlowUpError` and a ``ValueError`` so that the CLI
    reports it as one line.
    """


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} PiB"


def check_resources(
    path: str | os.PathLike, *, file_bytes: int, memory_bytes: int, compressed: bool
) -> None:
    """Refuse, before any work, a run whose file cannot fit the free disk or whose working set
    cannot fit the available memory; the message gives the estimate and the fix.

    A gzip-compressed file is assumed to shrink at most 4x (simulation output typically shrinks
    by 15-25%); a run that still runs out of disk stops cleanly at the write that does not fit.
    """
    directory = os.path.dirname(os.path.abspath(os.fspath(path)))
    if os.path.isdir(directory) and os.access(directory, os.W_OK):
        free = shutil.disk_usage(directory).free
        needed = file_bytes // 4 if compressed else file_bytes
        if needed > free:
            note = f" (at least {_size(needed)} compressed)" if compressed else ""
            raise InsufficientSpaceError(
                f"--out {os.fspath(path)}: the file would take about {_size(file_bytes)} "
                f"uncompressed{note}, but only {_size(free)} is free there; lower "
                "--samples/--steps/--grid, raise --save-every or write to a larger disk"
            )
    available = _available_memory()
    if available is not None and memory_bytes > available:
        raise ValueError(
            f"--batch: simulating needs about {_size(memory_bytes)} of memory, found "
            f"{_size(available)} available; lower --batch (or --grid)"
        )


def parse_param_value(text: str) -> Any:
    """``--set`` value text -> int, float, bool or str (``"1e-3"`` -> 0.001, ``"true"`` -> True)."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _param_default(value: Any) -> Any:
    return value.default if hasattr(value, "default") else value


def resolve_params(spec: Any, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults of ``spec.params`` updated with ``overrides``, checked by ``spec.validate``.

    Unknown names are refused with the list of valid ones.
    """
    defaults = {name: _param_default(v) for name, v in dict(spec.params).items()}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        valid = ", ".join(sorted(defaults)) or "none"
        raise ValueError(
            f"--set {unknown[0]}: unknown parameter of {spec.name}; valid parameters: {valid}"
        )
    params = {**defaults, **overrides}
    checked = spec.validate(params)
    return dict(checked) if isinstance(checked, Mapping) else params


def _resolve_grid(
    spec: Any, grid_shape: Sequence[int] | None, length: Sequence[float] | None
) -> Grid:
    default = spec.default_grid
    if isinstance(default, Grid):
        shape, dlength, boundary = default.shape, default.length, default.boundary
    else:
        shape, dlength = default[0], default[1]
        boundary = next(iter(getattr(spec, "boundaries", ("periodic",))))
    shape = tuple(int(n) for n in np.atleast_1d(shape))
    ndim = int(getattr(spec, "ndim", len(shape)))
    if grid_shape:
        grid_shape = [int(n) for n in grid_shape]
        if len(grid_shape) == 1:
            grid_shape = grid_shape * ndim
        if len(grid_shape) != ndim or min(grid_shape) < 2:
            raise ValueError(
                f"--grid: {spec.name} is {ndim}-D, expected {ndim} point counts >= 2 (or one for all "
                f"axes), found {grid_shape}; e.g. --grid {' '.join(map(str, shape))}"
            )
        shape = tuple(grid_shape)
    dlength = tuple(float(v) for v in np.broadcast_to(np.atleast_1d(dlength), (ndim,)))
    if length is not None:
        dlength = tuple(float(v) for v in np.broadcast_to(np.atleast_1d(length), (ndim,)))
    return Grid(shape, dlength, boundary=boundary)


def _blow_up_check(chunk: np.ndarray, sample0: int, frame0: int, save_every: int, dt: float, path):
    finite = np.isfinite(chunk.reshape(chunk.shape[0], chunk.shape[1], -1)).all(axis=-1)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    b, f = bad[np.argmin(bad[:, 1])]
    step = (frame0 + int(f)) * save_every
    raise SimulationBlowUpError(
        f"simulation blew up: sample {sample0 + int(b)} is NaN/Inf by step {step} "
        f"(t = {step * dt:.6g}); nothing was written to {path}; reduce --dt (now {dt:g}) or "
        "check the parameters"
    )


def _initial_states(spec: Any, grid: Grid, key: jax.Array, start: int, count: int, params: dict):
    """Initial conditions of samples ``start .. start + count - 1``; sample ``i`` is drawn alone
    with ``fold_in(key, i)`` (eagerly: the same code path for every batch size, and the
    primitives compile once per process), so it does not depend on the batching."""
    ics = [
        spec.initial_condition(grid, 1, key=jax.random.fold_in(key, start + i), **params)
        for i in range(count)
    ]
    return jnp.concatenate(ics, axis=0)


def _check_run(n_samples: int, n_steps: int, save_every: int, compression_level: int, dtype: str):
    """Validate the run-size arguments (one-line errors naming the CLI flag)."""
    for name, value, low in (
        ("--samples", n_samples, 1),
        ("--steps", n_steps, 1),
        ("--save-every", save_every, 1),
    ):
        if int(value) != value or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, found {value}")
    if n_steps % save_every:
        raise ValueError(
            f"--steps: expected a multiple of --save-every ({save_every}), found {n_steps}; "
            f"e.g. --steps {max(save_every, n_steps - n_steps % save_every)}"
        )
    if isinstance(compression_level, bool) or compression_level not in range(10):
        raise ValueError(f"--compress: expected a gzip level 0-9, found {compression_level!r}")
    if str(dtype) not in ("float32", "float64"):
        raise ValueError(f"--dtype: expected float32 or float64, found {dtype!r}")
    if str(dtype) == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(
            "--dtype float64: JAX runs in float32 unless x64 is on; call "
            "jax.config.update('jax_enable_x64', True) first (the CLI does this)"
        )


def _segments(
    n_samples: int, n_frames: int, cells: int, batch_size: int | None, frames: int | None
) -> tuple[int, int]:
    """Samples per batch and frames per segment (default: ~32 MB of float32 per segment)."""
    if batch_size is None:
        batch_size = max(1, min(n_samples, _SEGMENT_BYTES // (16 * 4 * cells)))
    batch_size = int(min(batch_size, n_samples))
    if frames is None:
        frames = max(1, _SEGMENT_BYTES // (4 * cells * batch_size))
    frames = int(min(frames, n_frames - 1)) if n_frames > 1 else 1
    return batch_size, frames


def _file_attrs(
    spec: Any, step: Any, params: dict, *, dt: float, save_every: int, n_steps: int, seed: int
) -> dict[str, Any]:
    """The global attributes of a simulated trajectory file (provenance and units)."""
    from sciml._version import __version__

    units = dict(getattr(spec, "units", {}) or {})
    return {
        "title": f"{spec.name} trajectories simulated by sciml",
        "equation": spec.name,
        "description": str(getattr(spec, "description", "")),
        "parameters": json.dumps(params, sort_keys=True, default=str),
        **{
            f"param_{k}": v
            for k, v in sorted(params.items())
            if isinstance(v, (int, float, str, bool))
        },
        "dt": dt,
        "save_every": int(save_every),
        "dt_save": dt * save_every,
        "n_steps": int(n_steps),
        "solver": str(getattr(spec, "solver", type(step).__name__)),
        "sciml_version": __version__,
        "seed": int(seed),
        "initial_condition_keys": "jax.random.fold_in(jax.random.key(seed), sample)",
        "units_note": "; ".join(f"{k}: {v}" for k, v in sorted(units.items())),
    }


def simulate_to_file(
    equation: str | Any,
    path: str,
    *,
    n_samples: int = 1,
    n_steps: int = 100,
    save_every: int = 1,
    grid_shape: Sequence[int] | None = None,
    length: Sequence[float] | None = None,
    dt: float | None = None,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    batch_size: int | None = None,
    frames_per_segment: int | None = None,
    dtype: str = "float32",
    compression_level: int = 1,
) -> str:
    """Simulate ``n_samples`` trajectories of a registered equation and write a trajectory file.

    Args:
      equation: a registry name (see ``sciml.solvers.EQUATIONS``) or an ``EquationSpec``.
      path: output netCDF4/HDF5 file; refused if it exists unless ``overwrite``.
      n_samples: number of trajectories.
      n_steps: solver steps per trajectory (a multiple of ``save_every``).
      save_every: keep one frame every ``save_every`` steps; the file holds
        ``n_steps // save_every + 1`` frames (frame 0 is the initial condition).
      grid_shape: points per axis (one value applies to all axes); default: the spec's grid.
      length: domain length per axis; default: the spec's.
      dt: solver time step; default: the spec's ``default_dt``. Checked against the solver's
        stability limit when the step provides ``check_dt``.
      seed: PRNG seed of the initial conditions (sample ``i`` uses ``fold_in(key(seed), i)``).
      params: equation parameters overriding the defaults (validated by the spec).
      dtype: ``"float32"`` or ``"float64"`` (needs ``jax_enable_x64``): the precision of the
        simulation (the initial conditions are cast to it) and of the file.
      compression_level: gzip level of the file, 0 (none, fastest) to 9.
      batch_size, frames_per_segment: memory control (default: ~32 MB of float32 per segment;
        peak memory is a small multiple of that, independent of the number of samples and steps).

    Returns:
      the path written. The file appears only when complete; a blow-up (NaN/Inf) raises
      :class:`SimulationBlowUpError` naming the sample, step and time, and writes nothing.
    """
    if isinstance(equation, str):
        from sciml.solvers.registry import get_equation

        spec = get_equation(equation)
    else:
        spec = equation
    _check_run(n_samples, n_steps, save_every, compression_level, dtype)
    params = resolve_params(spec, params)
    grid = _resolve_grid(spec, grid_shape, length)
    dt = float(spec.default_dt if dt is None else dt)
    if not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"--dt: expected a time step > 0, found {dt}; e.g. --dt {spec.default_dt}")
    step = spec.make_step(grid, dt, **params)
    used = getattr(step, "grid", None)
    if isinstance(used, Grid) and used.shape == grid.shape:
        grid = used  # the grid the solver really uses (e.g. its boundary set by a parameter)

    channels = tuple(spec.channels)
    n_frames = n_steps // save_every + 1
    cells = int(np.prod(grid.shape)) * len(channels)
    batch_size, frames_per_segment = _segments(
        n_samples, n_frames, cells, batch_size, frames_per_segment
    )
    itemsize = np.dtype(str(dtype)).itemsize
    remove_stale_temporaries(path)  # left by a killed run of the same target: their space counts
    check_resources(
        path,
        file_bytes=n_samples * n_frames * cells * itemsize,
        memory_bytes=batch_size * cells * itemsize * (frames_per_segment + 16),
        compressed=compression_level > 0,
    )
    units = dict(getattr(spec, "units", {}) or {})
    attrs = _file_attrs(
        spec, step, params, dt=dt, save_every=save_every, n_steps=n_steps, seed=seed
    )
    times = np.arange(n_frames, dtype=np.float64) * dt * save_every
    key = jax.random.key(int(seed))

    def advance(z, n_saved):
        return rollout(step, z, n_saved * save_every, save_every=save_every, check_finite=False)

    advance_jit = jax.jit(advance, static_argnums=1)
    bar = Progress(n_samples * n_steps, desc=f"simulate {spec.name}", unit="step")
    with (
        bar,
        TrajectoryWriter(
            path,
            fields=channels,
            n_samples=n_samples,
            times=times,
            grid=grid,
            units=units,
            attrs=attrs,
            overwrite=overwrite,
            dtype=dtype,
            compression_level=compression_level,
        ) as writer,
    ):
        for start in range(0, n_samples, batch_size):
            count = min(batch_size, n_samples - start)
            state = _initial_states(spec, grid, key, start, count, params).astype(dtype)
            if hasattr(step, "check_dt"):
                try:
                    step.check_dt(state)
                except ValueError as err:
                    raise ValueError(f"--dt {dt:g}: {err}") from None
            first = np.asarray(state)[:, None]
            _blow_up_check(first, start, 0, save_every, dt, path)
            writer.write(first, sample_start=start, time_start=0)
            frame = 1
            while frame < n_frames:
                interrupt.check()
                n_saved = min(frames_per_segment, n_frames - frame)
                traj = advance_jit(state, n_saved)
                chunk = np.asarray(traj[:, 1:])
                _blow_up_check(chunk, start, frame, save_every, dt, path)
                writer.write(chunk, sample_start=start, time_start=frame)
                state = traj[:, -1]
                frame += n_saved
                bar.update(count * n_saved * save_every)
    return writer.path
