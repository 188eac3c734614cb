"""Speed of the sparse coders and of TV compressed sensing, with a NumPy reference in the same run.

Measures, in one run:

- FISTA (:func:`sciml.solvers.optim.fista`, jitted, float32) on a batch of 10,000 signals of
  dimension 256 with a 512-atom dictionary: iterations per second (each iteration codes the whole
  batch: two 10,000 x 256 x 512 matrix products);
- the same FISTA written in NumPy (float32, the same matrix products): the reference;
- LISTA (:class:`sciml.unrolled.LISTA`, K = 16, jitted forward) on the same batch: unrolled steps
  per second (one 10,000 x 512 x 512 product per step, plus the encoding once);
- TV compressed sensing (:func:`sciml.mri.cs.cs_reconstruct`, 200 Chambolle-Pock iterations) of
  single-coil 4x-undersampled slices of 320 x 320 k-space (the knee image size): seconds per slice.

Run: ``python benchmarks/bench_unrolled.py [--signals 10000] [--iters 50] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from json_out import add_json_argument, write_json


def best_time(fn, repeats: int) -> tuple[float, float]:
    """(first call incl. compilation, best of ``repeats`` later calls) in seconds."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return first, best


def numpy_fista(D: np.ndarray, Y: np.ndarray, lam: float, L: float, iters: int) -> np.ndarray:
    """Reference FISTA in NumPy: codes ``(N, m)`` of ``Y`` ``(N, n)``."""
    x = x_prev = np.zeros((Y.shape[0], D.shape[1]), Y.dtype)
    t = 1.0
    for _ in range(iters):
        t_next = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        v = x + ((t - 1) / t_next) * (x - x_prev)
        g = (v @ D.T - Y) @ D
        u = v - g / L
        x_prev, x = x, np.sign(u) * np.maximum(np.abs(u) - lam / L, 0)
        t = t_next
    return x


def main() -> None:
    from sciml.solvers.optim import fista, matrix_operator

    from sciml.mri.cs import cs_reconstruct
    from sciml.mri.masks import mask_func
    from sciml.mri.synthesize import shepp_logan
    from sciml.mri.transforms import apply_mask, fft2c
    from sciml.unrolled import LISTA

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--signals", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--atoms", type=int, default=512)
    p.add_argument("--iters", type=int, default=50, help="FISTA iterations per timed call")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--slice", type=int, default=320, help="k-space size of the TV-CS slices")
    add_json_argument(p)
    args = p.parse_args()

    rng = np.random.default_rng(0)
    D = rng.standard_normal((args.dim, args.atoms)).astype(np.float32)
    D /= np.linalg.norm(D, axis=0)
    z = rng.standard_normal((args.signals, args.atoms)) * (
        rng.random((args.signals, args.atoms)) < 0.05
    )
    Y = (z @ D.T).astype(np.float32)
    lam = 0.1
    L = float(np.linalg.norm(D.astype(np.float64), 2) ** 2) * 1.01
    print(
        f"devices: {jax.devices()}; batch {args.signals} x {args.dim}, dictionary {args.dim} x {args.atoms}"
    )

    op = matrix_operator(D)
    Yj = jnp.asarray(Y)
    first, t = best_time(lambda: fista(op, Yj, lam, iters=args.iters, lipschitz=L).x, args.repeats)
    ours = args.iters / t
    print(
        f"FISTA (sciml, jit):  {ours:9.1f} it/s  ({t / args.iters * 1e3:.2f} ms/it; first call {first:.2f} s)"
    )

    t0 = time.perf_counter()
    ref = numpy_fista(D, Y, lam, L, args.iters)
    t_np = time.perf_counter() - t0
    ref_rate = args.iters / t_np
    print(f"FISTA (NumPy):       {ref_rate:9.1f} it/s  ({t_np / args.iters * 1e3:.2f} ms/it)")
    ours_x = np.asarray(fista(op, Yj, lam, iters=args.iters, lipschitz=L).x)
    diff = np.max(np.abs(ours_x - ref)) / max(np.max(np.abs(ref)), 1e-30)
    print(f"  ratio sciml / NumPy: {ours / ref_rate:.2f}x  (max relative difference {diff:.1e})")

    K = 16
    model = LISTA(D, lam, K)
    forward = nnx.jit(lambda m, y: m(y))
    first, t = best_time(lambda: forward(model, Yj), args.repeats)
    lista_rate = K / t
    print(
        f"LISTA K={K} (jit):    {lista_rate:9.1f} steps/s ({t * 1e3:.1f} ms per forward; "
        f"first call {first:.2f} s); vs sciml FISTA: {lista_rate / ours:.2f}x per iteration"
    )

    n = args.slice
    image = shepp_logan((n, n)).astype(np.complex64)
    kspace = np.asarray(fft2c(image[None]))
    masked, mask, _ = apply_mask(kspace, mask_func("random", [0.08], [4]), seed=0)
    masked = np.asarray(masked)
    cs_reconstruct(masked, mask, method="tv", weight=1e-2)  # compile
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        cs_reconstruct(masked, mask, method="tv", weight=1e-2)
        times.append(time.perf_counter() - t0)
    zf_t0 = time.perf_counter()
    np.fft.ifft2(masked)
    zf = time.perf_counter() - zf_t0
    print(
        f"TV-CS {n}x{n} single-coil slice, 200 iterations: {min(times):.2f} s per slice "
        f"(reference in the same run: one NumPy inverse FFT {zf * 1e3:.2f} ms; ratio "
        f"{min(times) / zf:.0f}x)"
    )
    write_json(
        args.json,
        {
            "benchmark": "unrolled",
            "fista_it_per_s": {"sciml": ours, "numpy": ref_rate},
            "ratio_fista_sciml_vs_numpy": ours / ref_rate,
            "fista_max_rel_diff": float(diff),
            "lista_steps_per_s": lista_rate,
            "ratio_lista_step_vs_fista_iteration": lista_rate / ours,
            "tv_cs_s_per_slice": min(times),
        },
    )


if __name__ == "__main__":
    main()
