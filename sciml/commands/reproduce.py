"""Run a reproduction example end to end and write summary.json plus figures into --out.

Experiments:
  learned-stepper  1-D Kuramoto-Sivashinsky: fine ETDRK4 data, 5.3x coarse-graining, a trained
                   conv -> f -> conv stepper against the classical solver at the same and finer
                   grids (nRMSE, correlation time, spectra, speed-up at equal accuracy).
                   --quick: a few minutes on 2 CPU cores.
  kolmogorov       2-D Kolmogorov flow (Kochkov et al. 2021) in miniature: learned interpolation
                   and learned correction on a finite-volume solver against the FV and spectral
                   solvers at 1x-8x the learned resolution (time to vorticity correlation < 0.95,
                   resolution factor, speed-up at equal accuracy, spectra, Pareto figure).
  fastmri          synthetic knee-like volumes: zero-filled vs U-Net (and VarNet) at 4x and 8x.
  burgers          forced 1-D Burgers (Bar-Sinai et al. 2019): learned finite-volume stencils at
                   N = 32 against upwind, MUSCL and WENO5 at N, 2N, 4N (MAE against a WENO5
                   reference, resolution factor, speed-up at equal accuracy); writes the
                   stencil_flux artifact burgers_stencil.h5.
  d3m              structure formation: the D3M 3-D U-Net (ZA -> particle-mesh displacements)
                   against ZA and 2LPT; displacement error, T(k), r(k), a 4x larger box and
                   unseen cosmologies. `sciml cosmo predict --model OUT/run` reuses the model.
  graphs           diffusion on a regular grid and an irregular mesh: ConvNet, Chebyshev, GCN and
                   message-passing steppers vs the FEM solver at equal cost; Chebyshev
                   denoising on pygsp's airfoil, Minnesota and bunny graphs.

The run directory of learned-stepper is a training run as well: `sciml export OUT --out
stepper.h5` exports the trained stepper. kolmogorov writes learned_correction.h5 + hybrid.json
(the correction for your own FV step) and learned_interpolation.h5 (kind fv_interpolation, run by
sciml.load_stepper in NumPy; docs/stepper_artifact.md).

learned-stepper, kolmogorov, burgers and graphs run from a setup of named sizes: `--set KEY=VALUE`
changes one field of the preset (values in YAML: 0.02, [1, 2, 4], null, true), `--setup FILE`
reads fields from a YAML file (order: preset <- file <- --set). Every run writes the setup it used
to OUT/setup.yaml; `--setup OUT/setup.yaml` re-runs it (its seed and quick flag included).

  sciml reproduce kolmogorov --quick --set forcing_wavenumber=2 --set nu=0.02 --set horizon=25 --out runs/kolmogorov-kf2
  sciml reproduce kolmogorov --setup runs/kolmogorov-kf2/setup.yaml --out runs/kolmogorov-kf2-again
"""

from __future__ import annotations

import argparse

from sciml.experiments.registry import EXPERIMENTS, SETUPS, get, presets
from sciml.experiments.setups import resolve_setup


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS), help="which reproduction to run")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=None,
        help="the small, fast variant (minutes on a laptop CPU); default: the --setup file's "
        "quick, else the full variant",
    )
    parser.add_argument(
        "--out", default=None, help="output directory (default: runs/EXPERIMENT[-quick])"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of data, model and training (default: the --setup file's seed, else 0)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="change one field of the setup, the value in YAML; repeatable, e.g. --set nu=0.02 "
        f"--set factors=[1,2,4] ({', '.join(sorted(SETUPS))} only)",
    )
    parser.add_argument(
        "--setup",
        default=None,
        metavar="FILE",
        help="YAML file of setup fields, or the setup.yaml of an earlier run to re-run it "
        "(applied before --set)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier reproduction run in --out (never deletes other directories)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="fastmri only: a folder with singlecoil_train/ and singlecoil_val/ (or the download's "
        "knee_singlecoil_*) of real fastMRI volumes, used instead of synthetic phantoms",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def run(args: argparse.Namespace) -> int:
    extra = {}
    quick, seed = bool(args.quick), 0 if args.seed is None else args.seed
    if args.set or args.setup is not None:
        if args.experiment not in SETUPS:
            flag = "--set" if args.set else "--setup"
            raise ValueError(
                f"{flag}: the {args.experiment} reproduction has no setup fields to change; "
                f"--set and --setup apply to {', '.join(sorted(SETUPS))}; drop {flag}"
            )
        extra["setup"], seed, quick = resolve_setup(
            presets(args.experiment),
            experiment=args.experiment,
            quick=args.quick,
            seed=args.seed,
            setup_file=args.setup,
            overrides=args.set or (),
        )
    out = args.out or f"runs/{args.experiment}{'-quick' if quick else ''}"
    if args.data is not None:
        if args.experiment != "fastmri":
            raise ValueError(
                f"--data: only the fastmri reproduction reads real data, found experiment "
                f"{args.experiment!r}; drop --data (the others generate their own data)"
            )
        extra["data"] = args.data
    get(args.experiment)(out, quick=quick, seed=seed, overwrite=args.overwrite, **extra)
    _print_results(out)
    return 0


def _print_results(out: str) -> None:
    """Print the fastMRI results table (the stepper reproductions log their own summary line)."""
    import os

    table = os.path.join(out, "results.md")
    if os.path.isfile(table):
        with open(table) as fh:
            print(fh.read().rstrip())
        print(f"results in {out}/ (summary.json, results.md and figures)")
