"""A plain NumPy finite-volume Burgers loop whose flux comes from a learned-stencil artifact.

The user's solver owns the grid, the forcing and the time loop (SSP-RK3, NumPy only); at every
stage it asks the exported model (``sciml.load_stepper``, kind ``stencil_flux``) for the face
fluxes ``F_{i+1/2}`` and applies the finite-volume update ``-(F_{i+1/2} - F_{i-1/2}) / dx + f``.
Mass ``sum(u) dx`` is conserved by construction whatever the network says.

    python examples/numpy_burgers_learned_flux.py --artifact runs/burgers/burgers_stencil.h5
    python examples/numpy_burgers_learned_flux.py            # an untrained demo artifact (needs JAX)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import sciml


def forcing_cell_average(x, dx, t, a, omega, k, phi):
    """Cell averages of ``sum_j a_j sin(omega_j t - k_j x + phi_j)`` (the user's forcing)."""
    damp = np.sin(0.5 * k * dx) / (0.5 * k * dx)
    return np.sum(
        (a * damp)[:, None] * np.sin(omega[:, None] * t - k[:, None] * x + phi[:, None]), 0
    )


def run(model, *, n: int, t_end: float, seed: int = 0) -> dict:
    """Integrate from ``u = sin(x)`` with a random forcing; returns the final state and checks."""
    rng = np.random.default_rng(seed)
    a, omega = rng.uniform(-0.5, 0.5, 20), rng.uniform(-0.4, 0.4, 20)
    k, phi = rng.integers(3, 7, 20).astype(float), rng.uniform(0, 2 * np.pi, 20)
    dx = 2 * np.pi / n
    x = (np.arange(n) + 0.5) * dx
    dt = model.dt

    def rhs(u, t):
        flux = model.fluxes(u[None, :, None])[0, :, 0]  # the learned flux at faces i + 1/2
        return -(flux - np.roll(flux, 1)) / dx + forcing_cell_average(x, dx, t, a, omega, k, phi)

    u = np.sin(x) * np.sin(dx / 2) / (dx / 2)
    mass0, t = u.sum() * dx, 0.0
    for _ in range(round(t_end / dt)):  # SSP-RK3 (Shu-Osher)
        u1 = u + dt * rhs(u, t)
        u2 = 0.75 * u + 0.25 * (u1 + dt * rhs(u1, t + dt))
        u = u / 3 + 2 / 3 * (u2 + dt * rhs(u2, t + dt / 2))
        t += dt
    forcing_mass = 0.0  # the forcing has zero mean over the periodic domain
    return {"u": u, "t": t, "mass_drift": abs(u.sum() * dx - mass0 - forcing_mass),
            "max_abs_u": float(np.abs(u).max()),
            "forcing": {"amplitude": a, "omega": omega, "k": k, "phi": phi}}  # fmt: skip


def demo_artifact(path: Path, *, n: int = 32, seed: int = 0) -> Path:
    """Export an untrained model (its stencils are the classical third-order ones), needs JAX."""
    from flax import nnx

    from sciml.stepper.stencil import StencilFluxModel
    from sciml.stepper.stencil_artifact import export_stencil_model

    model = StencilFluxModel(dx=2 * np.pi / n, nu=0.01, dt=0.05, width=8, depth=2,
                             grid_shape=(n,), rngs=nnx.Rngs(seed))  # fmt: skip
    return export_stencil_model(model, path, overwrite=True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifact", type=Path, help="a stencil_flux artifact (.h5)")
    parser.add_argument("--t-end", type=float, default=2.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.artifact or demo_artifact(Path(tmp) / "burgers_stencil.h5")
        model = sciml.load_stepper(path)
        n = int(model.meta.get("grid_shape", [32])[0])
        out = run(model, n=n, t_end=args.t_end)
    print(
        f"{model}: N = {n}, t = {out['t']:.2f}, max|u| = {out['max_abs_u']:.3f}, "
        f"mass drift = {out['mass_drift']:.2e}"
    )
    return out


if __name__ == "__main__":
    main()
