"""Cosmology emulator tools: predict N-body displacements and densities with a trained D3M model.

  sciml cosmo predict --model runs/d3m --data sims/test.h5 --out d3m_test.h5
  sciml cosmo predict --model runs/d3m --data sims/big.h5 --out big_d3m.h5 --tile 32

The input file holds ZA displacements (sample, n, n, n, 3) in Mpc/h (dataset `za` as written by
`sciml simulate nbody`) and the attribute `box`; n must be a multiple of 4 and the cell size
box/n that of the training data. The output holds `d3m` (predicted displacements) and `density`
(their CIC density contrast on the particle grid). `--tile` runs boxes that do not fit in memory
in tiles with periodic halos (same result to float32 round-off).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cosmo_command", metavar="{predict}")
    sub.required = True
    p = sub.add_parser(
        "predict",
        help="N-body displacements and CIC densities from ZA displacements with a trained D3M",
        description="Apply the D3M model of a training run to every sample of an HDF5 file of "
        "ZA displacements and write the predicted displacements ('d3m') and their CIC density "
        "contrast ('density').",
    )
    p.add_argument(
        "--model", "--run", dest="run", required=True, type=Path, help="training run directory"
    )
    p.add_argument("--data", required=True, type=Path, help="HDF5 file with ZA displacements")
    p.add_argument("--out", required=True, type=Path, help="output HDF5 file")
    p.add_argument("--input", default="za", help="input dataset name (default za)")
    p.add_argument(
        "--tile", type=int, default=None, help="cells per tile side (default: whole box)"
    )
    p.add_argument(
        "--halo", type=int, default=None, help="periodic halo cells per tile (default: safe)"
    )
    p.add_argument("--batch-size", type=int, default=1, help="samples or tiles per call")
    p.add_argument("--which", choices=("best", "latest"), default="best", help="checkpoint")
    p.add_argument("--box", type=float, default=None, help="box side in Mpc/h (default: file)")
    p.add_argument("--overwrite", action="store_true", help="replace --out")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def run(args: argparse.Namespace) -> int:
    from sciml.cosmo.io import predict_file

    out = predict_file(
        args.run,
        args.data,
        args.out,
        input_name=args.input,
        tile=args.tile,
        halo=args.halo,
        batch_size=args.batch_size,
        which=args.which,
        box=args.box,
        overwrite=args.overwrite,
    )
    print(f"wrote {out}")
    return 0
