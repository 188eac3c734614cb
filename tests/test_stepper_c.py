"""The C99 stepper in examples/c, written from docs/stepper_artifact.md alone, against NumPy.

The program is compiled with the system compiler and libhdf5 (Debian: libhdf5-dev, which `.ci/run`
installs). Every network boundary (periodic, zero, reflect, ghost with Dirichlet, Neumann and
periodic data), every activation and every integrator is stepped in C and in
``sciml.load_stepper`` and compared: float64 states to 1e-10, float32 states to float32 round-off.
"""

import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
from flax import nnx

from sciml.nn import Tendency
from sciml.stepper.artifact import export_stepper, load_stepper
from sciml.stepper.model import LearnedStepper

SOURCE = Path(__file__).resolve().parents[1] / "examples" / "c" / "sciml_stepper.c"

# (ndim, grid, network boundary, physical boundary, boundary value, activation, integrator, depth)
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


def _compiler_flags() -> list[str] | None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return None
    if shutil.which("pkg-config"):
        out = subprocess.run(
            ["pkg-config", "--cflags", "--libs", "hdf5"], capture_output=True, text=True
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.split()
    if Path("/usr/include/hdf5/serial/hdf5.h").exists():
        return ["-I/usr/include/hdf5/serial", "-L/usr/lib/x86_64-linux-gnu/hdf5/serial", "-lhdf5"]
    return None


@pytest.fixture(scope="module")
def c_stepper(tmp_path_factory) -> Path:
    flags = _compiler_flags()
    if flags is None:
        pytest.skip("no C compiler or HDF5 development files (Debian: apt-get install libhdf5-dev)")
    exe = tmp_path_factory.mktemp("c") / "sciml_stepper"
    cc = shutil.which("cc") or shutil.which("gcc")
    cmd = [cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]
    subprocess.run([*cmd, "-o", str(exe), str(SOURCE), *flags, "-lm"], check=True, timeout=120)
    return exe


def _stepper(ndim, grid, net, phys, value, activation, integrator, depth, seed):
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
        state_mean=np.array([0.1, -0.2]),
        state_std=np.array([1.5, 0.8]),
        tendency_mean=np.array([0.05, 0.0]),
        tendency_std=np.array([0.7, 1.2]),
        grid_shape=grid,
    )


def _run_c(exe: Path, artifact: Path, z: np.ndarray, steps: int, tmp: Path):
    with h5py.File(tmp / "in.h5", "w") as f:
        f["state"] = z.astype(np.float64)
    subprocess.run(
        [str(exe), str(artifact), str(tmp / "in.h5"), str(tmp / "out.h5"), str(steps)],
        check=True,
        timeout=60,
    )
    with h5py.File(tmp / "out.h5") as f:
        return f["state"][()], f["tendency"][()]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}d-{c[2]}-{c[3]}-{c[5]}-{c[6]}" for c in CASES])
def test_c_stepper_matches_numpy(c_stepper, tmp_path, case):
    grid, depth = case[1], case[7]
    path = export_stepper(_stepper(*case, seed=len(grid) + depth), tmp_path / "s.h5")
    loaded = load_stepper(path)
    rng = np.random.default_rng(7)
    z = rng.standard_normal((2, *grid, 2))
    steps = 3
    c_state, c_tendency = _run_c(c_stepper, path, z, steps, tmp_path)

    np.testing.assert_allclose(c_tendency, loaded.tendency(z), rtol=1e-10, atol=1e-12)
    want = z
    for _ in range(steps):
        want = loaded.step(want)
    np.testing.assert_allclose(c_state, want, rtol=1e-10, atol=1e-12)
    # A float32 state is evaluated in float32 by NumPy: equal to float32 round-off.
    want32 = z.astype(np.float32)
    for _ in range(steps):
        want32 = loaded.step(want32)
    assert want32.dtype == np.float32
    np.testing.assert_allclose(c_state, want32, rtol=2e-5, atol=2e-5)


def test_c_stepper_refuses_other_grid(c_stepper, tmp_path):
    path = export_stepper(_stepper(*CASES[0], seed=0), tmp_path / "s.h5")
    with h5py.File(tmp_path / "in.h5", "w") as f:
        f["state"] = np.zeros((1, 16, 2))
    out = subprocess.run(
        [str(c_stepper), str(path), str(tmp_path / "in.h5"), str(tmp_path / "o.h5"), "1"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "grid_shape" in out.stderr
