"""The ``sciml`` console script: one entry point, one sub-command per job.

Each sub-command lives in its own module under ``sciml/commands/`` exposing
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when their
sub-command is used, so ``sciml --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help, example)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "sciml.commands.init",
        "write a complete training config for your own trajectory file",
        "sciml init stepper --data my.h5 --variables u --out stepper.yaml",
    ),
    "train": (
        "sciml.commands.train",
        "train a model from a YAML config through the sharded training loop",
        "sciml train --config examples/configs/tendency_heat.yaml --set steps=200",
    ),
    "inspect": (
        "sciml.commands.inspect",
        "print dimensions, variables, attributes and value ranges of a data file or run directory",
        "sciml inspect runs/ks/data/train.nc",
    ),
    "simulate": (
        "sciml.commands.simulate",
        "run a classical solver and write a trajectory file (netCDF4/HDF5)",
        "sciml simulate ks1d --out ks.nc --samples 8 --steps 200 --grid 256 --seed 0",
    ),
    "export": (
        "sciml.commands.export",
        "export a trained learned stepper to a pickle-free artifact (HDF5 or jax.export)",
        "sciml export runs/ks --out ks_stepper.h5",
    ),
    "reproduce": (
        "sciml.commands.reproduce",
        "run a reproduction example end to end (learned-stepper, kolmogorov, fastmri, graphs)",
        "sciml reproduce learned-stepper --quick --out runs/ks-quick",
    ),
    "mri": (
        "sciml.commands.mri",
        "fastMRI tools: synthesize data, reconstruct, evaluate",
        "sciml mri synthesize --out data/mri --volumes 4",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sciml",
        description="sciml: learned integrators, classical PDE solvers and scientific ML on JAX.",
        epilog="examples:\n"
        + "\n".join(f"  {ex}" for _, _, ex in COMMANDS.values())
        + "\n\n`sciml COMMAND --help` describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the sciml version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text, example) in COMMANDS.items():
        sub.add_parser(
            name,
            help=help_text,
            add_help=False,
            description=help_text,
            epilog=f"example:\n  {example}",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in COMMANDS:
        args = parser.parse_args(argv)
        if args.version:
            from sciml._version import __version__

            print(__version__)
            return 0
        parser.print_help()
        return 0
    name = argv[0]
    module_name, help_text, example = COMMANDS[name]
    module = importlib.import_module(module_name)
    sub = argparse.ArgumentParser(
        prog=f"sciml {name}",
        description=(module.__doc__ or help_text).strip(),
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError, TypeError) as err:
        # Bad input: one line, no traceback. Library code raises messages that name the
        # argument/file, the expected and the found value, and the fix.
        if getattr(args, "debug", False):
            raise
        print(f"sciml {name}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
