"""Training-step time of a D3M-sized 3-D U-Net (64/128/256 channels, 32^3, batch 4) vs PyTorch.

The network is the cosmology emulator's shape (He et al., PNAS 2019: periodic 3x3x3
convolutions, batch norm, ReLU, stride-2 convolutions down, 2x2x2 transposed convolutions up,
3 displacement channels in and out) built from the zoo: ``sciml.nn.UNet(ndim=3, width=64,
depth=2, norm="batch", down="conv", up="transpose", boundary="periodic")``. The reference is the
same network written here in PyTorch (circular padding, ``BatchNorm3d``), trained the same way
(MSE, Adam), checked by its parameter count, measured in the same run.

Prints forward, forward + backward and step times (best of ``--repeats``; wall and process CPU
time), the per-operation profile of the backward pass and the ratio to PyTorch.

    python benchmarks/bench_unet3d.py                   # 32^3, batch 4, width 64 (slow on CPU)
    python benchmarks/bench_unet3d.py --quick           # 16^3, batch 1, width 16
    python benchmarks/bench_unet3d.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from op_profile import format_profile, profile_ops

from sciml.nn import UNet


def _best(fn, repeats: int) -> dict[str, float]:
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return {"first_s": first, "wall_s": wall, "cpu_s": cpu}


def bench_ours(batch: int, size: int, width: int, repeats: int) -> dict:
    model = UNet(
        3,
        3,
        ndim=3,
        width=width,
        depth=2,
        norm="batch",
        activation="relu",
        down="conv",
        up="transpose",
        boundary="periodic",
        rngs=nnx.Rngs(0),
    )
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = optax.adam(1e-4)
    opt_state = tx.init(params)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, size, size, size, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(batch, size, size, size, 3)), jnp.float32)

    def loss_fn(p, rest, x, y):
        m = nnx.merge(graphdef, p, rest, copy=True)
        return jnp.mean((m(x) - y) ** 2)

    forward = jax.jit(lambda p, rest, x: nnx.merge(graphdef, p, rest, copy=True)(x))
    grad = jax.jit(jax.value_and_grad(loss_fn))

    @jax.jit
    def step(p, s, rest, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, rest, x, y)
        updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s, loss

    n_params = sum(int(np.prod(v.shape)) for v in jax.tree.leaves(params))
    return {
        "params": n_params,
        "forward": _best(lambda: jax.block_until_ready(forward(params, rest, x)), repeats),
        "forward_backward": _best(lambda: jax.block_until_ready(grad(params, rest, x, y)), repeats),
        "step": _best(lambda: jax.block_until_ready(step(params, opt_state, rest, x, y)), repeats),
        "profile": profile_ops(grad, params, rest, x, y, runs=1),
    }


def bench_torch(batch: int, size: int, width: int, repeats: int) -> dict | None:
    try:
        import torch
        from torch import nn
    except ImportError:
        return None

    def conv(ci, co, stride=1):
        return nn.Conv3d(ci, co, 3, stride=stride, padding=1, padding_mode="circular")

    def block(ci, co):
        return nn.Sequential(
            conv(ci, co),
            nn.BatchNorm3d(co, affine=False),
            nn.ReLU(),
            conv(co, co),
            nn.BatchNorm3d(co, affine=False),
            nn.ReLU(),
        )

    class RefUNet3d(nn.Module):
        """sciml.nn.UNet(ndim=3, depth=2, norm='batch', down='conv', up='transpose') in torch."""

        def __init__(self, c):
            super().__init__()
            self.enc = nn.ModuleList([block(3, c), block(c, 2 * c)])
            self.down = nn.ModuleList([conv(c, c, 2), conv(2 * c, 2 * c, 2)])
            self.bottom = block(2 * c, 4 * c)
            self.ups = nn.ModuleList(
                [
                    nn.ConvTranspose3d(4 * c, 2 * c, 2, stride=2, bias=False),
                    nn.ConvTranspose3d(2 * c, c, 2, stride=2, bias=False),
                ]
            )
            self.dec = nn.ModuleList([block(4 * c, 2 * c), block(2 * c, c)])
            self.head = nn.Conv3d(c, 3, 1)

        def forward(self, x):
            skips = []
            for b, d in zip(self.enc, self.down, strict=True):
                x = b(x)
                skips.append(x)
                x = d(x)
            x = self.bottom(x)
            for u, b in zip(self.ups, self.dec, strict=True):
                x = b(torch.cat([u(x), skips.pop()], dim=1))
            return self.head(x)

    torch.manual_seed(0)
    model = RefUNet3d(width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, size, size, size)
    y = torch.randn(batch, 3, size, size, size)

    def step():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    def forward():
        with torch.no_grad():
            model(x)

    return {
        "params": sum(p.numel() for p in model.parameters()),
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "forward": _best(forward, repeats),
        "step": _best(step, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="16^3, batch 1, width 16")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.size, args.width = 1, 16, 16
    print(
        f"devices: {jax.devices()}  batch {args.batch}  grid {args.size}^3  widths "
        f"{args.width}/{2 * args.width}/{4 * args.width}  "
        f"SCIML_CONV_GRAD={os.environ.get('SCIML_CONV_GRAD', 'xla')}"
    )
    ours = bench_ours(args.batch, args.size, args.width, args.repeats)
    print(f"sciml 3-D U-Net ({ours['params']:,} parameters); wall ms (process CPU ms)")
    for key in ("forward", "forward_backward", "step"):
        r = ours[key]
        print(
            f"  {key:17s} {r['wall_s'] * 1e3:9.1f} ms ({r['cpu_s'] * 1e3:8.1f})  "
            f"(compile+first {r['first_s']:.1f} s)"
        )
    print("where forward+backward spends its time (XLA operations, profiler trace):")
    print(format_profile(ours["profile"], indent="  "))
    ref = None if args.no_torch else bench_torch(args.batch, args.size, args.width, args.repeats)
    result = {
        "benchmark": "unet3d",
        "device": str(jax.devices()[0].device_kind),
        "backend": jax.default_backend(),
        "batch": args.batch,
        "size": args.size,
        "width": args.width,
        "ours": ours,
        "torch": ref,
    }
    if ref is None:
        print("no PyTorch reference in this run (optional torch==2.13.0, or --no-torch)")
    else:
        print(
            f"PyTorch {ref['version']} reference ({ref['params']:,} parameters, "
            f"{ref['threads']} threads)"
        )
        for key in ("forward", "step"):
            r = ref[key]
            print(f"  {key:17s} {r['wall_s'] * 1e3:9.1f} ms ({r['cpu_s'] * 1e3:8.1f})")
        result["ratio_step"] = ours["step"]["wall_s"] / ref["step"]["wall_s"]
        result["ratio_step_cpu"] = ours["step"]["cpu_s"] / ref["step"]["cpu_s"]
        result["ratio_forward"] = ours["forward"]["wall_s"] / ref["forward"]["wall_s"]
        print(
            f"ratio sciml / PyTorch train step: {result['ratio_step']:.2f} wall, "
            f"{result['ratio_step_cpu']:.2f} CPU time; forward {result['ratio_forward']:.2f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)


if __name__ == "__main__":
    main()
