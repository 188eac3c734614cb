"""Displacement files in and out of D3M: read a simulation file, write predictions.

Input: an HDF5 file in the layout of ``sciml simulate nbody`` (datasets ``za``, ``lpt2``, ``pm``
of shape ``(sample, n, n, n, 3)``, float32, Mpc/h, on the Lagrangian grid ``q = j box / n``;
attribute ``box`` in Mpc/h). Output of :func:`predict_file` (HDF5, written atomically):

- ``d3m``: ``(sample, n, n, n, 3)`` float32, predicted N-body displacements (Mpc/h);
- ``density``: ``(sample, n, n, n)`` float32, CIC density contrast ``rho / rho_mean - 1`` of the
  particles at ``q + Psi`` on the ``n^3`` particle grid;
- attributes: ``box``, ``model`` (run directory), ``source`` (input file), ``input`` (dataset
  name), ``tile``, ``halo`` and the input file's own attributes (cosmology, ``a``, ``steps``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import h5py
import numpy as np

from sciml.atomic import atomic_path


def read_displacements(
    path: str | os.PathLike, name: str = "za", *, samples: slice | None = None
) -> tuple[np.ndarray, dict]:
    """``(data (sample, n, n, n, 3) float32, file attributes)`` of dataset ``name`` of ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data: {path} not found; write one with `sciml simulate nbody`")
    with h5py.File(path, "r") as f:
        if name not in f:
            raise ValueError(
                f"{path}: no dataset {name!r} (found {sorted(f.keys())}); pass --input with one "
                "of those names"
            )
        ds = f[name]
        if ds.ndim != 5 or ds.shape[-1] != 3:
            raise ValueError(
                f"{path}:{name}: expected displacements (sample, n, n, n, 3), found shape "
                f"{ds.shape}"
            )
        data = np.asarray(ds[samples if samples is not None else slice(None)], np.float32)
        attrs = {
            k: (v.item() if hasattr(v, "item") and np.ndim(v) == 0 else v)
            for k, v in f.attrs.items()
        }
    return data, attrs


def _trained_cell_size(run_dir: str | os.PathLike) -> float | None:
    """Cell size ``box / n`` of the run's training file, when it can be found."""
    from sciml.train import run_config

    try:
        kwargs = dict(run_config(run_dir).data.train.kwargs)
        with h5py.File(kwargs["path"], "r") as f:
            fields = kwargs.get("fields", ["za"])
            name = fields[0] if not isinstance(fields, dict) else next(iter(fields.values()))
            return float(f.attrs["box"]) / f[name].shape[1]
    except (OSError, KeyError, TypeError, ValueError, StopIteration):
        return None


def predict_file(
    run_dir: str | os.PathLike,
    data: str | os.PathLike,
    out: str | os.PathLike,
    *,
    input_name: str = "za",
    tile: int | None = None,
    halo: int | None = None,
    batch_size: int = 1,
    which: str = "best",
    box: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Predict the N-body displacements of every sample of ``data`` with the model of ``run_dir``
    and write them with their CIC densities to ``out`` (layout in the module docstring)."""
    import sciml.cosmo  # noqa: F401  (registers the d3m model for restore_model)
    from sciml.cosmo.inference import predict
    from sciml.metrics.spectra3d import displacement_density
    from sciml.train import restore_model

    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"--out: {out} exists; pass --overwrite or choose another --out")
    za, attrs = read_displacements(data, input_name)
    if box is None:
        if "box" not in attrs:
            raise ValueError(f"{data}: no attribute 'box' (Mpc/h); pass --box")
        box = float(attrs["box"])
    trained = _trained_cell_size(run_dir)
    cell = box / za.shape[1]
    if trained is not None and not np.isclose(trained, cell, rtol=1e-3):
        print(
            f"warning: cell size {cell:.4g} Mpc/h differs from the training data's {trained:.4g} "
            "Mpc/h; D3M is trained at one resolution",
            file=sys.stderr,
        )
    model = restore_model(run_dir, which=which)
    pred = predict(model, za, tile=tile, halo=halo, batch_size=batch_size)
    density = np.stack([displacement_density(p, box) for p in pred]).astype(np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        f.attrs.update(
            {
                "box": box,
                "model": os.fspath(run_dir),
                "source": os.fspath(data),
                "input": input_name,
                "tile": -1 if tile is None else int(tile),
                "halo": -1 if halo is None else int(halo),
            }
        )
        f.create_dataset("d3m", data=pred, chunks=(1, *pred.shape[1:]))
        f.create_dataset("density", data=density, chunks=(1, *density.shape[1:]))
    return out
