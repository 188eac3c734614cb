"""Write a complete training config for your own data.

  sciml init stepper --data my.h5 --variables u --out stepper.yaml

reads a trajectory file (a sciml trajectory file, PDEBench/The Well/jax-cfd/netCDF, or a plain
h5py/npz array in the shape convention (sample, time, *space, channel)), takes dt and dx from
the file (or --dt/--dx when it has none), splits whole trajectories into training and evaluation
files, computes the normalisation statistics from the training split and writes a config that
`sciml train --config stepper.yaml` trains and `sciml export RUN --out my_stepper.h5` exports.
A plain array whose axis roles the file does not state is refused: name them once with
--dims sample,time,x,channel (or a 'dims' attribute on the array).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", metavar="{stepper}")
    sub.required = True
    s = sub.add_parser(
        "stepper",
        help="config for a learned stepper trained on your trajectories",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--data", required=True, type=Path, help="trajectory file (.h5/.nc/.npz)")
    s.add_argument(
        "--variables",
        required=True,
        type=lambda t: [v.strip() for v in t.split(",") if v.strip()],
        help="comma-separated fields (arrays) to learn, e.g. u or u,v",
    )
    s.add_argument("--out", required=True, type=Path, help="YAML config to write")
    s.add_argument(
        "--dims",
        help="role of every array axis for plain files, e.g. sample,time,x,channel "
        "(roles: sample, time, x, y, z, channel)",
    )
    s.add_argument("--dt", type=float, help="time between saved frames, if the file has none")
    s.add_argument(
        "--dx", type=_floats, help="grid spacing (one value or one per axis, comma-separated)"
    )
    s.add_argument(
        "--eval-fraction", type=float, default=0.2, help="share of trajectories held out"
    )
    s.add_argument("--data-dir", type=Path, help="where the split files go (default OUT_data/)")
    s.add_argument("--run-dir", type=Path, help="run directory named in the config")
    s.add_argument("--steps", type=int, default=2000, help="optimiser steps")
    s.add_argument("--batch-size", type=int, default=32, help="windows per batch")
    s.add_argument("--learning-rate", type=float, default=1e-3)
    s.add_argument("--unroll", type=int, default=1, help="steps of the unrolled loss")
    s.add_argument("--width", type=int, default=32, help="hidden channels of the network")
    s.add_argument("--kernel-size", type=int, default=5)
    s.add_argument("--integrator", choices=("euler", "rk2", "ssprk3", "rk4"), default="euler")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    s.add_argument("--debug", action="store_true", help="show tracebacks")


def run(args: argparse.Namespace) -> int:
    from sciml.stepper.init_config import init_stepper_config

    dx = args.dx[0] if args.dx and len(args.dx) == 1 else args.dx
    config = init_stepper_config(
        args.data,
        args.variables,
        args.out,
        dims=args.dims,
        dt=args.dt,
        dx=dx,
        eval_fraction=args.eval_fraction,
        data_dir=args.data_dir,
        run_dir=args.run_dir,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        unroll=args.unroll,
        width=args.width,
        kernel_size=args.kernel_size,
        integrator=args.integrator,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    kw = config["model"]["kwargs"]
    print(
        f"wrote {args.out}: variables {kw['variables']}, grid {kw['grid_shape']}, "
        f"dt={kw['dt']:g}, dx={kw['dx']}; next: sciml train --config {args.out}"
    )
    return 0
