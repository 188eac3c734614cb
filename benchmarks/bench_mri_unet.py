"""Training-step time of the fastMRI U-Net (current variant, chans=32) on 320 x 320 images.

Measures, in one run:

- ours: the sciml U-Net (:func:`sciml.mri.fastmri_unet`, variant "2020"), L1 loss, RMSprop; the
  jitted forward, forward + backward (``value_and_grad``) and the full update step;
- where the time goes: every distinct 3x3 convolution of the network (one per level and
  width) timed alone, forward and forward + backward, scaled by how often it occurs;
- the reference: the same architecture written here in PyTorch (from the published
  architecture facts, checked by its parameter count), trained the same way, if ``torch``
  (optional, ``torch==2.13.0``) is installed. Without torch the ratio is reported against XLA's
  own forward time (``step / forward``; about 3 is the usual cost of a backward pass).

Run: ``python benchmarks/bench_mri_unet.py [--batch 1] [--size 320] [--chans 32] [--repeats 3]``.
XLA's CPU convolution gradients are slow (a batch-8 320 x 320 step takes tens of seconds): keep
the batch small on CPU.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from sciml.mri.models import count_parameters, fastmri_unet


def _time(fn, *args, repeats: int) -> tuple[float, float]:
    """``fn(*args)``: (first call incl. compilation, best of ``repeats`` later calls) in s."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return first, best


def bench_ours(batch: int, size: int, chans: int, repeats: int) -> dict[str, float]:
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
    out["forward_compile_s"], out["forward_s"] = _time(forward, params, x, repeats=repeats)
    out["grad_compile_s"], out["forward_backward_s"] = _time(grad, params, x, y, repeats=repeats)
    out["step_compile_s"], out["step_s"] = _time(step, params, opt_state, x, y, repeats=repeats)
    return out


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


def bench_torch(batch: int, size: int, chans: int, repeats: int) -> dict[str, float] | None:
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
    best_step = best_fwd = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        best_step = min(best_step, time.perf_counter() - t0)
        t0 = time.perf_counter()
        forward()
        best_fwd = min(best_fwd, time.perf_counter() - t0)
    return {
        "params": n_params,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "first_step_s": first,
        "step_s": best_step,
        "forward_s": best_fwd,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--chans", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-breakdown", action="store_true", help="skip per-conv timings")
    args = parser.parse_args()
    print(
        f"devices: {jax.devices()}  batch {args.batch}  image {args.size}x{args.size}  "
        f"chans {args.chans}"
    )

    ours = bench_ours(args.batch, args.size, args.chans, args.repeats)
    print(f"sciml U-Net ({ours['params']:,} parameters)")
    print(
        f"  forward           {ours['forward_s'] * 1e3:9.1f} ms  (compile+first "
        f"{ours['forward_compile_s']:.1f} s)"
    )
    print(
        f"  forward+backward  {ours['forward_backward_s'] * 1e3:9.1f} ms  (compile+first "
        f"{ours['grad_compile_s']:.1f} s)"
    )
    print(
        f"  train step        {ours['step_s'] * 1e3:9.1f} ms  (compile+first "
        f"{ours['step_compile_s']:.1f} s)"
    )
    print(
        f"  backward share    {1 - ours['forward_s'] / ours['forward_backward_s']:.0%} of "
        "forward+backward"
    )

    if not args.no_breakdown:
        rows = conv_breakdown(args.batch, args.size, args.chans, args.repeats)
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

        rows = other_breakdown(args.batch, args.size, args.chans, args.repeats)
        print("other layers alone (count x best time; count 0 = comparison only, not used):")
        tot_f2 = tot_b2 = 0.0
        for r in rows:
            tot_f2 += r["count"] * r["forward_s"]
            tot_b2 += r["count"] * r["fwd_bwd_s"]
            print(
                f"  {r['what']:40s} n={r['count']}  forward {r['forward_s'] * 1e3:8.1f} ms  "
                f"fwd+bwd {r['fwd_bwd_s'] * 1e3:8.1f} ms"
            )
        print(
            f"  sum: forward {tot_f2 * 1e3:.1f} ms, fwd+bwd {tot_b2 * 1e3:.1f} ms; with the 3x3 "
            f"convs {(tot_b + tot_b2) / ours['forward_backward_s']:.0%} of the network's "
            "fwd+bwd (the rest: padding copies, pooling, concatenation, activations)"
        )

    ref = bench_torch(args.batch, args.size, args.chans, args.repeats)
    if ref is None:
        print("torch not found (optional torch==2.13.0): no PyTorch reference in this run")
        print(f"ratio step / forward (XLA, same run): {ours['step_s'] / ours['forward_s']:.2f}")
    else:
        print(
            f"PyTorch {ref['version']} reference U-Net ({ref['params']:,} parameters, "
            f"{ref['threads']} threads)"
        )
        print(f"  forward           {ref['forward_s'] * 1e3:9.1f} ms")
        print(f"  train step        {ref['step_s'] * 1e3:9.1f} ms")
        print(f"ratio sciml / PyTorch train step: {ours['step_s'] / ref['step_s']:.2f}")


if __name__ == "__main__":
    main()
