"""Run a classical PDE solver from the equation registry and write a trajectory file.

The file is netCDF4/HDF5 (open it with xarray.open_dataset, engine h5netcdf or netcdf4):
dims (sample, time, x[, y[, z]]), one variable per field, coordinates with units, and attributes
recording the equation, its parameters, dt, dx, boundary conditions, solver, sciml version and
seed. The same arguments and seed give the same file contents. The file appears only when the
run completes (a crash or a blow-up leaves no partial file).

Equations: run `sciml simulate --list` to print the registered names with their parameters.

Finite elements on a triangle mesh (`fem-heat`, `fem-wave`; `--mesh rectangle-hole|l-shape|airfoil|
FILE`, `--mesh-size H`) write an HDF5 mesh trajectory (docs/mesh_layout.md) and an XDMF file beside
it for ParaView and meshio: `sciml simulate fem-heat --mesh l-shape --out heat.h5 --steps 100`.

`sciml simulate nbody` is special: it runs the particle-mesh N-body solver
(``sciml.solvers.pm``) and writes samples of ZA, 2LPT and PM displacements on the Lagrangian
grid to an HDF5 file (layout: docs/nbody_layout.md), e.g.

    sciml simulate nbody --particles 32 --box 128 --steps 10 --samples 100 --out d3m.h5 \
        --cosmology-grid 'A_s=1e-9,3e-9;Omega_m=0.25,0.35' --seed 0
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("equation", nargs="?", help="registered equation name, e.g. ks1d")
    parser.add_argument("--out", help="output file (.nc); refused if it exists unless --overwrite")
    parser.add_argument(
        "--samples",
        type=int,
        default=1,
        help="number of trajectories (default 1; nbody: samples per cosmology)",
    )
    parser.add_argument(
        "--steps", type=int, help="solver steps per trajectory (default 100; nbody: 10 PM steps)"
    )
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
    nbody = parser.add_argument_group("nbody (particle-mesh N-body; `sciml simulate nbody`)")
    nbody.add_argument("--particles", type=int, help="particles per side (default 32)")
    nbody.add_argument("--box", type=float, help="box side in Mpc/h (default 128)")
    nbody.add_argument("--a-start", type=float, help="scale factor of the 2LPT ICs (default 0.1)")
    nbody.add_argument("--a-end", type=float, help="final scale factor (default 1)")
    nbody.add_argument(
        "--mesh-factor", type=int, help="force mesh cells per particle per side (default 2)"
    )
    nbody.add_argument(
        "--cosmology-grid",
        metavar="NAME=V1,V2;...",
        help="vary cosmological parameters over the outer product, e.g. 'A_s=1e-9,3e-9;Omega_m=0.3'"
        " (names: Omega_m Omega_b h n_s sigma8 A_s T_cmb; base: D3M fiducial)",
    )
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


_NBODY_ONLY = ("particles", "box", "a_start", "a_end", "mesh_factor", "cosmology_grid")
_PDE_ONLY = ("grid", "length", "dt", "batch")


def _run_nbody(args: argparse.Namespace) -> int:
    for name in _PDE_ONLY:
        if getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise ValueError(
                f"{flag}: not used by `sciml simulate nbody`; use --particles, --box and "
                "--cosmology-grid"
            )
    if args.set or args.save_every != 1 or args.dtype != "float32":
        raise ValueError(
            "--set/--save-every/--dtype: not used by `sciml simulate nbody` (it stores the final "
            "displacements in float32); use --cosmology-grid to change parameters"
        )
    from sciml.datasets.nbody_file import parse_cosmology_grid, simulate_nbody_to_file

    def pick(value, default):
        return default if value is None else value

    path = simulate_nbody_to_file(
        args.out,
        n=pick(args.particles, 32),
        box=pick(args.box, 128.0),
        samples=args.samples,
        steps=pick(args.steps, 10),
        a_start=pick(args.a_start, 0.1),
        a_end=pick(args.a_end, 1.0),
        mesh_factor=pick(args.mesh_factor, 2),
        seed=args.seed,
        grid=parse_cosmology_grid(args.cosmology_grid) if args.cosmology_grid else None,
        overwrite=args.overwrite,
        compression_level=args.compress,
    )
    print(f"wrote {path}: (ZA, 2LPT, PM) displacements, layout docs/nbody_layout.md")
    return 0


def _list_equations() -> int:
    import sciml.solvers  # noqa: F401  (registers the built-in equations)
    from sciml.solvers.registry import EQUATIONS

    for name in sorted(EQUATIONS):
        spec = EQUATIONS[name]
        params = ", ".join(f"{k}={getattr(v, 'default', v)}" for k, v in dict(spec.params).items())
        first_line = str(getattr(spec, "description", "")).strip().splitlines()
        print(f"{name:18s} {spec.ndim}-D  {first_line[0] if first_line else ''}")
        g = spec.default_grid
        print(
            f"{'':18s} defaults: --grid {' '.join(map(str, g.shape))}  length "
            f"{' x '.join(f'{v:g}' for v in g.length)}  --dt {spec.default_dt:g}"
        )
        if params:
            print(f"{'':18s} params: {params}")
    print(f"{'nbody':18s} 3-D  particle-mesh N-body (FastPM): ZA, 2LPT and PM displacements")
    print(f"{'':18s} options: --particles --box --steps --a-start --mesh-factor --cosmology-grid")
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
        suffix = "h5" if args.equation == "nbody" or args.equation.startswith("fem-") else "nc"
        raise ValueError(
            f"--out: missing; e.g. `sciml simulate {args.equation} --out data.{suffix}`"
        )
    if args.equation == "nbody":
        return _run_nbody(args)
    for name in _NBODY_ONLY:
        if getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise ValueError(
                f"{flag}: only for `sciml simulate nbody`; remove it for {args.equation}"
            )
    if args.steps is None:
        args.steps = 100
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
