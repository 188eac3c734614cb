"""Training-step time of D3M (He et al. 2019) at 32^3 particles, batch 8, against PyTorch.

Measures, in one run:

- ours: :class:`sciml.cosmo.D3M` (periodic 3-D U-Net, batch norm in training mode), MSE loss,
  Adam; one jitted update step (forward, backward, batch-norm statistics, optimiser);
- the reference: the same network written here in PyTorch (circular padding in every
  convolution; the stride-2 transposed convolution made periodic by one wrapped input cell and
  a crop), checked by its parameter count, trained the same way, if ``torch`` (optional extra,
  ``torch==2.13.0``) is installed.

Prints the best-of-``repeats`` step times and the ratio ours / PyTorch. The paper's network is
``--width 64`` (8.4 M parameters); a step on 2 CPU cores takes minutes at batch 8, so
``--width 16`` is the CPU-sized check of the same code paths.

Run: ``python benchmarks/bench_d3m.py [--width 64] [--batch 8] [--n 32] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from json_out import add_json_argument, write_json

from sciml.cosmo import D3M, count_parameters


def _best(fn, repeats: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return first, best


def bench_ours(width: int, batch: int, n: int, repeats: int) -> dict[str, float]:
    model = D3M(width=width, rngs=nnx.Rngs(0))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = optax.adam(1e-4)
    opt_state = tx.init(params)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(batch, n, n, n, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(batch, n, n, n, 3)), jnp.float32)

    def loss_fn(p, rest, x, y):
        m = nnx.merge(graphdef, p, rest, copy=True)
        loss = jnp.mean((m(x) - y) ** 2)
        return loss, nnx.state(m, nnx.BatchStat)

    @jax.jit
    def step(p, rest, opt_state, x, y):
        (loss, rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, rest, x, y)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), rest, opt_state, loss

    state = [params, rest, opt_state]

    def run():
        p, r, o, loss = step(*state, x, y)
        jax.block_until_ready(loss)
        state[:] = [p, r, o]

    first, best = _best(run, repeats)
    return {"params": count_parameters(model)["total"], "first": first, "step": best}


def _torch_d3m(width: int):
    import torch
    from torch import nn

    def block(cin, cout, stride=1):
        return [
            nn.Conv3d(cin, cout, 3, stride=stride, padding=1, padding_mode="circular"),
            nn.BatchNorm3d(cout),
            nn.ReLU(),
        ]

    class Up(nn.Module):
        """Periodic stride-2 transposed convolution: wrap one cell on the right, crop to 2n."""

        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.ConvTranspose3d(cin, cout, 3, stride=2, padding=1)
            self.post = nn.Sequential(nn.BatchNorm3d(cout), nn.ReLU())

        def forward(self, x):
            n = x.shape[-1]
            x = torch.cat([x, x[:, :, :1]], 2)
            x = torch.cat([x, x[:, :, :, :1]], 3)
            x = torch.cat([x, x[..., :1]], 4)
            return self.post(self.conv(x)[..., : 2 * n, : 2 * n, : 2 * n])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            w = width
            self.enc0 = nn.Sequential(*block(3, w), *block(w, w))
            self.enc1 = nn.Sequential(
                *block(w, 2 * w, 2), *block(2 * w, 2 * w), *block(2 * w, 2 * w)
            )
            self.bott = nn.Sequential(
                *block(2 * w, 4 * w, 2), *block(4 * w, 4 * w), *block(4 * w, 4 * w)
            )
            self.up1 = Up(4 * w, 2 * w)
            self.dec1 = nn.Sequential(*block(4 * w, 2 * w), *block(2 * w, 2 * w))
            self.up0 = Up(2 * w, w)
            self.dec0 = nn.Sequential(*block(2 * w, w), *block(w, w))
            self.head = nn.Conv3d(w, 3, 1)

        def forward(self, x):
            s0 = self.enc0(x)
            s1 = self.enc1(s0)
            h = self.bott(s1)
            h = self.dec1(torch.cat([self.up1(h), s1], 1))
            h = self.dec0(torch.cat([self.up0(h), s0], 1))
            return self.head(h)

    return Net()


def bench_torch(width: int, batch: int, n: int, repeats: int) -> dict[str, float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    net = _torch_d3m(width)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, n, n, n)
    y = torch.randn(batch, 3, n, n, n)

    def run():
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((net(x) - y) ** 2)
        loss.backward()
        opt.step()

    first, best = _best(run, repeats)
    params = sum(p.numel() for p in net.parameters())
    return {"params": params, "first": first, "step": best, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64, help="first-level channels (paper: 64)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--n", type=int, default=32, help="particles per side")
    parser.add_argument("--repeats", type=int, default=2)
    add_json_argument(parser)
    args = parser.parse_args()
    print(
        f"D3M train step, width {args.width}, {args.n}^3, batch {args.batch}, "
        f"backend {jax.default_backend()}, devices {jax.device_count()}"
    )
    ours = bench_ours(args.width, args.batch, args.n, args.repeats)
    print(
        f"  sciml (JAX)  : {ours['params']:,} parameters, first call (compile) "
        f"{ours['first']:.1f} s, step {ours['step']:.2f} s"
    )
    ref = bench_torch(args.width, args.batch, args.n, args.repeats)
    result = {"benchmark": "d3m", "width": args.width, "batch": args.batch, "n": args.n}
    result |= {"ours": ours, "torch": ref}
    if ref is None:
        print("  PyTorch      : not installed (pip install torch==2.13.0); no ratio")
        write_json(args.json, result)
        return
    print(
        f"  PyTorch      : {ref['params']:,} parameters, {ref['threads']} threads, first "
        f"{ref['first']:.1f} s, step {ref['step']:.2f} s"
    )
    if ref["params"] != ours["params"]:
        print("  WARNING: parameter counts differ: the networks are not the same")
    print(f"  ratio sciml / PyTorch step time: {ours['step'] / ref['step']:.2f}")
    write_json(args.json, result | {"ratio_step": ours["step"] / ref["step"]})


if __name__ == "__main__":
    main()
