"""Particle-mesh step time: sciml.solvers.pm (FastPM kick-drift-kick) against same-run references.

Problems (as in the issue): 64^3 and 128^3 particles in a 128 and 256 Mpc/h box, force mesh
2x finer per side (128^3 and 256^3 cells), float32, from 2LPT initial conditions at a = 0.1.
One step = CIC paint, FFT Poisson force (exact 1/k^2, 4-point gradient), CIC readout of 3
components, kick, drift, kick. References measured in the same run, same factors, same step:

* JaxPM 0.1.6 (optional extra ``cosmo``; skipped if not importable): its own CIC paint and read
  (``jaxpm.painting``), jaxdecomp FFTs and kernels (``jaxpm.kernels``) inside the same jitted
  ``lax.scan``. JaxPM's public ``pm_forces`` only paints as many particles as mesh cells, so a
  mesh finer than the particle grid needs these building blocks.
* a plain NumPy implementation of the same step (``np.bincount`` paint, ``numpy.fft``).

    python benchmarks/bench_pm.py [--sizes 64 128] [--steps 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from json_out import add_json_argument, write_json
from sciml.solvers import pm
from sciml.solvers.pm.fastpm import _run
from sciml.solvers.pm.mesh import force_kernels


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def setup(n: int, box: float):
    cosmo = pm.Cosmology()
    delta = pm.linear_field(cosmo, n, box, key=jax.random.key(0))
    disp, mom = pm.lpt(cosmo, delta, box, 0.1)
    x = jnp.mod(pm.lagrangian_grid(n, box) + disp, box)
    return cosmo, x, mom


def bench_sciml(cosmo, x, p, box, n_mesh, steps, repeats):
    inv, grads = force_kernels(n_mesh, box, "exact", "fd", np.dtype(np.float32))
    fac = jnp.asarray(pm.step_factors(cosmo, 0.1, 1.0, steps), jnp.float32)
    args = (x, p, fac, jnp.float32(1.5 * cosmo.Omega_m), jnp.asarray(inv), jnp.asarray(grads))

    def call():
        return jax.block_until_ready(_run(*args, n_mesh=n_mesh, box=box))

    call()  # compile
    return best_time(call, repeats) / steps, call()


def jaxpm_runner(cosmo, n_mesh, box, steps):
    from jaxpm.distributed import fft3d, ifft3d
    from jaxpm.kernels import fftk, gradient_kernel, invlaplace_kernel
    from jaxpm.painting import _cic_paint_impl, _cic_read_impl

    dx = box / n_mesh
    fac = jnp.asarray(pm.step_factors(cosmo, 0.1, 1.0, steps), jnp.float32)
    omega = 1.5 * cosmo.Omega_m

    @jax.jit
    def run(x, p):
        # JaxPM works in mesh units with values on nodes: shift by half a cell (cell-centred here)
        pos, mom = (x / dx - 0.5).reshape(-1, 3), (p / dx).reshape(-1, 3)
        weight = n_mesh**3 / pos.shape[0]

        def force(pos):
            rho = _cic_paint_impl(jnp.zeros((n_mesh,) * 3, jnp.float32), pos, weight)
            dk = fft3d(rho)
            kvec = fftk(dk)
            pot = dk * invlaplace_kernel(kvec)
            f = [
                _cic_read_impl(ifft3d(-gradient_kernel(kvec, i) * pot).real, pos) for i in range(3)
            ]
            return jnp.stack(f, axis=-1) * omega

        def step(carry, c):
            pos, mom, frc = carry
            mom = mom + c[0] * frc
            pos = jnp.mod(pos + c[1] * mom, n_mesh)
            frc = force(pos)
            mom = mom + c[2] * frc
            return (pos, mom, frc), None

        (pos, mom, _), _ = jax.lax.scan(step, (pos, mom, force(pos)), fac)
        pos = jnp.mod((pos + 0.5) * dx, box)
        return pos.reshape(x.shape), (mom * dx).reshape(p.shape)

    return run


def numpy_runner(cosmo, n_mesh, box, steps):
    """The same KDK step in NumPy (float32 particles, float64-free except FFT internals)."""
    inv, grads = force_kernels(n_mesh, box, "exact", "fd", np.dtype(np.float32))
    fac = pm.step_factors(cosmo, 0.1, 1.0, steps).astype(np.float32)
    omega = np.float32(1.5 * cosmo.Omega_m)
    dx = box / n_mesh
    offsets = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], np.int64)

    def corners(pos):
        u = pos / np.float32(dx) - np.float32(0.5)
        i0 = np.floor(u)
        frac = u - i0
        i0 = i0.astype(np.int64)
        node = np.mod(i0[:, None, :] + offsets[None], n_mesh)
        w = np.prod(np.where(offsets[None] == 1, frac[:, None, :], 1 - frac[:, None, :]), axis=-1)
        return (node[..., 0] * n_mesh + node[..., 1]) * n_mesh + node[..., 2], w.astype(np.float32)

    def force(pos):
        idx, w = corners(pos)
        mass = n_mesh**3 / pos.shape[0]
        rho = np.bincount(idx.ravel(), weights=w.ravel() * mass, minlength=n_mesh**3)
        delta = rho.reshape((n_mesh,) * 3).astype(np.float32) - 1
        phi = np.fft.rfftn(delta) * (inv * omega)
        out = np.empty(pos.shape, np.float32)
        for d in range(3):
            f = (
                np.fft.irfftn(-1j * grads[..., d] * phi, s=delta.shape, axes=(0, 1, 2))
                .astype(np.float32)
                .ravel()
            )
            out[:, d] = np.sum(f[idx] * w, axis=1)
        return out

    def run(x, p):
        pos, mom = np.asarray(x).reshape(-1, 3).copy(), np.asarray(p).reshape(-1, 3).copy()
        frc = force(pos)
        for c in fac:
            mom += c[0] * frc
            pos = np.mod(pos + c[1] * mom, np.float32(box)).astype(np.float32)
            frc = force(pos)
            mom += c[2] * frc
        return pos.reshape(np.shape(x)), mom.reshape(np.shape(p))

    return run


def bench_size(n: int, args: argparse.Namespace) -> tuple[str, dict]:
    box = 2.0 * n  # 2 Mpc/h per particle, as 128^3 in 256 Mpc/h
    n_mesh = 2 * n
    cosmo, x, p = setup(n, box)
    t_ours, (xs, _) = bench_sciml(cosmo, x, p, box, n_mesh, args.steps, args.repeats)
    line = f"{n}^3 particles, {n_mesh}^3 mesh: sciml {t_ours * 1e3:8.1f} ms/step"
    fig = {"particles": n, "mesh": n_mesh, "sciml_ms_per_step": t_ours * 1e3}
    try:
        run = jaxpm_runner(cosmo, n_mesh, box, args.steps)
    except ImportError as err:
        line += f" | JaxPM not importable ({err})"
    else:
        jax.block_until_ready(run(x, p))
        t_ref = best_time(lambda: jax.block_until_ready(run(x, p)), args.repeats) / args.steps
        xj, _ = run(x, p)
        dev = float(jnp.max(jnp.abs(pm.displacement(xj, xs, box))))
        line += f" | JaxPM {t_ref * 1e3:8.1f} ms/step (ratio JaxPM/sciml {t_ref / t_ours:5.2f}"
        line += f", max |x diff| {dev:.1e} Mpc/h)"
        fig |= {"jaxpm_ms_per_step": t_ref * 1e3, "ratio_jaxpm_vs_sciml": t_ref / t_ours}
    if not args.no_numpy:
        run_np = numpy_runner(cosmo, n_mesh, box, args.steps)
        xn, pn = np.asarray(x), np.asarray(p)
        t_np = best_time(lambda: run_np(xn, pn), 1) / args.steps
        line += f" | NumPy {t_np * 1e3:8.1f} ms/step (ratio NumPy/sciml {t_np / t_ours:5.2f})"
        fig |= {"numpy_ms_per_step": t_np * 1e3, "ratio_numpy_vs_sciml": t_np / t_ours}
    return line, fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy reference")
    add_json_argument(parser)
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; float32; mesh = 2 x particles")
    sizes = []
    for n in args.sizes:
        line, fig = bench_size(n, args)
        print(line, flush=True)
        sizes.append(fig)
    write_json(args.json, {"benchmark": "pm", "steps": args.steps, "sizes": sizes})


if __name__ == "__main__":
    main()
