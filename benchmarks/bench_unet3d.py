"""Training-step time of the D3M 3-D U-Net (64/128/256 channels, 32^3, batch 4) vs PyTorch.

The network is the cosmology emulator exactly as :mod:`sciml.cosmo` builds it
(:class:`sciml.cosmo.D3M`, He et al., PNAS 2019): the zoo's ``sciml.nn.UNet(ndim=3, width=64,
depth=2, down="strided", up="transpose", up_kernel_size=3, norm="batch", norm_affine=True,
boundary="periodic")`` with 3 displacement channels in and out. The reference is the same
network written here in PyTorch (circular padding of every 3^3 convolution, ``BatchNorm3d``,
stride-2 down-sampling convolutions, periodic ``ConvTranspose3d(3, stride=2)`` up-sampling), with
the same parameter count (printed and checked), trained the same way (MSE, Adam, batch norm in
training mode with its running averages updated), in the same process with the same number of
threads.

Prints the forward and train-step times (best of ``--repeats``; wall and process CPU time, the
latter steadier on a shared machine), the ratio sciml / PyTorch, the same two steps timed in
alternation (``--interleave`` rounds, default 3; :mod:`interleave`: the steadier ratio), and the
per-operation profile of sciml's train step (:mod:`op_profile`; ``--no-profile`` saves one step).

    python benchmarks/bench_unet3d.py                   # D3M size: 32^3, batch 4, width 64
    python benchmarks/bench_unet3d.py --quick           # 16^3, batch 1, width 16 (smoke test)
    python benchmarks/bench_unet3d.py --repeats 1 --json unet3d.json

On a 2-core CPU one D3M-size step takes several seconds in either framework (~0.5 TFLOP).
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
from interleave import describe, interleaved
from op_profile import format_profile, profile_ops

from sciml.cosmo.model import D3M


def threads() -> int:
    """CPU cores this process may use (XLA's CPU thread pool uses them all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _best(fn, repeats: int) -> dict[str, float]:
    """First call (compilation included) and the best of ``repeats`` later calls, wall and CPU."""
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


def bench_ours(
    batch: int, size: int, width: int, repeats: int, profile: bool
) -> tuple[dict, object]:
    """sciml's timings, and a no-argument call of one (blocking) training step."""
    model = D3M(width=width, depth=2, rngs=nnx.Rngs(0))
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = optax.adam(1e-4)
    opt_state = tx.init(params)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, size, size, size, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(batch, size, size, size, 3)), jnp.float32)

    def loss_fn(p, rest, x, y):
        m = nnx.merge(graphdef, p, rest, copy=True)
        loss = jnp.mean((m(x) - y) ** 2)
        return loss, nnx.state(m, nnx.Not(nnx.Param))  # updated batch-norm running averages

    forward = jax.jit(lambda p, rest, x: nnx.merge(graphdef, p, rest, copy=True)(x))

    @jax.jit
    def step(p, s, rest, x, y):
        (loss, rest), g = jax.value_and_grad(loss_fn, has_aux=True)(p, rest, x, y)
        updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s, rest, loss

    n_params = sum(int(np.prod(v.shape)) for v in jax.tree.leaves(params))

    def one_step():
        return jax.block_until_ready(step(params, opt_state, rest, x, y))

    out = {
        "params": n_params,
        "forward": _best(lambda: jax.block_until_ready(forward(params, rest, x)), repeats),
        "step": _best(one_step, repeats),
    }
    if profile:
        out["profile"] = profile_ops(step, params, opt_state, rest, x, y, runs=1)
    return out, one_step


def bench_torch(batch: int, size: int, width: int, repeats: int) -> tuple[dict, object] | None:
    """PyTorch's timings and a no-argument call of one training step (None: no torch)."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.set_num_threads(threads())
    F = nn.functional

    def conv(ci, co, stride=1):
        return nn.Conv3d(ci, co, 3, stride=stride, padding=1, padding_mode="circular")

    def cbr(ci, co, stride=1):
        return [conv(ci, co, stride), nn.BatchNorm3d(co), nn.ReLU()]

    def block(ci, co):
        return nn.Sequential(*cbr(ci, co), *cbr(co, co))

    class PeriodicUp(nn.Module):
        """y[2i] = x[i] K[1], y[2i+1] = x[i] K[2] + x[i+1] K[0] per axis, x[n] = x[0]; + BN, ReLU.

        ``ConvTranspose3d(3, stride=2, padding=1)`` of the input wrapped by one cell on the right,
        cropped to ``2 n`` (sciml.nn.unet.UpConv with kernel_size=3, boundary="periodic")."""

        def __init__(self, ci, co):
            super().__init__()
            self.up = nn.ConvTranspose3d(ci, co, 3, stride=2, padding=1)
            self.norm = nn.BatchNorm3d(co)

        def forward(self, x):
            n = x.shape[-3:]
            y = self.up(F.pad(x, (0, 1, 0, 1, 0, 1), mode="circular"))
            y = y[..., : 2 * n[0], : 2 * n[1], : 2 * n[2]]
            return F.relu(self.norm(y))

    class RefD3M(nn.Module):
        """sciml.cosmo.D3M(width=c, depth=2) written in PyTorch."""

        def __init__(self, c):
            super().__init__()
            self.enc = nn.ModuleList([block(3, c), block(2 * c, 2 * c)])
            self.down = nn.ModuleList(
                [nn.Sequential(*cbr(c, 2 * c, 2)), nn.Sequential(*cbr(2 * c, 4 * c, 2))]
            )
            self.bottom = block(4 * c, 4 * c)
            self.ups = nn.ModuleList([PeriodicUp(4 * c, 2 * c), PeriodicUp(2 * c, c)])
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
    model = RefD3M(width).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, size, size, size)
    y = torch.randn(batch, 3, size, size, size)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    def forward():
        with torch.no_grad():
            model(x)

    result = {
        "params": sum(p.numel() for p in model.parameters()),
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "forward": _best(forward, repeats),
        "step": _best(step, repeats),
    }
    return result, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=32, help="grid cells per side")
    parser.add_argument("--width", type=int, default=64, help="channels of the first level")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="16^3, batch 1, width 16")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--no-profile", action="store_true", help="skip the per-op profile")
    parser.add_argument(
        "--interleave",
        type=int,
        default=3,
        help="alternating sciml / PyTorch step rounds after the sequential timings (0: none)",
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.size, args.width = 1, 16, 16
    w = args.width
    print(
        f"devices: {jax.devices()}  batch {args.batch}  grid {args.size}^3  channels "
        f"{w}/{2 * w}/{4 * w}  {threads()} threads  "
        f"SCIML_CONV_GRAD={os.environ.get('SCIML_CONV_GRAD', 'xla')}  "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}",
        flush=True,
    )
    ours, ours_step = bench_ours(args.batch, args.size, w, args.repeats, not args.no_profile)
    print(f"sciml D3M 3-D U-Net ({ours['params']:,} parameters); wall ms (process CPU ms)")
    for key in ("forward", "step"):
        r = ours[key]
        print(
            f"  {key:10s} {r['wall_s'] * 1e3:9.1f} ms ({r['cpu_s'] * 1e3:8.1f})  "
            f"(compile+first {r['first_s']:.1f} s)",
            flush=True,
        )
    if "profile" in ours:
        print("where the train step spends its time (XLA operations, profiler trace):")
        print(format_profile(ours["profile"], indent="  "), flush=True)
        covered = ours["profile"].get("total_ms", 0.0) / (ours["step"]["cpu_s"] * 1e3)
        print(
            f"  (the traced operations add up to {covered:.0%} of the step's CPU time; the "
            "profiler trace attributes the rest to no operation)"
        )
    got = None if args.no_torch else bench_torch(args.batch, args.size, w, args.repeats)
    ref, ref_step = (None, None) if got is None else got
    result = {
        "benchmark": "unet3d",
        "device": str(jax.devices()[0].device_kind),
        "backend": jax.default_backend(),
        "threads": threads(),
        "batch": args.batch,
        "size": args.size,
        "width": w,
        "repeats": args.repeats,
        "ours": ours,
        "torch": ref,
    }
    if ref is None:
        print("no PyTorch reference in this run (optional torch==2.13.0, or --no-torch)")
    else:
        same = "same as sciml" if ref["params"] == ours["params"] else "DIFFERENT from sciml"
        print(
            f"PyTorch {ref['version']} reference ({ref['params']:,} parameters, {same}; "
            f"{ref['threads']} threads)"
        )
        for key in ("forward", "step"):
            r = ref[key]
            print(f"  {key:10s} {r['wall_s'] * 1e3:9.1f} ms ({r['cpu_s'] * 1e3:8.1f})")
        result["ratio_step"] = ours["step"]["wall_s"] / ref["step"]["wall_s"]
        result["ratio_step_cpu"] = ours["step"]["cpu_s"] / ref["step"]["cpu_s"]
        result["ratio_forward"] = ours["forward"]["wall_s"] / ref["forward"]["wall_s"]
        print(
            f"ratio sciml / PyTorch train step: {result['ratio_step']:.2f} wall, "
            f"{result['ratio_step_cpu']:.2f} CPU time; forward {result['ratio_forward']:.2f}"
        )
        if args.interleave > 0:
            pair = interleaved(ours_step, ref_step, args.interleave)
            result["interleaved"] = pair
            print(describe(pair))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)


if __name__ == "__main__":
    main()
