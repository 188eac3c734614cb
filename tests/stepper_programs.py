"""Shared by the tests of the stand-alone stepper programs (examples/c, examples/fortran).

Both programs are written from docs/stepper_artifact.md alone and have one command-line contract:
``PROGRAM ARTIFACT.h5 INPUT.h5 OUTPUT.h5 NSTEPS``, input dataset ``state`` (float64, ``(B, *grid,
C)``), output datasets ``state`` (after NSTEPS steps) and ``tendency`` (dz/dt of the input), exit
status 2 with a one-line message on bad input. This module holds the artifact families both are
checked on (:data:`CASES`), the artifact factory and the comparison with ``sciml.load_stepper``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import numpy as np
from flax import nnx

from sciml.nn import Tendency
from sciml.stepper.artifact import export_stepper, load_stepper
from sciml.stepper.model import LearnedStepper
from sciml.stepper.normalisation import Normalisation

# (ndim, grid, network boundary, physical boundary, boundary value, activation, integrator, depth):
# every network boundary (ghost with Dirichlet, Neumann and periodic data), every activation and
# every integrator, in 1-D, 2-D and 3-D.
CASES = [
    (1, (17,), "periodic", "periodic", 0.0, "gelu", "rk4", 2),
    (1, (16,), "zero", "periodic", 0.0, "tanh", "euler", 3),
    (1, (9,), "reflect", "periodic", 0.0, "elu", "ssprk3", 2),
    (1, (12,), "ghost", "dirichlet", 0.4, "softplus", "rk2", 2),
    (1, (12,), "ghost", "neumann", -0.3, "swish", "rk4", 3),
    (2, (7, 6), "periodic", "periodic", 0.0, "relu", "rk2", 2),
    (2, (6, 5), "reflect", "periodic", 0.0, "leaky_relu", "rk4", 2),
    (2, (7, 5), "ghost", "neumann", 0.25, "sigmoid", "ssprk3", 2),
    (2, (6, 6), "ghost", "periodic", 0.0, "identity", "euler", 2),
    (3, (4, 5, 3), "periodic", "periodic", 0.0, "gelu", "ssprk3", 2),
    (3, (4, 4, 5), "ghost", "dirichlet", -0.5, "tanh", "rk4", 2),
    (3, (3, 4, 4), "zero", "periodic", 0.0, "swish", "rk2", 1),
]
CASE_IDS = [f"{c[0]}d-{c[2]}-{c[3]}-{c[5]}-{c[6]}" for c in CASES]


def make_stepper(ndim, grid, net, phys, value, activation, integrator, depth, seed):
    """A random (untrained) 2-channel stepper of one family; anisotropic ``dx``, non-trivial
    normalisation statistics, so that every stored field changes the result."""
    g = Tendency(
        2,
        width=5,
        kernel_size=3,
        depth=depth,
        ndim=ndim,
        activation=activation,
        boundary=net,
        rngs=nnx.Rngs(seed),
    )
    return LearnedStepper(
        g,
        dt=0.05,
        integrator=integrator,
        dx=[0.2 + 0.05 * a for a in range(ndim)],
        boundary=phys,
        boundary_value=value,
        variables=("u", "v"),
        normalisation=Normalisation(
            state_mean=(0.1, -0.2),
            state_std=(1.5, 0.8),
            tendency_mean=(0.05, 0.0),
            tendency_std=(0.7, 1.2),
        ),
        grid_shape=grid,
    )


def export_case(case, path: Path) -> Path:
    """Export the artifact of one :data:`CASES` entry (seeded by its shape) to ``path``."""
    grid, depth = case[1], case[7]
    return export_stepper(make_stepper(*case, seed=len(grid) + depth), path)


def run_program(exe: Path, artifact: Path, state: np.ndarray, steps: int, tmp: Path, *, check=True):
    """Run a stepper program on ``state``; returns ``(state, tendency)`` or, with ``check=False``,
    the ``CompletedProcess`` (stderr captured) without reading any output."""
    with h5py.File(tmp / "in.h5", "w") as f:
        f["state"] = state
    out = subprocess.run(
        [str(exe), str(artifact), str(tmp / "in.h5"), str(tmp / "out.h5"), str(steps)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if not check:
        return out
    assert out.returncode == 0, out.stderr
    with h5py.File(tmp / "out.h5") as f:
        return f["state"][()], f["tendency"][()]


def assert_program_matches_numpy(exe: Path, case, tmp: Path, *, steps: int = 3) -> None:
    """The program's tendency and ``steps`` steps equal ``sciml.load_stepper``'s: float64 NumPy to
    1e-10 relative, float32 NumPy (evaluated in float32) to float32 round-off."""
    path = export_case(case, tmp / "s.h5")
    loaded = load_stepper(path)
    z = np.random.default_rng(7).standard_normal((2, *case[1], 2))
    state, tendency = run_program(exe, path, z, steps, tmp)

    assert state.shape == tendency.shape == z.shape
    np.testing.assert_allclose(tendency, loaded.tendency(z), rtol=1e-10, atol=1e-12)
    want = z
    for _ in range(steps):
        want = loaded.step(want)
    np.testing.assert_allclose(state, want, rtol=1e-10, atol=1e-12)
    want32 = z.astype(np.float32)
    for _ in range(steps):
        want32 = loaded.step(want32)
    assert want32.dtype == np.float32
    np.testing.assert_allclose(state, want32, rtol=2e-5, atol=2e-5)


def assert_free_grid_runs(exe: Path, tmp: Path) -> subprocess.CompletedProcess:
    """An artifact exported with ``grid_shape=None`` (stored as all 0) steps any grid of at least
    the minimum size like NumPy; returns the program's run on a grid below the minimum (an axis
    of 1 point for a ghost network of depth 2, kernel 3, which mirrors 2 interior cells)."""
    case = (2, None, "ghost", "dirichlet", 0.3, "tanh", "rk4", 2)
    path = export_stepper(make_stepper(*case, seed=3), tmp / "free.h5")
    with h5py.File(path) as f:
        assert list(f.attrs["grid_shape"]) == [0, 0]
    z = np.random.default_rng(1).standard_normal((1, 5, 9, 2))
    state, _ = run_program(exe, path, z, 2, tmp)
    loaded = load_stepper(path)
    np.testing.assert_allclose(state, loaded.step(loaded.step(z)), rtol=1e-10, atol=1e-12)
    return run_program(exe, path, np.zeros((1, 1, 9, 2)), 1, tmp, check=False)


def forge_kind(src: Path, dst: Path, kind: str = "stencil_flux") -> Path:
    """A copy of artifact ``src`` whose ``/tendency`` kind is another family's."""
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "a") as f:
        f["tendency"].attrs["kind"] = kind
    return dst
