"""Training-step time of the sciml.train loop: a small U-Net on 1 device and on 8 devices.

Runs the real loop (``sciml.train.fit``) on a ``data=1`` mesh, a ``data=8`` mesh and a
``data=4 x space=2`` mesh of (by default fake) CPU devices, and, as the reference measured in the
same run, a bare ``jax.jit`` update step (same model, optimiser and batch, data already on the
device, no loader, no logging). Prints the median step time of each, the ratio to the bare step
(the loop's overhead), and the largest relative difference between the losses of the sharded
runs and the 1-device run (sharding must not change the numbers). On fake CPU devices the
8-device figures measure correctness and overhead, not speed: the 8 "devices" share the same cores.

    python benchmarks/bench_train_step.py [--grid 64] [--batch 8] [--width 16] [--steps 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if "jax" not in sys.modules and "--xla_force_host_platform_device_count" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    ).strip()

import jax
import numpy as np
import optax
from flax import nnx
from json_out import add_json_argument, write_json

from sciml.nn import UNet
from sciml.train import RegressionTask, SyntheticHeat, TrainConfig, fit
from sciml.train.optim import make_optimizer


def _model(args) -> nnx.Module:
    return UNet(1, 1, ndim=2, width=args.width, depth=2, norm="none", boundary="periodic",
                rngs=nnx.Rngs(0))  # fmt: skip


def loop_step_times(args, source, data: int, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-step wall times (s) of fit() after warm-up, and the losses of every step."""
    stamps: list[float] = []
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch, log_every=1,
                      optim={"learning_rate": 1e-3}, mesh={"data": data, "space": space})  # fmt: skip
    res = fit(_model(args), RegressionTask(), source, config=cfg,
              callbacks=[lambda step, records: stamps.append(time.perf_counter())])  # fmt: skip
    # The loop reads each step's loss while the next step runs, so in steady state the interval
    # between callbacks is the step time. Skip the first steps (compilation).
    times = np.diff(stamps)[args.warmup :]
    losses = np.array([r["loss"] for r in res.history if r["split"] == "train"])
    return times, losses


def bare_step_times(args, source) -> np.ndarray:
    """Reference: a plain jitted value_and_grad + optax update on one device."""
    model = _model(args)
    graphdef, params = nnx.split(model, nnx.Param)
    tx, _ = make_optimizer(TrainConfig(optim={"learning_rate": 1e-3}).optim, args.steps)
    opt_state = tx.init(params)
    task = RegressionTask()
    batch = {k: np.stack([source[i][k] for i in range(args.batch)]) for k in ("x", "y")}
    batch = jax.device_put(batch, jax.devices()[0])

    @jax.jit
    def step(params, opt_state, batch):
        def loss_fn(p):
            return task.loss(nnx.merge(graphdef, p), batch, key=None, step=0)[0]

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        params, opt_state, loss = step(params, opt_state, batch)
        loss.block_until_ready()
        times.append(time.perf_counter() - t0)
    return np.array(times[args.warmup :])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--grid", type=int, default=64, help="grid points per axis (2-D)")
    p.add_argument("--batch", type=int, default=8, help="global batch (multiple of 8)")
    p.add_argument("--width", type=int, default=16, help="U-Net width of the first level")
    p.add_argument("--steps", type=int, default=30, help="steps per configuration")
    p.add_argument("--warmup", type=int, default=5, help="steps excluded from the timing")
    add_json_argument(p)
    args = p.parse_args(argv)
    n_dev = jax.device_count()
    print(f"jax {jax.__version__}, {jax.default_backend()}, {n_dev} devices; U-Net 2-D width "
          f"{args.width} depth 2 on {args.grid}^2, batch {args.batch}, {args.steps} steps")  # fmt: skip
    source = SyntheticHeat(4 * args.batch, args.grid, ndim=2, n_modes=8, target="next")

    bare = bare_step_times(args, source)
    print(f"bare jitted step (reference, 1 device): {1e3 * np.median(bare):8.2f} ms")
    results = {}
    figures = {"benchmark": "train_step", "grid": args.grid, "batch": args.batch}
    figures["bare_ms"] = 1e3 * float(np.median(bare))
    meshes = [(1, 1)] + ([(n_dev, 1), (n_dev // 2, 2)] if n_dev >= 2 else [])
    for data, space in meshes:
        times, losses = loop_step_times(args, source, data, space)
        results[(data, space)] = losses
        med = np.median(times)
        line = (f"sciml.train loop, mesh data={data} space={space}: {1e3 * med:8.2f} ms/step "
                f"({1 / med:6.1f} steps/s), ratio to bare step {med / np.median(bare):5.2f}")  # fmt: skip
        if (data, space) != (1, 1):
            rel = np.max(np.abs(losses - results[(1, 1)]) / np.abs(results[(1, 1)]))
            line += f", max rel. loss diff vs 1 device {rel:.1e}"
        print(line)
        figures[f"ratio_loop_vs_bare_data{data}_space{space}"] = float(med / np.median(bare))
        figures[f"loop_ms_data{data}_space{space}"] = 1e3 * float(med)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
