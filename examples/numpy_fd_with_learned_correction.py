"""A plain NumPy finite-difference solver that calls a learned tendency as its coarse-grid correction.

The solver integrates the heat equation u_t = nu u_xx on a periodic coarse grid with the
2nd-order stencil and RK4 in time, entirely in NumPy. At every stage it adds the learned
correction ``stepper.tendency(u)`` loaded from a sciml artifact (no JAX needed for that call). The
exact solution of a single Fourier mode, u = exp(-nu k^2 t) sin(k x), measures the gain.

    python examples/numpy_fd_with_learned_correction.py            # builds a demo artifact
    python examples/numpy_fd_with_learned_correction.py --artifact correction.h5

With --artifact nothing imports JAX (the grid comes from the artifact); without it, the demo
artifact is built first with sciml's JAX code (examples/demo_artifact.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import sciml


def fd_rhs(u: np.ndarray, nu: float, dx: float) -> np.ndarray:
    """2nd-order centred nu u_xx on a periodic grid (the user's existing solver)."""
    return nu * (np.roll(u, 1) - 2 * u + np.roll(u, -1)) / dx**2


def run(correction=None, *, n=32, length=2 * np.pi, nu=0.5, dt=0.01, t_end=0.5, k=3):
    """RK4 on a periodic grid of ``n`` points over ``length``; with ``correction`` (an artifact),
    the grid is the artifact's own (``state_shape``, ``dx``), never a hard-coded one."""
    if correction is not None:
        if len(correction.state_shape) != 2 or correction.state_shape[1] != 1:
            raise ValueError(
                f"--artifact: expected a 1-D single-field stepper, state shape (n, 1), found "
                f"{correction.state_shape}; this example corrects a scalar 1-D solver"
            )
        n = int(correction.state_shape[0])
        length = n * float(correction.dx[0])
    dx = length / n
    x = np.arange(n) * dx
    u = np.sin(k * x)

    def rhs(v):
        f = fd_rhs(v, nu, dx)
        if correction is not None:  # the learned coarse-grid correction, shape (n, 1) in and out
            f = f + correction.tendency(v[:, None])[:, 0]
        return f

    for _ in range(round(t_end / dt)):
        k1 = rhs(u)
        k2 = rhs(u + 0.5 * dt * k1)
        k3 = rhs(u + 0.5 * dt * k2)
        k4 = rhs(u + dt * k3)
        u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    exact = np.exp(-nu * k**2 * t_end) * np.sin(k * x)
    return float(np.sqrt(np.mean((u - exact) ** 2)) / np.sqrt(np.mean(exact**2)))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--artifact", type=Path, help="stepper artifact holding the correction tendency"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.artifact
        if path is None:
            from demo_artifact import make_artifact

            path = make_artifact(Path(tmp) / "correction.h5", kind="correction")
        correction = sciml.load_stepper(path)
        n, dx = correction.state_shape[0], correction.dx[0]
        plain = run(None, n=n, length=n * dx)
        corrected = run(correction)
    print(f"relative L2 error at t=0.5, 2nd-order FD alone:         {plain:.3e}")
    print(f"relative L2 error at t=0.5, FD + learned correction:    {corrected:.3e}")
    print(f"error reduction: {plain / corrected:.1f}x  (artifact: {correction})")
    return {"plain": plain, "corrected": corrected}


if __name__ == "__main__":
    main()
