"""The ``sciml`` console script: one entry point, one sub-command per job.

Each sub-command lives in its own module under ``sciml/commands/`` exposing
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when their
sub-command is used, so ``sciml --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading

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
    "cosmo": (
        "sciml.commands.cosmo",
        "cosmology emulator tools: D3M predictions of N-body displacements and densities",
        "sciml cosmo predict --model runs/d3m --data sims/test.h5 --out d3m_test.h5",
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
    debug = bool(getattr(args, "debug", False))
    from sciml import interrupt

    try:
        with interrupt.handling():
            return int(module.run(args) or 0)
    except KeyboardInterrupt as err:
        if debug:
            raise
        signum = getattr(err, "signum", 2)
        what = "SIGTERM" if signum == 15 else "Ctrl-C (SIGINT)"
        print(
            f"sciml {name}: stopped by {what}; temporary files were removed, finished outputs "
            "and checkpoints are kept",
            file=sys.stderr,
        )
        if threading.active_count() > 1:
            # XLA's and the loaders' threads may be stopped mid-operation: tearing the interpreter
            # down around them can crash it (seen: SIGSEGV after SIGTERM). Every temporary file
            # was removed by the `finally` blocks above, so leave at once with the status.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)
        return 128 + signum
    except Exception as err:
        # Bad input and faults: one line, no traceback (--debug shows it). Library code raises
        # messages that name the argument/file, the expected and the found value, and the fix.
        line = None if debug else one_line(err, args)
        if line is None:
            raise
        print(f"sciml {name}: error: {line}", file=sys.stderr)
        return 2


def one_line(err: BaseException, args: argparse.Namespace | None = None) -> str | None:
    """The one-line message for ``err``, or None for an unexpected error (a bug: traceback)."""
    from sciml.errors import SciMLError, describe_fault

    where = None
    for attr in ("out", "run_dir", "path"):
        value = getattr(args, attr, None)
        if value is not None:
            where = str(value)
            break
    if isinstance(err, SciMLError):
        return " ".join(str(err).split())
    # OSError by errno; HDF5/tensorstore errors (also inside a ValueError) by their text
    fault = describe_fault(err, where, causes=isinstance(err, OSError | RuntimeError))
    if fault is not None:
        return fault
    if isinstance(err, OSError) and isinstance(err.errno, int):
        name = err.filename or where or "(unnamed file)"
        return f"{name}: {err.strerror or err}; check the path and the device"
    if isinstance(err, ValueError | LookupError | TypeError | OSError):
        return " ".join(str(err).split())
    return None


if __name__ == "__main__":
    raise SystemExit(main())
