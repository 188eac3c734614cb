"""A plain NumPy finite-volume Kolmogorov-flow solver whose face values come from a learned model.

The user's solver: 2-D periodic vorticity form, van Leer MUSCL advection on divergence-free face
velocities from an FFT streamfunction solve, 5-point diffusion, drag, Kolmogorov forcing,
SSP-RK3 (the scheme of :class:`sciml.solvers.fvns.FiniteVolumeNS2D`, written here in NumPy as a
stand-in for an existing code), with one hook: a correction added to the MUSCL face values. The
learned interpolation of ``sciml reproduce kolmogorov`` (``learned_interpolation.h5`` in its
output directory, artifact kind ``fv_interpolation``) fills the hook. Per model step:

    c = model.coefficients(omega_n)                     (1, N, N, 2, 4), once, from omega_n
    omega_f = MUSCL_f(omega) + sum_s c[f, s] omega_{i + cells[s]}   in every RK stage
    omega_{n+1} = (SSP-RK3 step of solver_dt)^substeps (omega_n)

with x-faces ``f = 0`` (face ``i+1/2`` reads cells ``i-1 .. i+2`` along x) and y-faces ``f = 1``.
The model step, sub-steps, solver dt, viscosity, drag, forcing and grid are read from the
artifact. From a smooth field developed by the plain solver (``--spinup`` time units), prints
enstrophy and energy over time for the learned interpolation, the same solver without the hook,
and the learned correction when ``learned_correction.h5`` and ``hybrid.json`` are in the
directory too, with the vorticity correlation between them. NumPy and h5py only.

    python examples/numpy_fv_kolmogorov_learned_interpolation.py RUN_DIR [--steps 50]
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
    """``(Nx, Ny)`` vorticity on a periodic ``Lx x Ly`` box, cell centres ``(i hx, j hy)``."""

    def __init__(self, shape, length, dt, *, nu, drag, forcing_wavenumber, forcing_amplitude):
        self.dt, self.nu, self.drag = dt, nu, drag
        self.hx, self.hy = length[0] / shape[0], length[1] / shape[1]
        kx = 2 * np.pi * np.fft.fftfreq(shape[0], d=self.hx)[:, None]
        ky = 2 * np.pi * np.fft.fftfreq(shape[1], d=self.hy)[None, :]
        eig = 4 / self.hx**2 * np.sin(kx * self.hx / 2) ** 2
        eig = eig + 4 / self.hy**2 * np.sin(ky * self.hy / 2) ** 2
        self.inv = np.where(eig > 1e-12, 1 / np.where(eig > 1e-12, eig, 1), 0.0)
        kf = 2 * np.pi * forcing_wavenumber / length[1]
        y = np.arange(shape[1]) * self.hy
        self.forcing = np.broadcast_to(-forcing_amplitude * kf * np.cos(kf * y), shape)

    def streamfunction(self, w):
        return np.fft.ifft2(np.fft.fft2(w) * self.inv).real

    def rhs(self, w, face_hook=None):
        """``d omega / dt``; ``face_hook(w) -> (dx_f, dy_f)`` is added to the MUSCL face values."""
        psi = self.streamfunction(w)
        dpy = (np.roll(psi, -1, 1) - np.roll(psi, 1, 1)) / (2 * self.hy)
        dpx = (np.roll(psi, -1, 0) - np.roll(psi, 1, 0)) / (2 * self.hx)
        u, v = 0.5 * (dpy + np.roll(dpy, -1, 0)), -0.5 * (dpx + np.roll(dpx, -1, 1))
        wx, wy = muscl(w, u, 0), muscl(w, v, 1)
        if face_hook is not None:
            cx, cy = face_hook(w)
            wx, wy = wx + cx, wy + cy
        fx, fy = u * wx, v * wy
        adv = -(fx - np.roll(fx, 1, 0)) / self.hx - (fy - np.roll(fy, 1, 1)) / self.hy
        lap = (np.roll(w, 1, 0) + np.roll(w, -1, 0) - 2 * w) / self.hx**2
        lap = lap + (np.roll(w, 1, 1) + np.roll(w, -1, 1) - 2 * w) / self.hy**2
        return adv + self.nu * lap - self.drag * w + self.forcing

    def step(self, w, face_hook=None):
        dt = self.dt
        w1 = w + dt * self.rhs(w, face_hook)
        w2 = 0.75 * w + 0.25 * (w1 + dt * self.rhs(w1, face_hook))
        return w / 3 + 2 / 3 * (w2 + dt * self.rhs(w2, face_hook))


def learned_face_hook(model, omega_n):
    """The hook of one model step: stencils predicted once from ``omega_n`` ``(N, N)``."""
    c = model.coefficients(omega_n[None, ..., None])[0]  # (N, N, 2, S): x-faces, y-faces

    def hook(w):
        cx = sum(c[..., 0, s] * np.roll(w, -j, 0) for s, j in enumerate(model.cells))
        cy = sum(c[..., 1, s] * np.roll(w, -j, 1) for s, j in enumerate(model.cells))
        return cx, cy

    return hook


def interpolation_rollout(artifact: Path, omega0: np.ndarray, n_steps: int) -> np.ndarray:
    """``(n_steps + 1, N, N)`` frames of the learned interpolation from ``omega0`` ``(N, N)``."""
    import sciml

    model = sciml.load_stepper(artifact)
    solver = FVKolmogorov(model.grid_shape, model.length, model.solver_dt, **model.params)
    frames = [np.asarray(omega0, np.float64)]
    for _ in range(n_steps):
        w = frames[-1]
        hook = learned_face_hook(model, w)
        for _ in range(model.substeps):
            w = solver.step(w, hook)
        frames.append(w)
    return np.stack(frames)


def fv_rollout(solver: FVKolmogorov, omega0, n_steps: int, substeps: int, correction=None):
    """The same solver without the hook; with ``correction`` the learned-correction model."""
    frames = [np.asarray(omega0, np.float64)]
    for _ in range(n_steps):
        w = frames[-1]
        for _ in range(substeps):
            w = solver.step(w)
        if correction is not None:
            w = w + correction.dt * correction.tendency(w[..., None].astype(np.float32))[..., 0]
        frames.append(w)
    return np.stack(frames)


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per frame of ``(T, N, N)`` fields."""
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    return np.sum(a * b, 1) / np.sqrt(np.sum(a * a, 1) * np.sum(b * b, 1))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path, help="output directory of sciml reproduce kolmogorov")
    parser.add_argument("--steps", type=int, default=50, help="model steps")
    parser.add_argument(
        "--spinup", type=float, default=10.0, help="time units of the plain solver first"
    )
    args = parser.parse_args(argv)
    import sciml

    artifact = args.run_dir / "learned_interpolation.h5"
    model = sciml.load_stepper(artifact)
    print(model)
    solver = FVKolmogorov(model.grid_shape, model.length, model.solver_dt, **model.params)
    # the initial state: a smooth field developed by the plain solver into the forced flow
    nx, ny = model.grid_shape
    x, y = 2 * np.pi * np.arange(nx)[:, None] / nx, 2 * np.pi * np.arange(ny)[None, :] / ny
    omega0 = 2 * np.sin(x) * np.cos(2 * y) + np.cos(4 * y) + 0.5 * np.sin(3 * x + y)
    spin = round(args.spinup / model.dt)
    omega0 = fv_rollout(solver, omega0, spin, model.substeps)[-1] if spin else omega0
    runs = {
        "LI": interpolation_rollout(artifact, omega0, args.steps),
        "FV": fv_rollout(solver, omega0, args.steps, model.substeps),
    }
    if (args.run_dir / "learned_correction.h5").is_file():
        spec = json.loads((args.run_dir / "hybrid.json").read_text())
        corr = sciml.load_stepper(args.run_dir / "learned_correction.h5")
        fv = FVKolmogorov(model.grid_shape, model.length, spec["solver_dt"], **spec["params"])
        runs["LC"] = fv_rollout(fv, omega0, args.steps, spec["substeps"], corr)
    names = list(runs)
    print("LI: learned interpolation (this artifact), FV: the same solver without the hook"
          + (", LC: learned correction" if "LC" in runs else "")
          + "; Z = <omega^2>/2, E = <psi omega>/2, corr = vorticity correlation with LI")  # fmt: skip
    head = "".join(f"{n + ' Z':>10}{n + ' E':>9}" for n in names)
    print(f"{'t':>6}{head}" + "".join(f"{'corr ' + n:>10}" for n in names[1:]))
    corrs = {n: correlation(runs["LI"], runs[n]) for n in names[1:]}
    out = {"t": [], **{n: {"enstrophy": [], "energy": []} for n in names}}
    out.update({f"correlation_LI_{n}": c.tolist() for n, c in corrs.items()})
    for k in range(0, args.steps + 1, max(args.steps // 10, 1)):
        row = ""
        for n in names:
            w = runs[n][k]
            z, e = 0.5 * np.mean(w * w), 0.5 * np.mean(solver.streamfunction(w) * w)
            out[n]["enstrophy"].append(float(z))
            out[n]["energy"].append(float(e))
            row += f"{z:10.4g}{e:9.4g}"
        out["t"].append(k * model.dt)
        print(f"{k * model.dt:6.2f}{row}" + "".join(f"{corrs[n][k]:10.4f}" for n in names[1:]))
    return out


if __name__ == "__main__":
    main()
