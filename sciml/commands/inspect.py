"""Describe a data file or a run directory (the library's :func:`sciml.datasets.inspect.describe`).

For a trajectory file (sciml, PDEBench, The Well, jax-cfd) prints the dimensions, the variables
(dims, dtype, units) with their value ranges (min / max / mean, computed block by block so that a
large file is never loaded whole), the coordinates and the attributes. Any other HDF5 file (e.g.
fastMRI) is printed as a tree of groups and datasets with their attributes and value ranges
(complex data: of the magnitude). For a run directory prints config.yaml and the last lines of its
metrics files. netCDF-3 files are read with xarray's scipy engine.
"""

from __future__ import annotations

import argparse
import os
import sys

from sciml._deprecation import moved_module

__getattr__ = moved_module(__name__, "sciml.datasets.inspect", ("value_ranges", "_blocks"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a .nc/.h5/.hdf5 file or a run directory")
    parser.add_argument(
        "--no-stats", action="store_true", help="skip the value ranges (no data is read)"
    )
    parser.add_argument(
        "--lines", type=int, default=5, help="metrics lines to show for a run directory"
    )
    parser.add_argument(
        "--attr-chars", type=int, default=200, help="truncate attribute values to this length"
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def run(args: argparse.Namespace) -> int:
    from sciml.datasets.inspect import describe
    from sciml.errors import reading

    def show() -> None:
        describe(args.path, stats=not args.no_stats, lines=args.lines, attr_chars=args.attr_chars)

    try:
        if os.path.isdir(args.path):
            show()
        else:
            with reading(args.path, what="HDF5/netCDF file"):
                show()
    except BrokenPipeError:  # `sciml inspect big.nc | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
