"""The training step of the Kolmogorov hybrids on the CPU: XLA's default passes against no fusion.

The gradient of the k-step unrolled loss (:class:`sciml.train.RolloutTask`, what
``sciml reproduce kolmogorov`` trains) of the learned correction and of the learned
interpolation on the finite-volume solver (:mod:`sciml.stepper.fv_hybrid`), compiled twice:

- ``default``: XLA's own passes (what the hybrids use for runs of 100 steps or more,
  :func:`sciml.stepper.fv_hybrid.cpu_compiler_options`);
- ``no fusion``: ``{"xla_disable_hlo_passes": "fusion"}``, what they use for shorter runs, and what
  an earlier build used for all.

For each it prints the compile time and the best time of one gradient evaluation, and the ratio
``no fusion / default`` of the step time (above 1: the default is faster). Fields are smooth
random vorticity with the quick preset's amplitude; the solver runs ``--substeps`` steps of
SSP-RK3 per model step, as at 16^2 in the quick flow.

    python benchmarks/bench_fv_hybrid_step.py                 # 16^2, unroll 16, width 64, depth 5
    python benchmarks/bench_fv_hybrid_step.py --n 32 --unroll 8
    python benchmarks/bench_fv_hybrid_step.py --small         # seconds (smoke test)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from json_out import add_json_argument, write_json

NO_FUSION = {"xla_disable_hlo_passes": "fusion"}


def _fields(n: int, samples: int, frames: int, *, seed: int) -> np.ndarray:
    """``(samples, frames, n, n, 1)`` float32: a few random Fourier modes of amplitude ~2."""
    rng = np.random.default_rng(seed)
    x = np.arange(n) * 2 * np.pi / n
    xx, yy = np.meshgrid(x, x, indexing="ij")
    out = np.zeros((samples, frames, n, n, 1), np.float32)
    for kx, ky in ((0, 4), (1, 0), (1, 2), (2, 1), (3, 3)):
        phase = rng.uniform(0, 2 * np.pi, (samples, frames, 1, 1))
        amp = rng.normal(0, 1.0, (samples, 1, 1, 1))
        out[..., 0] += amp * np.sin(kx * xx + ky * yy + phase)
    return out


def _step_fn(model, unroll: int):
    import jax
    from flax import nnx

    from sciml.train import RolloutTask

    task = RolloutTask(unroll)
    graphdef, state = nnx.split(model)

    def loss(state, batch):
        return task.loss(
            nnx.merge(graphdef, state), batch, key=jax.random.key(0), step=jax.numpy.int32(0)
        )[0]

    return jax.value_and_grad(loss), state


def measure(kind: str, options: dict, args) -> dict[str, float]:
    """Compile time and best step time of one model's unrolled gradient under ``options``."""
    import jax
    from flax import nnx
    from sciml.solvers import Grid
    from sciml.solvers.fvns import FiniteVolumeNS2D

    from sciml.stepper.fv_hybrid import make_fv_correction, make_fv_interpolation

    n, dt = args.n, 0.1
    solver = FiniteVolumeNS2D(
        Grid((n, n), (2 * np.pi, 2 * np.pi)),
        dt / args.substeps,
        nu=0.005,
        drag=0.1,
        forcing_wavenumber=4,
        forcing_amplitude=1.0,
    )
    train = _fields(n, args.batch, args.unroll + 1, seed=0)
    make = make_fv_correction if kind == "correction" else make_fv_interpolation
    model = make(
        solver,
        dt=dt,
        train=train,
        width=args.width,
        depth=args.depth,
        kernel_size=3,
        rngs=nnx.Rngs(0),
    )
    fn, state = _step_fn(model, args.unroll)
    batch = {"inputs": train[:, :1], "targets": train[:, 1:]}
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(state, batch).compile(compiler_options=options or None)
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(state, batch))
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(state, batch))
        best = min(best, time.perf_counter() - t0)
    return {"compile_s": compile_s, "step_s": best}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16, help="grid cells per side (default 16)")
    p.add_argument("--unroll", type=int, default=16, help="model steps in the loss (default 16)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--depth", type=int, default=5)
    p.add_argument("--substeps", type=int, default=2, help="FV steps per model step (default 2)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--models",
        nargs="+",
        choices=("correction", "interpolation"),
        default=["correction", "interpolation"],
    )
    p.add_argument("--small", action="store_true", help="a smoke-test size (seconds)")
    add_json_argument(p)
    args = p.parse_args()
    if args.small:
        args.n, args.unroll, args.width, args.depth, args.repeats = 8, 2, 8, 2, 2
    import jax

    print(
        f"FV hybrid training step on {jax.devices()[0].device_kind}: {args.n}^2, unroll "
        f"{args.unroll}, batch {args.batch}, width {args.width}, depth {args.depth}, "
        f"{args.substeps} FV steps per model step"
    )
    print(f"{'model':<14} {'options':<10} {'compile s':>10} {'step s':>8}")
    result: dict = {"benchmark": "fv_hybrid_step", "config": vars(args).copy()}
    for kind in args.models:
        rows = {}
        for label, options in (("default", {}), ("no fusion", NO_FUSION)):
            rows[label] = measure(kind, options, args)
            r = rows[label]
            print(f"{kind:<14} {label:<10} {r['compile_s']:>10.1f} {r['step_s']:>8.3f}")
        ratio = rows["no fusion"]["step_s"] / rows["default"]["step_s"]
        print(f"ratio {kind}: no-fusion step / default step = {ratio:.2f}x")
        result[kind] = rows
        result[f"ratio_{kind}_no_fusion_over_default"] = ratio
    write_json(args.json, result)


if __name__ == "__main__":
    main()
