"""Training-step time of the fastMRI U-Net (current variant, chans=32) on 320 x 320 images.

Measures, in one run:

- ours: the sciml U-Net (:func:`sciml.mri.fastmri_unet`, variant "2020"), L1 loss, RMSprop; the
  jitted forward, forward + backward (``value_and_grad``) and the full update step;
- where the time goes: every distinct 3x3 convolution of the network (one per level and
  width) timed alone, forward and forward + backward, scaled by how often it occurs;
- the reference: the same architecture written here in PyTorch (from the published
  architecture facts, checked by its parameter count), trained the same way, if ``torch``
  (optional, ``torch==2.13.0``) is installed. Without torch the ratio is reported against XLA's
  own forward time (``step / forward``; about 3 is the usual cost of a backward pass);
- the two training steps again in alternation (``--interleave`` rounds, default 10), so that
  each pair of steps sees the same state of a shared machine: the ratio of the best times and
  the median of the rounds' ratios. This is the steadier ratio; the sequential one above it can
  move by 20-30 % on a VM whose speed drifts between the two blocks of timings.

- the per-operation profile of the forward + backward pass (:mod:`op_profile`): time per
  category (convolution forward, input gradient, weight gradient, host callback, dot, reduce,
  data movement, elementwise) and the costliest operations with their shapes and layouts.

Times are the best of ``--repeats`` calls, in wall-clock and in process CPU time (all threads),
the latter being the steadier figure on a shared machine. ``SCIML_CONV_GRAD=numpy`` selects the
NumPy weight gradient of :mod:`sciml.nn.conv_grad` (the default is XLA's own).

Run: ``python benchmarks/bench_mri_unet.py [--batch 1] [--size 320] [--chans 32] [--repeats 3]
[--quick] [--conv-table] [--interleave 10] [--json out.json]``.
XLA's CPU convolution gradients are slow (a batch-8 320 x 320 step takes tens of seconds): keep
the batch small on CPU.
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

from sciml.mri.models import count_parameters, fastmri_unet

CPU_TIMES: dict[str, float] = {}  # label -> best process CPU time (s) of the last _time calls


def _time(fn, *args, repeats: int, label: str | None = None) -> tuple[float, float]:
    """``fn(*args)``: (first call incl. compilation, best of ``repeats`` later calls) in s.

    With ``label``, the best process CPU time (all threads) is kept in ``CPU_TIMES[label]``."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    best = best_cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    if label is not None:
        CPU_TIMES[label] = best_cpu
    return first, best


def bench_ours(batch: int, size: int, chans: int, repeats: int) -> tuple[dict, object]:
    """The sciml U-Net's timings, and a no-argument call of one (blocking) training step."""
    model = fastmri_unet(1, 1, chans, 4, variant="2020", rngs=nnx.Rngs(0))
    graphdef, params = nnx.split(model, nnx.Param)
    tx = optax.rmsprop(1e-3, decay=0.99, eps=1e-8, eps_in_sqrt=False)
    opt_state = tx.init(params)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, size, size, 1)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(batch, size, size, 1)), jnp.float32)

    def loss_fn(p, x, y):
        return jnp.mean(jnp.abs(nnx.merge(graphdef, p)(x) - y))

    forward = jax.jit(lambda p, x: nnx.merge(graphdef, p)(x))
    grad = jax.jit(jax.value_and_grad(loss_fn))

    @jax.jit
    def step(p, s, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s, loss

    out = {"params": count_parameters(model)}
    out["forward_compile_s"], out["forward_s"] = _time(
        forward, params, x, repeats=repeats, label="forward"
    )
    out["grad_compile_s"], out["forward_backward_s"] = _time(
        grad, params, x, y, repeats=repeats, label="forward_backward"
    )
    out["step_compile_s"], out["step_s"] = _time(
        step, params, opt_state, x, y, repeats=repeats, label="step"
    )
    out["cpu_s"] = dict(CPU_TIMES)
    out["profile"] = profile_ops(grad, params, x, y, runs=2)
    return out, lambda: jax.block_until_ready(step(params, opt_state, x, y))


def conv_breakdown(batch: int, size: int, chans: int, repeats: int) -> list[dict[str, float]]:
    """Each distinct 3x3 convolution of the 4-level U-Net, timed alone (forward, fwd + bwd)."""
    # (level, c_in, c_out, count): encoder blocks, bottleneck, decoder blocks (two convs each).
    convs = []
    c = 1
    for level in range(4):
        w = chans * 2**level
        convs += [(level, c, w, 1), (level, w, w, 1)]
        c = w
    convs += [(4, c, 2 * c, 1), (4, 2 * c, 2 * c, 1)]
    for level in reversed(range(4)):
        w = chans * 2**level
        convs += [(level, 2 * w, w, 1), (level, w, w, 1)]
    merged: dict[tuple[int, int, int], int] = {}
    for level, ci, co, n in convs:
        merged[(level, ci, co)] = merged.get((level, ci, co), 0) + n
    rows = []
    rng = np.random.default_rng(0)
    for (level, ci, co), n in sorted(merged.items()):
        s = size // 2**level
        x = jnp.asarray(rng.normal(size=(batch, s, s, ci)), jnp.float32)
        k = jnp.asarray(rng.normal(size=(3, 3, ci, co)) * 0.1, jnp.float32)

        def conv(x, k):
            return jax.lax.conv_general_dilated(
                x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )

        fwd = jax.jit(conv)
        both = jax.jit(jax.grad(lambda x, k: jnp.sum(conv(x, k)), argnums=(0, 1)))
        _, t_f = _time(fwd, x, k, repeats=repeats)
        _, t_b = _time(both, x, k, repeats=repeats)
        flops = 2 * batch * s * s * 9 * ci * co
        rows.append(
            {
                "level": level,
                "size": s,
                "c_in": ci,
                "c_out": co,
                "count": n,
                "forward_s": t_f,
                "fwd_bwd_s": t_b,
                "gflop_s_forward": flops / t_f / 1e9,
            }
        )
    return rows


def other_breakdown(batch: int, size: int, chans: int, repeats: int) -> list[dict[str, float]]:
    """The 2x2 stride-2 up-sampling layers and the instance norms, timed alone.

    The U-Net's :class:`sciml.nn.unet.UpConv` is shown next to XLA's ``conv_transpose`` of the
    same shapes (count 0: not used; its CPU gradient made the first version 2x slower)."""
    from sciml.nn.norm import group_normalize
    from sciml.nn.unet import UpConv

    rows = []
    rng = np.random.default_rng(0)
    for level in range(4):
        w = chans * 2**level
        s = size // 2**level
        x = jnp.asarray(rng.normal(size=(batch, s // 2, s // 2, 2 * w)), jnp.float32)
        k = jnp.asarray(rng.normal(size=(2, 2, 2 * w, w)) * 0.1, jnp.float32)

        def up(x, k):
            return jax.lax.conv_transpose(
                x, k, (2, 2), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )

        _, t_f = _time(jax.jit(up), x, k, repeats=repeats)
        grad = jax.jit(jax.grad(lambda x, k: jnp.sum(up(x, k) ** 2), argnums=(0, 1)))
        _, t_b = _time(grad, x, k, repeats=repeats)
        rows.append(
            {
                "what": f"(not used) XLA conv_transpose L{level} {2 * w}->{w}",
                "count": 0,
                "forward_s": t_f,
                "fwd_bwd_s": t_b,
            }
        )
        layer = UpConv(2 * w, w, ndim=2, rngs=nnx.Rngs(0))
        gdef, p = nnx.split(layer)
        fwd = jax.jit(lambda p, x, gdef=gdef: nnx.merge(gdef, p)(x))
        _, t_f = _time(fwd, p, x, repeats=repeats)
        ugrad = jax.jit(
            jax.grad(lambda p, x, gdef=gdef: jnp.sum(nnx.merge(gdef, p)(x) ** 2), argnums=(0, 1))
        )
        _, t_b = _time(ugrad, p, x, repeats=repeats)
        rows.append(
            {
                "what": f"UpConv L{level} {2 * w}->{w} to {s}x{s}",
                "count": 1,
                "forward_s": t_f,
                "fwd_bwd_s": t_b,
            }
        )
        y = jnp.asarray(rng.normal(size=(batch, s, s, w)), jnp.float32)
        norm = jax.jit(lambda y, w=w: group_normalize(y, w, 1e-5))
        _, t_f = _time(norm, y, repeats=repeats)
        ngrad = jax.jit(jax.grad(lambda y, w=w: jnp.sum(group_normalize(y, w, 1e-5) ** 3)))
        _, t_b = _time(ngrad, y, repeats=repeats)
        # Instance norms at this level: 2 per encoder block, 2 per decoder block, 1 after up.
        rows.append(
            {
                "what": f"instance norm L{level} {w} ch at {s}x{s}",
                "count": 5,
                "forward_s": t_f,
                "fwd_bwd_s": t_b,
            }
        )
    return rows


def bench_torch(batch: int, size: int, chans: int, repeats: int) -> tuple[dict, object] | None:
    """The PyTorch U-Net's timings and a no-argument call of one training step (None: no torch)."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None

    def block(ci, co):
        return nn.Sequential(
            nn.Conv2d(ci, co, 3, padding=1, bias=False),
            nn.InstanceNorm2d(co),
            nn.LeakyReLU(0.2),
            nn.Conv2d(co, co, 3, padding=1, bias=False),
            nn.InstanceNorm2d(co),
            nn.LeakyReLU(0.2),
        )

    def up(ci, co):
        return nn.Sequential(
            nn.ConvTranspose2d(ci, co, 2, stride=2, bias=False),
            nn.InstanceNorm2d(co),
            nn.LeakyReLU(0.2),
        )

    class RefUnet(nn.Module):
        """The current fastMRI U-Net, written from its published architecture."""

        def __init__(self, c):
            super().__init__()
            widths = [c * 2**i for i in range(4)]
            self.down = nn.ModuleList([block(1, c)] + [block(w, 2 * w) for w in widths[:-1]])
            self.bottom = block(widths[-1], 2 * widths[-1])
            self.ups = nn.ModuleList([up(2 * w, w) for w in reversed(widths)])
            self.convs = nn.ModuleList([block(2 * w, w) for w in reversed(widths)])
            self.head = nn.Conv2d(c, 1, 1)

        def forward(self, x):
            skips = []
            for b in self.down:
                x = b(x)
                skips.append(x)
                x = nn.functional.avg_pool2d(x, 2)
            x = self.bottom(x)
            for u, b in zip(self.ups, self.convs, strict=True):
                x = torch.cat([u(x), skips.pop()], dim=1)
                x = b(x)
            return self.head(x)

    torch.manual_seed(0)
    model = RefUnet(chans)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size)
    y = torch.randn(batch, 1, size, size)

    def step():
        opt.zero_grad()
        loss = nn.functional.l1_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def forward():
        with torch.no_grad():
            return model(x)

    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    best_step = best_fwd = best_cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        best_step = min(best_step, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        t0 = time.perf_counter()
        forward()
        best_fwd = min(best_fwd, time.perf_counter() - t0)
    result = {
        "step_cpu_s": best_cpu,
        "params": n_params,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "first_step_s": first,
        "step_s": best_step,
        "forward_s": best_fwd,
    }
    return result, step


def run_one(batch: int, args: argparse.Namespace) -> dict:
    """Benchmark one batch size: ours, the optional tables, the PyTorch reference; prints all."""
    print(f"\n== batch {batch}  image {args.size}x{args.size}  chans {args.chans}")
    ours, ours_step = bench_ours(batch, args.size, args.chans, args.repeats)
    cpu = ours["cpu_s"]
    print(f"sciml U-Net ({ours['params']:,} parameters); wall ms (process CPU ms)")
    compile_key = {"forward": "forward", "forward_backward": "grad", "step": "step"}
    for label, key in (
        ("forward", "forward"),
        ("forward+backward", "forward_backward"),
        ("train step", "step"),
    ):
        first = ours[compile_key[key] + "_compile_s"]
        print(
            f"  {label:17s} {ours[key + '_s'] * 1e3:9.1f} ms ({cpu[key] * 1e3:8.1f})  "
            f"(compile+first {first:.1f} s)"
        )
    print(
        f"  backward share    {1 - ours['forward_s'] / ours['forward_backward_s']:.0%} of "
        "forward+backward"
    )
    print("where forward+backward spends its time (XLA operations, profiler trace):")
    print(format_profile(ours["profile"], indent="  "))
    traced, cpu_fb = ours["profile"]["total_ms"] / 1e3, ours["cpu_s"]["forward_backward"]
    if traced < 0.6 * cpu_fb:
        print(
            f"  (the trace accounts for {traced:.2f} s of {cpu_fb:.2f} s "
            "of CPU time: with several threads XLA's CPU convolutions run asynchronously and the "
            "trace times only their dispatch; for the breakdown run single-threaded: "
            "XLA_FLAGS='--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1')"
        )
    result = {"batch": batch, "ours": ours}

    if args.conv_table:
        rows = conv_breakdown(batch, args.size, args.chans, args.repeats)
        result["conv_table"] = rows
        print("3x3 convolutions alone (count x best time):")
        print("  level  size   c_in -> c_out  n   forward ms  fwd+bwd ms  GFLOP/s fwd")
        tot_f = tot_b = 0.0
        for r in rows:
            tot_f += r["count"] * r["forward_s"]
            tot_b += r["count"] * r["fwd_bwd_s"]
            print(
                f"  {r['level']:5d}  {r['size']:4d}  {r['c_in']:5d} -> {r['c_out']:5d}  "
                f"{r['count']:d}  {r['forward_s'] * 1e3:10.1f}  {r['fwd_bwd_s'] * 1e3:10.1f}"
                f"  {r['gflop_s_forward']:10.1f}"
            )
        print(
            f"  sum of 3x3 convs: forward {tot_f * 1e3:.1f} ms "
            f"({tot_f / ours['forward_s']:.0%} of the network forward), fwd+bwd "
            f"{tot_b * 1e3:.1f} ms ({tot_b / ours['forward_backward_s']:.0%} of the network's)"
        )
        rows = other_breakdown(batch, args.size, args.chans, args.repeats)
        result["other_table"] = rows
        print("other layers alone (count x best time; count 0 = comparison only, not used):")
        for r in rows:
            print(
                f"  {r['what']:40s} n={r['count']}  forward {r['forward_s'] * 1e3:8.1f} ms  "
                f"fwd+bwd {r['fwd_bwd_s'] * 1e3:8.1f} ms"
            )

    got = None if args.no_torch else bench_torch(batch, args.size, args.chans, args.repeats)
    ref, ref_step = (None, None) if got is None else got
    result["torch"] = ref
    if ref is None:
        print("no PyTorch reference in this run (optional torch==2.13.0, or --no-torch)")
        result["ratio_step_vs_forward"] = ours["step_s"] / ours["forward_s"]
        print(f"ratio step / forward (XLA, same run): {result['ratio_step_vs_forward']:.2f}")
    else:
        print(
            f"PyTorch {ref['version']} reference U-Net ({ref['params']:,} parameters, "
            f"{ref['threads']} threads)"
        )
        print(f"  forward           {ref['forward_s'] * 1e3:9.1f} ms")
        print(f"  train step        {ref['step_s'] * 1e3:9.1f} ms ({ref['step_cpu_s'] * 1e3:8.1f})")
        result["ratio_step"] = ours["step_s"] / ref["step_s"]
        result["ratio_step_cpu"] = cpu["step"] / ref["step_cpu_s"]
        result["ratio_forward"] = ours["forward_s"] / ref["forward_s"]
        print(
            f"ratio sciml / PyTorch train step: {result['ratio_step']:.2f} wall, "
            f"{result['ratio_step_cpu']:.2f} CPU time; forward {result['ratio_forward']:.2f}"
        )
        if args.interleave > 0:
            pair = interleaved(ours_step, ref_step, args.interleave)
            result["interleaved"] = pair
            print(describe(pair))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="one or more batches")
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--chans", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="160 x 160, 2 repeats (CPU smoke)")
    parser.add_argument("--conv-table", action="store_true", help="time every conv alone too")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument(
        "--interleave",
        type=int,
        default=10,
        help="alternating sciml / PyTorch step rounds after the sequential timings (0: none)",
    )
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.size, args.repeats = min(args.size, 160), min(args.repeats, 2)
        args.interleave = min(args.interleave, 2)
    print(f"devices: {jax.devices()}  SCIML_CONV_GRAD={os.environ.get('SCIML_CONV_GRAD', 'xla')}")
    results = [run_one(b, args) for b in args.batch]
    if args.json:
        out = {
            "benchmark": "mri_unet",
            "device": str(jax.devices()[0].device_kind),
            "backend": jax.default_backend(),
            "conv_grad": os.environ.get("SCIML_CONV_GRAD", "xla"),
            "size": args.size,
            "chans": args.chans,
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main()
