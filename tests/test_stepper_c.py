"""The C99 stepper in examples/c, written from docs/stepper_artifact.md alone, against NumPy.

The program is compiled with the system compiler and libhdf5 (Debian: libhdf5-dev, which `.ci/run`
installs). Every network boundary (periodic, zero, reflect, ghost with Dirichlet, Neumann and
periodic data), every activation and every integrator is stepped in C and in
``sciml.load_stepper`` and compared: float64 states to 1e-10, float32 states to float32 round-off.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from stepper_programs import (
    CASE_IDS,
    CASES,
    assert_free_grid_runs,
    assert_program_matches_numpy,
    export_case,
    forge_kind,
    run_program,
)

SOURCE = Path(__file__).resolve().parents[1] / "examples" / "c" / "sciml_stepper.c"


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


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_c_stepper_matches_numpy(c_stepper, tmp_path, case):
    assert_program_matches_numpy(c_stepper, case, tmp_path)


def test_c_stepper_refuses_other_grid(c_stepper, tmp_path):
    path = export_case(CASES[0], tmp_path / "s.h5")
    out = run_program(c_stepper, path, np.zeros((1, 16, 2)), 1, tmp_path, check=False)
    assert out.returncode == 2 and "grid_shape" in out.stderr
    bad = forge_kind(path, tmp_path / "flux.h5")
    out = run_program(c_stepper, bad, np.zeros((1, 17, 2)), 1, tmp_path, check=False)
    assert out.returncode == 2 and 'kind is not "tendency"' in out.stderr


def test_c_stepper_on_a_free_grid(c_stepper, tmp_path):
    out = assert_free_grid_runs(c_stepper, tmp_path)
    assert out.returncode == 2 and "below the network's minimum size" in out.stderr
