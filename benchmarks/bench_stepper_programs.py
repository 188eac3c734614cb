"""The stand-alone stepper programs (examples/c, examples/fortran) against ``sciml.load_stepper``.

One exported 2-D stepper (``--width`` hidden channels, depth 3, kernel 3, RK4, ghost cells from
a Dirichlet boundary) advances a ``(--batch, --n, --n, 2)`` float64 state ``--steps`` steps in

- NumPy, ``sciml.load_stepper(path).step`` (the reference, measured in the same run),
- the C99 program and the Fortran 2008 program, built with ``-O2`` here, each run once with 0
  steps and once with ``--steps`` steps; the difference is the stepping time (process start,
  HDF5 reading and writing excluded).

Prints the time per step of each and its ratio to NumPy; a program whose compiler or HDF5 library
is missing is reported as skipped. The weights do not change the cost, so the model is untrained.

    python benchmarks/bench_stepper_programs.py            # n = 64, batch 4, 10 steps
    python benchmarks/bench_stepper_programs.py --quick    # n = 32, 5 steps
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from flax import nnx

from sciml.nn import Tendency
from sciml.stepper.artifact import export_stepper, load_stepper
from sciml.stepper.model import LearnedStepper

ROOT = Path(__file__).resolve().parents[1]
HDF5 = Path("/usr/include/hdf5/serial")
HDF5_LIB = "/usr/lib/x86_64-linux-gnu/hdf5/serial"


def _build(kind: str, out: Path) -> Path | None:
    """Compile one example (Debian's HDF5 layout); ``None`` when the tools are missing."""
    if kind == "c":
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None or not (HDF5 / "hdf5.h").exists():
            return None
        cmd = [cc, "-std=c99", "-O2", str(ROOT / "examples/c/sciml_stepper.c")]
        libs = [f"-I{HDF5}", f"-L{HDF5_LIB}", "-lhdf5", "-lm"]
    else:
        fc = shutil.which("gfortran")
        if fc is None or not (HDF5 / "hdf5.mod").exists():
            return None
        cmd = [fc, "-std=f2008", "-O2", str(ROOT / "examples/fortran/sciml_stepper.f90")]
        libs = [f"-I{HDF5}", f"-L{HDF5_LIB}", f"-Wl,-rpath,{HDF5_LIB}", "-lhdf5_fortran", "-lhdf5"]
    exe = out / f"stepper_{kind}"
    subprocess.run([*cmd, "-o", str(exe), *libs], cwd=out, check=True, timeout=300)
    return exe


def _run(exe: Path, artifact: Path, state: Path, out: Path, steps: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(exe), str(artifact), str(state), str(out), str(steps)], check=True)
    return time.perf_counter() - t0


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=64, help="grid points per axis")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="n = 32, 5 steps")
    p.add_argument("--json", help="write the figures to this JSON file")
    a = p.parse_args(argv)
    if a.quick:
        a.n, a.steps = 32, 5
    g = Tendency(
        2, width=a.width, kernel_size=3, depth=3, ndim=2, boundary="ghost", rngs=nnx.Rngs(0)
    )
    stepper = LearnedStepper(
        g, dt=0.01, integrator="rk4", dx=[0.1, 0.1], boundary="dirichlet", variables=("u", "v")
    )
    figures: dict = {"n": a.n, "batch": a.batch, "width": a.width, "steps": a.steps}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        artifact = export_stepper(stepper, tmp / "s.h5")
        z = np.random.default_rng(0).standard_normal((a.batch, a.n, a.n, 2))
        with h5py.File(tmp / "in.h5", "w") as f:
            f["state"] = z
        loaded = load_stepper(artifact)

        def numpy_steps():
            y = z
            for _ in range(a.steps):
                y = loaded.step(y)
            return y

        numpy_steps()
        ref = min(_timed(numpy_steps) for _ in range(a.repeats)) / a.steps
        figures["numpy_s_per_step"] = ref
        print(f"grid {a.n}x{a.n}, batch {a.batch}, width {a.width}, RK4, {a.steps} steps")
        print(f"numpy (reference)  {ref * 1e3:9.2f} ms/step")
        for kind in ("c", "fortran"):
            exe = _build(kind, tmp)
            if exe is None:
                print(f"{kind:<18} skipped (no compiler or HDF5 development files)")
                continue
            out = tmp / f"out_{kind}.h5"
            base = min(_run(exe, artifact, tmp / "in.h5", out, 0) for _ in range(a.repeats))
            full = min(_run(exe, artifact, tmp / "in.h5", out, a.steps) for _ in range(a.repeats))
            with h5py.File(out) as f:
                np.testing.assert_allclose(f["state"][()], numpy_steps(), rtol=1e-9, atol=1e-12)
            per_step = max(full - base, 0.0) / a.steps
            figures[f"{kind}_s_per_step"] = per_step
            figures[f"{kind}_ratio_to_numpy"] = per_step / ref
            print(f"{kind:<18} {per_step * 1e3:9.2f} ms/step   ratio to numpy {per_step / ref:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2))
    return figures


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
