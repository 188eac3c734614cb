"""Burgers cost benchmark: the learned-stencil model against upwind, MUSCL and WENO5 (large batch).

Wall time per simulated time unit (best of ``--repeats``, compile excluded) of

- the learned-stencil model (:class:`sciml.stepper.stencil.StencilFluxModel`, the quick preset's
  network, ``sciml.experiments.burgers.QUICK``: 5 convolutions of width 32, kernel 5, six-cell
  stencils) at ``N`` with ``dt = --dt`` (SSP-RK3),
- the finite-volume baselines (:class:`sciml.solvers.fv.FVBurgers`) at ``N, 2N, 4N, 8N`` at their
  CFL limit for ``max|u| = --u-max``,

on ``--batch`` trajectories with the paper's forcing. The cost does not depend on the weights, so
the model is untrained. It prints each time and its ratio to WENO5 at ``N`` (the reference
measured in the same run); the speed-up at equal accuracy is then
``cost(classical at N*) / cost(learned at N)`` with ``N*`` from ``sciml reproduce burgers``.

    python benchmarks/bench_burgers.py                 # N = 32, batch 256
    python benchmarks/bench_burgers.py --n 64 --batch 512
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from json_out import add_json_argument, write_json
from sciml.solvers import Grid
from sciml.solvers.fv import FVBurgers, random_forcing

from sciml.experiments.burgers import QUICK
from sciml.stepper.stencil import StencilFluxModel, rollout


def _best(fn, repeats: int) -> float:
    fn()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dt", type=float, default=0.1, help="learned-model time step")
    p.add_argument("--u-max", type=float, default=2.1, help="speed the baselines' dt is set for")
    p.add_argument("--time", type=float, default=1.0, help="simulated time per timed run")
    p.add_argument("--repeats", type=int, default=3)
    add_json_argument(p)
    a = p.parse_args(argv)
    forcing = random_forcing(a.batch, key=jax.random.key(0))
    t0 = jnp.zeros(a.batch)
    frame_dt = a.dt
    n_frames = max(1, round(a.time / frame_dt))
    out = {}
    q = QUICK
    model = StencilFluxModel(dx=2 * np.pi / a.n, nu=0.01, dt=a.dt, degree=q.degree,
                             stencil_width=q.stencil_width, width=q.width, depth=q.depth,
                             kernel_size=q.kernel_size, rngs=nnx.Rngs(0))  # fmt: skip
    u0 = 0.5 * jnp.sin(jnp.arange(a.n) * 2 * np.pi / a.n)[None, :, None] * jnp.ones((a.batch, 1, 1))
    out["learned", a.n] = _best(
        lambda: rollout(model, u0, forcing, t0=t0, n_frames=n_frames).block_until_ready(),
        a.repeats,
    ) / (n_frames * frame_dt)
    for scheme in ("upwind", "muscl", "weno5"):
        for k in (1, 2, 4, 8):
            n = a.n * k
            grid = Grid((n,), (2 * np.pi,))
            sub = int(np.ceil(frame_dt / FVBurgers(grid, 1.0, scheme=scheme).max_dt(a.u_max)))
            solver = FVBurgers(grid, frame_dt / sub, scheme=scheme)
            ui = (
                0.5
                * jnp.sin(jnp.arange(n) * 2 * np.pi / n)[None, :, None]
                * jnp.ones((a.batch, 1, 1))
            )

            def run(solver=solver, ui=ui, sub=sub):
                return solver.rollout(
                    ui, forcing, t0=t0, n_frames=n_frames, steps_per_frame=sub
                ).block_until_ready()

            out[scheme, n] = _best(run, a.repeats) / (n_frames * frame_dt)
    ref = out["weno5", a.n]
    rows = {
        f"{m}@{n}": {"s_per_time_unit": v, "ratio_to_weno5_at_N": v / ref}
        for (m, n), v in out.items()
    }
    for name, r in rows.items():
        print(
            f"{name:>14}: {r['s_per_time_unit']:.4f} s per time unit, {r['ratio_to_weno5_at_N']:.2f}x WENO5@{a.n}"
        )
    print(json.dumps({"batch": a.batch, "n": a.n, "rows": rows}))
    write_json(a.json, {"benchmark": "burgers", "batch": a.batch, "n": a.n, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
