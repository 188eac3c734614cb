"""N-body displacement files: write samples of (ZA, 2LPT, PM) displacements, read them lazily.

The engine of ``sciml simulate nbody`` and the reader of its files; layout in
``docs/nbody_layout.md``. Sample ``i`` of cosmology ``c`` (cosmology-major order) draws its
white noise from ``jax.random.fold_in(jax.random.key(seed), i % samples_per_cosmology)``: every
cosmology of a grid sees the same initial phases, so differences between them are physical,
not sampling noise. The file depends only on the seed and the settings (same seed, same bytes).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from sciml.datasets.sources import H5Source
from tqdm import tqdm

from sciml.atomic import atomic_path

__all__ = [
    "LAYOUT",
    "NbodySource",
    "cosmology_grid",
    "open_nbody",
    "parse_cosmology_grid",
    "simulate_nbody_to_file",
]

LAYOUT = "sciml-nbody/1"
DISPLACEMENTS = ("za", "lpt2", "pm")
_COSMO_FIELDS = ("Omega_m", "Omega_b", "h", "n_s", "sigma8", "A_s", "T_cmb")


def parse_cosmology_grid(text: str) -> dict[str, list[float]]:
    """``"A_s=1e-9,2e-9;Omega_m=0.3"`` -> ``{"A_s": [1e-9, 2e-9], "Omega_m": [0.3]}``."""
    grid: dict[str, list[float]] = {}
    for part in filter(None, (p.strip() for p in str(text).split(";"))):
        name, sep, values = part.partition("=")
        name = name.strip()
        if not sep or name not in _COSMO_FIELDS:
            raise ValueError(
                f"--cosmology-grid: expected NAME=V1,V2,... with NAME one of {_COSMO_FIELDS}, "
                f"found {part!r}; e.g. --cosmology-grid 'A_s=1e-9,3e-9;Omega_m=0.1,0.5'"
            )
        try:
            grid[name] = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ValueError(
                f"--cosmology-grid: {name}: expected comma-separated numbers, found {values!r}"
            ) from None
        if not grid[name]:
            raise ValueError(f"--cosmology-grid: {name}: expected at least one value, found none")
    if "sigma8" in grid and "A_s" in grid:
        raise ValueError(
            "--cosmology-grid: expected sigma8 or A_s, found both; vary one normalisation"
        )
    return grid


def cosmology_grid(base: Any, grid: Mapping[str, Sequence[float]] | None) -> list[Any]:
    """Cosmologies of the outer product of ``grid`` (first name varies slowest) over ``base``."""
    if not grid:
        return [base]
    names = list(grid)
    return [
        base.replace(**dict(zip(names, values)))
        for values in itertools.product(*(grid[k] for k in names))
    ]


def _check_space(path: Path, n_bytes: int) -> None:
    free = shutil.disk_usage(path.parent).free
    if n_bytes * 1.05 + 2**20 > free:
        raise ValueError(
            f"--out {path}: expected room for ~{n_bytes / 2**20:.1f} MiB, found "
            f"{free / 2**20:.1f} MiB free in {path.parent}; choose another directory or fewer "
            "--samples / --particles"
        )


def simulate_nbody_to_file(
    path: str | os.PathLike,
    *,
    n: int = 32,
    box: float = 128.0,
    samples: int = 1,
    steps: int = 10,
    a_start: float = 0.1,
    a_end: float = 1.0,
    mesh_factor: int = 2,
    seed: int = 0,
    cosmology: Any = None,
    grid: Mapping[str, Sequence[float]] | None = None,
    overwrite: bool = False,
    compression_level: int = 1,
) -> Path:
    """Simulate ``samples`` PM runs per cosmology and write them (layout ``docs/nbody_layout.md``).

    Args:
      n: particles per side (n^3 particles on the Lagrangian grid), >= 4.
      box: side of the periodic box in Mpc/h.
      samples: samples per cosmology (the file holds samples x grid points).
      steps, a_start, a_end, mesh_factor: FastPM settings (see ``sciml.solvers.pm.fastpm``).
      cosmology: the base ``Cosmology`` (default: ``Cosmology()``, D3M's fiducial).
      grid: ``{field: values}`` varied over their outer product (``parse_cosmology_grid``).
      compression_level: gzip level 0-9 of the datasets.
    Returns:
      the path; the file appears only when complete (atomic), refused up front if it exists
      (unless ``overwrite``) or would not fit on the disk.
    """
    import jax
    from sciml.solvers import pm
    from sciml.solvers.pm.fastpm import check_run_settings
    from sciml.solvers.pm.mesh import check_box

    from sciml._version import __version__

    path = Path(path)
    for name, value, low in (("--samples", samples, 1), ("--particles", n, 4)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, found {value!r}")
    if isinstance(compression_level, bool) or compression_level not in range(10):
        raise ValueError(f"--compress: expected a gzip level 0-9, found {compression_level!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"--out {path}: exists; pass --overwrite to replace it")
    if path.exists() and path.is_dir():
        raise IsADirectoryError(f"--out {path}: is a directory; expected a file name (.h5)")
    n, samples = int(n), int(samples)
    base = pm.Cosmology() if cosmology is None else cosmology
    cosmos = cosmology_grid(base, grid)
    # validate the solver settings and the box once, before any work
    steps, a_start, a_end, mesh_factor = check_run_settings(steps, a_start, a_end, mesh_factor)
    box = check_box(box)
    total = samples * len(cosmos)
    n_bytes = total * n**3 * 4 * (3 * len(DISPLACEMENTS) + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    _check_space(path, n_bytes)

    key = jax.random.key(int(seed))
    comp = {"compression": "gzip", "compression_opts": compression_level, "shuffle": True}
    comp = comp if compression_level else {}
    attrs = {
        "layout": LAYOUT,
        "title": "PM N-body displacements simulated by sciml (FastPM kick-drift-kick)",
        "units": "Mpc/h (comoving); displacements x - q on the Lagrangian grid q = (i,j,k) box/n",
        "box": box,
        "n_particles": n,
        "a": a_end,
        "a_start": a_start,
        "steps": steps,
        "mesh_factor": mesh_factor,
        "lpt_order_ic": 2,
        "laplace": "exact",
        "gradient": "fd",
        "seed": int(seed),
        "samples_per_cosmology": samples,
        "n_cosmologies": len(cosmos),
        "initial_condition_keys": (
            "jax.random.fold_in(jax.random.key(seed), sample % samples_per_cosmology)"
        ),
        "cosmology": json.dumps(base.to_dict(), sort_keys=True),
        "cosmology_grid": json.dumps({k: list(v) for k, v in (grid or {}).items()}),
        "d2_convention": "D2 = +3/7 D1^2 early (pmwd); x = q + D1 s1 + D2 s2",
        "sciml_version": __version__,
    }
    bar = tqdm(total=total, desc="simulate nbody", unit="sim", disable=not sys.stderr.isatty())
    with bar, atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w", track_order=True) as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        shape = (total, n, n, n)
        ds = {}
        for name in DISPLACEMENTS:
            ds[name] = f.create_dataset(
                name, (*shape, 3), np.float32, chunks=(1, n, n, n, 3), track_times=False, **comp
            )
            ds[name].attrs["units"] = "Mpc/h"
        ds["delta_lin"] = f.create_dataset(
            "delta_lin", shape, np.float32, chunks=(1, n, n, n), track_times=False, **comp
        )
        ds["delta_lin"].attrs["description"] = "linear density contrast at a (CIC-free, on q)"
        ds["za"].attrs["description"] = "Zel'dovich displacement D1(a) s1"
        ds["lpt2"].attrs["description"] = "2LPT displacement D1 s1 + D2 s2"
        ds["pm"].attrs["description"] = "PM N-body displacement (minimum image)"
        group = f.create_group("cosmology", track_order=True)
        table = {name: np.empty(total, np.float64) for name in _COSMO_FIELDS}
        for c_index, cosmo in enumerate(cosmos):
            s8 = pm.sigma8(cosmo)
            for i in range(samples):
                j = c_index * samples + i
                out = pm.simulate_displacements(
                    cosmo,
                    n,
                    box,
                    key=jax.random.fold_in(key, i),
                    steps=steps,
                    a_start=a_start,
                    a_end=a_end,
                    mesh_factor=mesh_factor,
                )
                for name, value in out.items():
                    ds[name][j] = value
                for name in _COSMO_FIELDS:
                    value = getattr(cosmo, name)
                    table[name][j] = s8 if name == "sigma8" else np.nan if value is None else value
                bar.update(1)
        for name, values in table.items():
            d = group.create_dataset(name, data=values, track_times=False)
            d.attrs["description"] = (
                "sigma8 of the linear power at a = 1 (computed when A_s normalises)"
                if name == "sigma8"
                else "NaN: normalised by sigma8"
                if name == "A_s"
                else "per-sample cosmological parameter"
            )
    return path


class NbodySource(H5Source):
    """Lazy (input, target) pairs from an N-body file: ``src[i] -> {"input": ..., "target": ...}``.

    Each value is one sample, float32 (n, n, n, 3) in Mpc/h (``delta_lin``: (n, n, n)). Extra
    attributes: ``attrs`` (the file's settings), ``cosmology`` (``{name: (samples,) float64}``),
    ``box``, ``n``, ``a``. Works with :class:`sciml.datasets.Loader` like any source.
    """

    def __init__(self, path, fields, *, check_finite: bool = True):
        super().__init__(path, fields, check_finite=check_finite)
        with h5py.File(self.path, "r") as f:
            layout = f.attrs.get("layout")
            if layout != LAYOUT:
                raise ValueError(
                    f"open_nbody: '{self.path}': expected layout {LAYOUT!r}, found {layout!r}; "
                    "write the file with `sciml simulate nbody`"
                )
            self.attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
            self.cosmology = {k: np.asarray(v) for k, v in f["cosmology"].items()}
        self.box = float(self.attrs["box"])
        self.n = int(self.attrs["n_particles"])
        self.a = float(self.attrs["a"])


def open_nbody(
    path: str | os.PathLike,
    *,
    input: str = "za",
    target: str = "pm",
    extra: Sequence[str] = (),
    check_finite: bool = True,
) -> NbodySource:
    """Open an N-body displacement file lazily as (input, target) pairs (default ZA -> PM).

    ``input`` and ``target`` are dataset names: ``za``, ``lpt2``, ``pm`` or ``delta_lin``;
    ``extra`` adds more of them under their own names (e.g. ``extra=("lpt2",)`` for the 2LPT
    baseline next to each pair).
    """
    names = (*DISPLACEMENTS, "delta_lin")
    fields = {"input": input, "target": target, **{str(e): str(e) for e in extra}}
    for arg, value in fields.items():
        if value not in names:
            raise ValueError(f"open_nbody: {arg} expected one of {names}, found {value!r}")
    return NbodySource(path, fields, check_finite=check_finite)
