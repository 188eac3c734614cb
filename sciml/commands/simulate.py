"""Run a classical PDE solver from the equation registry and write a trajectory file.

The file is netCDF4/HDF5 (open it with xarray.open_dataset, engine h5netcdf or netcdf4):
dims (sample, time, x[, y[, z]]), one variable per field, coordinates with units, and attributes
recording the equation, its parameters, dt, dx, boundary conditions, solver, sciml version and
seed. The same arguments and seed give the same file contents. The file appears only when the
run completes (a crash or a blow-up leaves no partial file).

Equations: run `sciml simulate --list` to print the registered names with their parameters.

Finite elements on a triangle mesh (`fem-heat`, `fem-wave`; `--mesh rectangle-hole|l-shape|airfoil|
FILE`, `--mesh-size H`) write an HDF5 mesh trajectory (docs/mesh_layout.md) and an XDMF file beside
it that ParaView opens: `sciml simulate fem-heat --mesh l-shape --out heat.h5 --steps 100`.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("equation", nargs="?", help="registered equation name, e.g. ks1d")
    parser.add_argument("--out", help="output file (.nc); refused if it exists unless --overwrite")
    parser.add_argument("--samples", type=int, default=1, help="number of trajectories (default 1)")
    parser.add_argument("--steps", type=int, default=100, help="solver steps per trajectory")
    parser.add_argument(
        "--save-every", type=int, default=1, help="keep one frame every K steps (default 1)"
    )
    parser.add_argument(
        "--grid", type=int, nargs="+", metavar="N", help="points per axis (one value: all axes)"
    )
    parser.add_argument(
        "--length", type=float, nargs="+", metavar="L", help="domain length per axis"
    )
    parser.add_argument("--dt", type=float, help="solver time step (default: the equation's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial conditions")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="equation parameter, repeatable (e.g. --set nu=0.01)",
    )
    parser.add_argument("--batch", type=int, help="samples simulated at once (memory control)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--compress",
        type=int,
        default=1,
        metavar="LEVEL",
        help="gzip level 0-9 (default 1; 0: none, fastest; float data shrink by ~15-25%%)",
    )
    parser.add_argument(
        "--mesh",
        default="rectangle-hole",
        help="fem-* only: rectangle-hole, l-shape, airfoil, or a mesh file (.msh/.vtu/.vtk/.xdmf)",
    )
    parser.add_argument("--mesh-size", type=float, help="fem-* only: target edge length")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--list", action="store_true", help="list the registered equations")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def _parse_sets(items: list[str]) -> dict:
    from sciml.datasets.generate import parse_param_value

    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set {item}: expected NAME=VALUE, e.g. --set nu=0.01")
        params[name.strip()] = parse_param_value(value.strip())
    return params


def _list_equations() -> int:
    import sciml.solvers  # noqa: F401  (registers the built-in equations)
    from sciml.solvers.registry import EQUATIONS

    for name in sorted(EQUATIONS):
        spec = EQUATIONS[name]
        params = ", ".join(f"{k}={getattr(v, 'default', v)}" for k, v in dict(spec.params).items())
        first_line = str(getattr(spec, "description", "")).strip().splitlines()
        print(f"{name:18s} {spec.ndim}-D  {first_line[0] if first_line else ''}")
        if params:
            print(f"{'':18s} params: {params}")
    from sciml.solvers.fem.simulate import FEM_EQUATIONS

    for name, spec in FEM_EQUATIONS.items():
        params = ", ".join(f"{k}={v}" for k, v in spec["params"].items())
        print(f"{name:18s} mesh  {spec['description']}\n{'':18s} params: {params}")
    return 0


def _run_fem(args: argparse.Namespace) -> int:
    from sciml.solvers.fem.simulate import simulate_fem

    h5, xdmf = simulate_fem(
        args.equation,
        args.out,
        mesh=args.mesh,
        mesh_size=args.mesh_size,
        n_samples=args.samples,
        n_steps=args.steps,
        save_every=args.save_every,
        dt=args.dt,
        seed=args.seed,
        params=_parse_sets(args.set),
        overwrite=args.overwrite,
        dtype=args.dtype,
        compression_level=args.compress,
    )
    n_frames = args.steps // args.save_every + 1
    print(f"wrote {h5} and {xdmf}: {args.samples} samples x {n_frames} frames of {args.equation}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list_equations()
    if not args.equation:
        raise ValueError(
            "equation: missing; e.g. `sciml simulate ks1d --out ks.nc` (--list shows all)"
        )
    if not args.out:
        raise ValueError(f"--out: missing; e.g. `sciml simulate {args.equation} --out data.nc`")
    if args.equation.startswith("fem-"):
        return _run_fem(args)
    if args.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    from sciml.datasets.generate import simulate_to_file

    path = simulate_to_file(
        args.equation,
        args.out,
        n_samples=args.samples,
        n_steps=args.steps,
        save_every=args.save_every,
        grid_shape=args.grid,
        length=args.length,
        dt=args.dt,
        seed=args.seed,
        params=_parse_sets(args.set),
        overwrite=args.overwrite,
        batch_size=args.batch,
        dtype=args.dtype,
        compression_level=args.compress,
    )
    n_frames = args.steps // args.save_every + 1
    print(f"wrote {path}: {args.samples} samples x {n_frames} frames of {args.equation}")
    return 0
