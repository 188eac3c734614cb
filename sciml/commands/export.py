"""Export a trained learned stepper from its run directory to a pickle-free artifact.

Formats:
  hdf5        (default) weights + architecture + normalisation + grid metadata in one HDF5 file that
              NumPy (`sciml.load_stepper`), C, Fortran, Julia or MATLAB can read; layout in
              docs/stepper_artifact.md. Holds the conv -> f -> conv family.
  jax-export  a serialised jax.export (StableHLO) step with a symbolic batch size, runnable with
              JAX alone on CPU or GPU (metadata in FILE.json). Any tendency network.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="run directory of a trained learned stepper")
    parser.add_argument("--out", type=Path, required=True, help="artifact file to write")
    parser.add_argument("--format", choices=("hdf5", "jax-export"), default="hdf5")
    parser.add_argument(
        "--which",
        choices=("best", "latest"),
        default="best",
        help="checkpoint to export (default: best by the run's best_metric)",
    )
    parser.add_argument(
        "--integrator",
        choices=("euler", "rk2", "ssprk3", "rk4"),
        help="store a different time integrator than the one trained with",
    )
    parser.add_argument("--dt", type=float, help="store a different time step than the trained one")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def run(args: argparse.Namespace) -> int:
    from sciml.stepper.artifact import export_stepper, load_stepper
    from sciml.stepper.jax_export import export_jax
    from sciml.stepper.model import LearnedStepper
    from sciml.train import restore_model

    if args.out.is_dir():
        raise IsADirectoryError(
            f"--out {args.out}: is a directory; --overwrite replaces a file, never a directory: "
            f"give a file path such as {args.out / 'stepper.h5'}"
        )
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(
            f"--out {args.out}: file exists; pass --overwrite or choose another path"
        )
    model = restore_model(args.run_dir, which=args.which)
    if not isinstance(model, LearnedStepper):
        raise ValueError(
            f"run_dir {args.run_dir}: holds a {type(model).__name__}, expected a learned stepper "
            "(model.name sciml.stepper.model:make_learned_stepper)"
        )
    model = model.with_integrator(args.integrator, args.dt)
    if args.format == "hdf5":
        path = export_stepper(model, args.out, overwrite=args.overwrite)
        print(f"wrote {path}: {load_stepper(path)}")
    else:
        path = export_jax(model, args.out, overwrite=args.overwrite)
        print(f"wrote {path} and {path}.json (jax.export, symbolic batch size)")
    return 0
