"""Throughput of the spectral ETDRK4 solvers: steps per second.

Problems (as in the issue): 1D Kuramoto-Sivashinsky (N = 256, batch 64, L = 64, dt = 0.25) and
2D Navier-Stokes / Kolmogorov flow (128 x 128, batch 8, nu = 1e-3, drag 0.1, dt = 0.005).
Same-run references: a plain NumPy-FFT implementation of the same KS ETDRK4 step (and of the NS
step), and exponax (if importable) on the same problems. Prints each figure and the ratios.

    python benchmarks/bench_solvers.py [--steps 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import jax
import jax.numpy as jnp
import numpy as np
from json_out import add_json_argument, write_json
from sciml.solvers import Grid, KuramotoSivashinsky, NavierStokes2D, etdrk4_coefficients, rollout
from sciml.solvers.spectral.base import dealias_mask, derivative_wavenumbers, spectral_wavenumbers


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_sciml(step, state, n_steps: int, repeats: int) -> float:
    """Steps per second (each step advances the whole batch) of a jitted lax.scan rollout."""
    run = jax.jit(lambda z: rollout(step, z, n_steps, save_every=n_steps, check_finite=False))
    run(state).block_until_ready()  # compile
    return n_steps / best_time(lambda: run(state).block_until_ready(), repeats)


class NumpyETDRK4:
    """Reference: the same ETDRK4 pseudo-spectral step written with NumPy FFTs (float32 fields)."""

    def __init__(self, grid: Grid, dt: float, linear: np.ndarray, nonlinear) -> None:
        c = etdrk4_coefficients(linear, dt)
        self.c = {k: v.astype(np.complex64) for k, v in c.items()}
        self.nonlinear = nonlinear

    def __call__(self, v: np.ndarray) -> np.ndarray:
        c, nl = self.c, self.nonlinear
        n_v = nl(v)
        a = c["E2"] * v + c["Q"] * n_v
        n_a = nl(a)
        b = c["E2"] * v + c["Q"] * n_a
        n_b = nl(b)
        cc = c["E2"] * a + c["Q"] * (2 * n_b - n_v)
        n_c = nl(cc)
        return c["E"] * v + c["f1"] * n_v + 2 * c["f2"] * (n_a + n_b) + c["f3"] * n_c


def numpy_ks(grid: Grid, dt: float) -> NumpyETDRK4:
    (k,) = spectral_wavenumbers(grid)
    (kd,) = derivative_wavenumbers(grid)
    mask = dealias_mask(grid)
    n = grid.shape[0]
    ik = (1j * kd * mask).astype(np.complex64)
    mask32 = mask.astype(np.float32)

    def nonlinear(v):
        u = np.fft.irfft(v * mask32, n=n, axis=1).astype(np.float32)
        return -0.5 * ik * np.fft.rfft(u * u, axis=1)

    return NumpyETDRK4(grid, dt, (k**2 - k**4), nonlinear)


def numpy_ns(grid: Grid, dt: float, nu: float, drag: float) -> NumpyETDRK4:
    kx, ky = spectral_wavenumbers(grid)
    dkx, dky = derivative_wavenumbers(grid)
    k2 = kx**2 + ky**2
    mask = dealias_mask(grid).astype(np.float32)
    inv = np.where(k2 > 0, 1 / np.where(k2 > 0, k2, 1), 0).astype(np.float32)
    ikx, iky = (1j * dkx).astype(np.complex64), (1j * dky).astype(np.complex64)
    y = grid.mesh()[1]
    forcing = np.fft.rfft2(-4 * np.cos(4 * y)[..., None], axes=(0, 1)).astype(np.complex64)
    shape = grid.shape

    def ifft(v):
        return np.fft.irfft2(v, s=shape, axes=(1, 2)).astype(np.float32)

    def nonlinear(w):
        w = w * mask
        psi = w * inv
        u, v = ifft(iky * psi), ifft(-ikx * psi)
        wx, wy = ifft(ikx * w), ifft(iky * w)
        return forcing - mask * np.fft.rfft2(u * wx + v * wy, axes=(1, 2))

    return NumpyETDRK4(grid, dt, -nu * k2 - drag, nonlinear)


def bench_numpy(step: NumpyETDRK4, v0: np.ndarray, n_steps: int, repeats: int) -> float:
    def run():
        v = v0
        for _ in range(n_steps):
            v = step(v)
        return v

    return n_steps / best_time(run, repeats)


def bench_exponax(n_steps: int, repeats: int) -> dict[str, float] | None:
    if importlib.util.find_spec("exponax") is None:
        return None
    import exponax as ex

    out = {}
    ks = ex.stepper.KuramotoSivashinskyConservative(1, 64.0, 256, 0.25, order=4)
    u = jnp.asarray(np.random.default_rng(0).normal(size=(64, 1, 256)), jnp.float32)
    out["ks1d"] = _bench_exponax_stepper(ks, u, n_steps, repeats)
    ns = ex.stepper.KolmogorovFlowVorticity(
        2,
        2 * np.pi,
        128,
        0.005,
        diffusivity=1e-3,
        drag=-0.1,  # exponax writes the drag as +lambda u
        injection_mode=4,
        injection_scale=1.0,
        order=4,
    )
    w = jnp.asarray(np.random.default_rng(0).normal(size=(8, 1, 128, 128)), jnp.float32)
    out["ns2d"] = _bench_exponax_stepper(ns, w, n_steps, repeats)
    return out


def _bench_exponax_stepper(stepper, state, n_steps, repeats) -> float:
    batched = jax.vmap(stepper)

    @jax.jit
    def run(z):
        return jax.lax.fori_loop(0, n_steps, lambda _, s: batched(s), z)

    run(state).block_until_ready()
    return n_steps / best_time(lambda: run(state).block_until_ready(), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    add_json_argument(parser)
    args = parser.parse_args()
    n, repeats = args.steps, args.repeats
    print(
        f"JAX {jax.__version__} on {jax.devices()[0].platform}; {n} steps per timing, best of {repeats}"
    )

    ks_grid = Grid((256,), (64.0,))
    ks_state = 0.5 * jnp.asarray(np.random.default_rng(0).normal(size=(64, 256, 1)), jnp.float32)
    ks_state = KuramotoSivashinsky(ks_grid, 0.25)(ks_state)  # smooth it (dealiased)
    ks = bench_sciml(KuramotoSivashinsky(ks_grid, 0.25), ks_state, n, repeats)
    ks_np_step = numpy_ks(ks_grid, 0.25)
    ks_np = bench_numpy(
        ks_np_step, np.fft.rfft(np.asarray(ks_state), axis=1).astype(np.complex64), n, repeats
    )

    ns_grid = Grid((128, 128), (2 * np.pi, 2 * np.pi))
    ns_step = NavierStokes2D(ns_grid, 0.005, nu=1e-3, drag=0.1, forcing_amplitude=1.0)
    ns_state = jnp.asarray(np.random.default_rng(1).normal(size=(8, 128, 128, 1)), jnp.float32)
    ns_state = ns_step(ns_state)
    n_ns = max(10, n // 4)
    ns = bench_sciml(ns_step, ns_state, n_ns, repeats)
    ns_np = bench_numpy(
        numpy_ns(ns_grid, 0.005, 1e-3, 0.1),
        np.fft.rfft2(np.asarray(ns_state), axes=(1, 2)).astype(np.complex64),
        n_ns,
        repeats,
    )

    # The references compute the same steps: check one step of each against sciml.
    ks_one = np.fft.irfft(ks_np_step(np.fft.rfft(np.asarray(ks_state), axis=1)), n=256, axis=1)
    ks_diff = np.abs(ks_one - np.asarray(KuramotoSivashinsky(ks_grid, 0.25)(ks_state))).max()
    ns_np_step = numpy_ns(ns_grid, 0.005, 1e-3, 0.1)
    ns_one = np.fft.irfft2(
        ns_np_step(np.fft.rfft2(np.asarray(ns_state), axes=(1, 2))), s=(128, 128), axes=(1, 2)
    )
    ns_diff = np.abs(ns_one - np.asarray(ns_step(ns_state))).max()
    print(f"one-step max |sciml - NumPy reference|: KS {ks_diff:.2e}, NS {ns_diff:.2e}")
    print(
        f"KS 1D   N=256,     batch 64: sciml {ks:9.1f} steps/s | NumPy-FFT reference "
        f"{ks_np:9.1f} steps/s | ratio sciml/NumPy {ks / ks_np:5.2f}"
    )
    print(
        f"NS 2D   128x128,   batch 8 : sciml {ns:9.1f} steps/s | NumPy-FFT reference "
        f"{ns_np:9.1f} steps/s | ratio sciml/NumPy {ns / ns_np:5.2f}"
    )
    ex_out = bench_exponax(n, repeats)
    result = {
        "benchmark": "solvers",
        "steps": n,
        "ks1d_steps_per_s": {"sciml": ks, "numpy": ks_np},
        "ns2d_steps_per_s": {"sciml": ns, "numpy": ns_np},
        "max_abs_diff": {"ks1d": float(ks_diff), "ns2d": float(ns_diff)},
        "ratio_ks1d_sciml_vs_numpy": ks / ks_np,
        "ratio_ns2d_sciml_vs_numpy": ns / ns_np,
    }
    if ex_out is not None:
        result["exponax_steps_per_s"] = ex_out
        result["ratio_ks1d_sciml_vs_exponax"] = ks / ex_out["ks1d"]
        result["ratio_ns2d_sciml_vs_exponax"] = ns / ex_out["ns2d"]
    write_json(args.json, result)
    if ex_out is None:
        print("exponax: not found (optional; pip install exponax to compare in the same run)")
    else:
        print(
            f"exponax: KS 1D {ex_out['ks1d']:.1f} steps/s (ratio sciml/exponax "
            f"{ks / ex_out['ks1d']:.2f}); NS 2D {ex_out['ns2d']:.1f} steps/s (ratio "
            f"{ns / ex_out['ns2d']:.2f})"
        )


if __name__ == "__main__":
    main()
