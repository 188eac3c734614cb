"""The Fortran 2008 stepper in examples/fortran, written from docs/stepper_artifact.md alone,
against NumPy.

The program is compiled once per module with gfortran and the HDF5 Fortran library (Debian:
gfortran and libhdf5-dev, which `.ci/run` installs); without them the module is skipped with the
reason. The artifacts are those of tests/test_stepper_c.py (:mod:`stepper_programs`): every
network boundary, every activation and every integrator in 1-D, 2-D and 3-D, stepped in Fortran
and in ``sciml.load_stepper`` and compared: float64 states to 1e-10, float32 states to float32
round-off. Bad input exits with status 2 and a message naming the field.
"""

import shlex
import shutil
import subprocess
from pathlib import Path

import h5py
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

SOURCE = Path(__file__).resolve().parents[1] / "examples" / "fortran" / "sciml_stepper.f90"
DEBIAN_HDF5 = Path("/usr/include/hdf5/serial")
# -Wall -Wextra -Werror, less two families: -Wcompare-reals flags the exact comparisons that
# log1p/expm1 rely on, and gfortran 12 reports false -Wuninitialized on allocatable descriptors.
FFLAGS = ["-std=f2008", "-O2", "-Wall", "-Wextra", "-Wno-compare-reals", "-Wno-uninitialized"]


def _hdf5_fortran_flags() -> list[str] | None:
    """Include and link flags for the HDF5 Fortran library (shared libraries preferred)."""
    if (DEBIAN_HDF5 / "hdf5.mod").exists():
        lib = "/usr/lib/x86_64-linux-gnu/hdf5/serial"
        return [f"-I{DEBIAN_HDF5}", f"-L{lib}", f"-Wl,-rpath,{lib}", "-lhdf5_fortran", "-lhdf5"]
    if shutil.which("h5fc"):
        out = subprocess.run(["h5fc", "-show"], capture_output=True, text=True, timeout=30)
        words = shlex.split(out.stdout)
        if out.returncode == 0 and len(words) > 1:
            return words[1:]  # the first word is the compiler itself
    return None


@pytest.fixture(scope="module")
def fortran_stepper(tmp_path_factory) -> Path:
    gfortran = shutil.which("gfortran")
    flags = _hdf5_fortran_flags()
    if gfortran is None or flags is None:
        pytest.skip(
            "no gfortran or HDF5 Fortran library (Debian: apt-get install gfortran libhdf5-dev)"
        )
    build = tmp_path_factory.mktemp("fortran")
    probe = build / "probe.f90"
    probe.write_text("program probe\n  use hdf5\n  implicit none\nend program probe\n")
    out = subprocess.run(
        [gfortran, "-o", str(build / "probe"), str(probe), *flags],
        cwd=build,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:
        pytest.skip(f"the HDF5 Fortran module does not build with {gfortran}: {out.stderr[:300]}")
    exe = build / "sciml_stepper"
    out = subprocess.run(
        [gfortran, *FFLAGS, "-Werror", "-o", str(exe), str(SOURCE), *flags],
        cwd=build,  # the compiled module file lands here, not in the repository
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return exe


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """One valid artifact (CASES[0]) that the refusal tests copy and damage."""
    return export_case(CASES[0], tmp_path_factory.mktemp("artifact") / "s.h5")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fortran_stepper_matches_numpy(fortran_stepper, tmp_path, case):
    assert_program_matches_numpy(fortran_stepper, case, tmp_path)


def test_fortran_stepper_on_a_free_grid(fortran_stepper, tmp_path):
    out = assert_free_grid_runs(fortran_stepper, tmp_path)
    assert out.returncode == 2
    assert "(1, 9) has an axis of fewer than 2 points" in out.stderr


def _damage(src: Path, dst: Path, how: str) -> Path:
    if how == "kind":
        return forge_kind(src, dst)
    shutil.copy(src, dst)
    with h5py.File(dst, "a") as f:
        if how == "version":
            f.attrs["format_version"] = np.int64(1)
        elif how == "dx":
            del f.attrs["dx"]
        elif how == "kernel":
            del f["tendency/conv_1/kernel"]
            f["tendency/conv_1/kernel"] = np.zeros((3, 5, 3), np.float32)
        elif how == "integrator":
            f.attrs["integrator"] = "leapfrog"
    return dst


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("kind", '/tendency kind expected "tendency" (the conv -> f -> conv family), found "stencil_flux"'),
        ("version", "format_version expected 2, found 1; re-export it"),
        ("dx", "missing attribute /dx"),
        ("kernel", "dataset /tendency/conv_1/kernel has shape (3, 5, 3), the architecture needs (3, 5, 2)"),
        ("integrator", 'integrator expected euler, rk2, ssprk3 or rk4, found "leapfrog"'),
    ],
)  # fmt: skip
def test_fortran_stepper_refuses_bad_artifacts(fortran_stepper, artifact, tmp_path, how, message):
    bad = _damage(artifact, tmp_path / "bad.h5", how)
    out = run_program(fortran_stepper, bad, np.zeros((1, 17, 2)), 1, tmp_path, check=False)
    assert out.returncode == 2
    assert out.stderr.startswith(f"sciml_stepper: {bad}: ") and len(out.stderr.splitlines()) == 1
    assert message in out.stderr
    assert not (tmp_path / "out.h5").exists()


def test_fortran_stepper_refuses_bad_states(fortran_stepper, artifact, tmp_path):
    out = run_program(fortran_stepper, artifact, np.zeros((1, 16, 2)), 1, tmp_path, check=False)
    assert out.returncode == 2
    assert (
        "state shape (1, 16, 2) differs from the artifact's grid_shape, which needs (B, 17, 2)"
        in (out.stderr)
    )
    out = run_program(fortran_stepper, artifact, np.zeros((1, 17, 3)), 1, tmp_path, check=False)
    assert out.returncode == 2 and "state has 3 channels, the artifact has 2" in out.stderr
    out = run_program(fortran_stepper, artifact, np.zeros((17, 2)), 1, tmp_path, check=False)
    assert out.returncode == 2 and "state expected rank 3 (B, *grid, C), found rank 2" in out.stderr
    out = run_program(fortran_stepper, artifact, np.zeros((1, 17, 2)), -1, tmp_path, check=False)
    assert out.returncode == 2 and 'NSTEPS expected an integer >= 0, found "-1"' in out.stderr
