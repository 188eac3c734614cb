"""A plain NumPy finite-volume Kolmogorov-flow solver that adds a learned correction from an artifact.

The user's solver: 2-D periodic vorticity form, van Leer MUSCL advection on divergence-free face
velocities from an FFT streamfunction solve, 5-point diffusion, drag, Kolmogorov forcing,
SSP-RK3 (the same scheme as :class:`sciml.solvers.fvns.FiniteVolumeNS2D`, written here in NumPy
as a stand-in for an existing code). The learned correction of ``sciml reproduce kolmogorov``
(``learned_correction.h5`` in its output directory) is applied after every ``m`` solver steps:

    omega <- S^m(omega);   omega <- omega + dt_model * correction.tendency(omega)

``correction.tendency`` runs the exported conv -> f -> conv network in NumPy (no JAX). The
artifact's metadata ``dt`` is the model step ``dt_model``; ``m`` and the solver's dt and parameters
are in ``hybrid.json`` next to it.

    python examples/numpy_fv_kolmogorov_with_learned_correction.py RUN_DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def van_leer(a, b):
    ab = a * b
    return np.where(ab > 0, 2 * ab / np.where(ab > 0, a + b, 1.0), 0.0)


def muscl(w, vel, axis):
    right = np.roll(w, -1, axis)
    slope = van_leer(w - np.roll(w, 1, axis), right - w)
    return np.where(vel >= 0, w + 0.5 * slope, right - 0.5 * np.roll(slope, -1, axis))


class FVKolmogorov:
    """``(Nx, Ny)`` vorticity on ``[0, 2 pi)^2``; parameters as ``ns2d_kolmogorov``."""

    def __init__(self, n, dt, *, nu, drag, forcing_wavenumber, forcing_amplitude):
        self.n, self.dt, self.nu, self.drag = n, dt, nu, drag
        self.h = 2 * np.pi / n
        k = np.fft.fftfreq(n, d=1 / n)
        kx, ky = np.meshgrid(k, k, indexing="ij")
        eig = 4 / self.h**2 * (np.sin(kx * self.h / 2) ** 2 + np.sin(ky * self.h / 2) ** 2)
        self.inv = np.where(eig > 1e-12, 1 / np.where(eig > 1e-12, eig, 1), 0.0)
        y = np.arange(n) * self.h
        kf = float(forcing_wavenumber)
        self.forcing = np.broadcast_to(-forcing_amplitude * kf * np.cos(kf * y), (n, n))

    def rhs(self, w):
        h = self.h
        psi = np.fft.ifft2(np.fft.fft2(w) * self.inv).real
        dpy = (np.roll(psi, -1, 1) - np.roll(psi, 1, 1)) / (2 * h)
        dpx = (np.roll(psi, -1, 0) - np.roll(psi, 1, 0)) / (2 * h)
        u, v = 0.5 * (dpy + np.roll(dpy, -1, 0)), -0.5 * (dpx + np.roll(dpx, -1, 1))
        fx, fy = u * muscl(w, u, 0), v * muscl(w, v, 1)
        adv = -(fx - np.roll(fx, 1, 0)) / h - (fy - np.roll(fy, 1, 1)) / h
        lap = np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1) + np.roll(w, -1, 1) - 4 * w
        return adv + self.nu * lap / h**2 - self.drag * w + self.forcing

    def step(self, w):
        dt = self.dt
        w1 = w + dt * self.rhs(w)
        w2 = 0.75 * w + 0.25 * (w1 + dt * self.rhs(w1))
        return w / 3 + 2 / 3 * (w2 + dt * self.rhs(w2))


def hybrid_rollout(run_dir: Path, omega0: np.ndarray, n_steps: int) -> np.ndarray:
    """``(n_steps + 1, N, N)`` frames of FV + learned correction from ``omega0`` ``(N, N)``."""
    import sciml

    correction = sciml.load_stepper(run_dir / "learned_correction.h5")
    spec = json.loads((run_dir / "hybrid.json").read_text())
    solver = FVKolmogorov(omega0.shape[0], spec["solver_dt"], **spec["params"])
    frames = [np.asarray(omega0, np.float64)]
    w = frames[0]
    for _ in range(n_steps):
        for _ in range(spec["substeps"]):
            w = solver.step(w)
        w = w + correction.dt * correction.tendency(w[..., None].astype(np.float32))[..., 0]
        frames.append(w)
    return np.stack(frames)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path, help="output directory of sciml reproduce kolmogorov")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    spec = json.loads((args.run_dir / "hybrid.json").read_text())
    n = spec["grid"]["shape"][0]
    x = np.arange(n) * 2 * np.pi / n
    omega0 = 2 * np.sin(x)[:, None] * np.cos(2 * x)[None, :] + np.cos(4 * x)[None, :]
    traj = hybrid_rollout(args.run_dir, omega0, args.steps)
    print(f"{args.steps} hybrid steps on {n}^2: max|omega| {np.abs(traj[-1]).max():.3f}")
    return {"max_abs_omega": float(np.abs(traj[-1]).max())}


if __name__ == "__main__":
    main()
