"""Fuzz worker for tests/test_hardening_fuzz.py (run as a script, in its own process).

Writes one valid small file per reader, then for each case flips random bytes of it or cuts it
short and reads it through the reader, with an alarm bounding the time per case. Prints one JSON
line per case: ``{"reader", "case", "mutation", "outcome", "error"}`` where outcome is ``ok``
(read without error: the damage hit values only), ``library`` (a sciml DataFileError), ``other``
(any other exception: a defect) or ``hang`` (over the time limit). A crash of the interpreter
ends the output early; the parent names the last case started.

usage: python fuzz_readers_worker.py WORKDIR CASES_PER_READER SEED
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from sciml.errors import DataFileError

TIME_LIMIT_S = 10


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


# ---------------------------------------------------------------------------- valid files


def make_trajectory(path):
    from sciml.datasets.trajectory_file import write_trajectories
    from sciml.solvers.grid import Grid

    rng = np.random.default_rng(0)
    grid = Grid(shape=(8,), length=(1.0,), boundary="periodic")
    write_trajectories(
        path, rng.standard_normal((2, 4, 8, 1)), fields=("u",), grid=grid, times=np.arange(4.0)
    )


def read_trajectory(path):
    from sciml.datasets import TrajectoryWindows
    from sciml.datasets.open import open_trajectories

    open_trajectories(path).close()
    w = TrajectoryWindows(path, ["u"], n_input=1, n_target=1)
    for i in range(len(w)):
        w[i]
    w.close()


def make_pdebench(path):
    from test_readers import _pdebench_tensor_1d

    _pdebench_tensor_1d(path)


def make_well(path):
    from test_readers import _write_well

    _write_well(path)


def read_lazy_layout(path):
    from sciml.datasets.lazy_h5 import close_file
    from sciml.datasets.open import open_trajectories

    ds = open_trajectories(path)
    try:
        for name in ds.data_vars:
            np.asarray(ds[name].values)
    finally:
        ds.close()
        close_file(path)


def make_fastmri(path):
    from sciml.mri.synthesize import synthesize_dataset

    folder = os.path.join(os.path.dirname(path), "mri_src")
    (src,) = synthesize_dataset(
        folder, volumes=1, slices=2, shape=(16, 16), recon_size=(8, 8), seed=0
    )
    shutil.copy(src, path)


def read_fastmri(path):
    from sciml.mri.io import read_volume

    read_volume(path)


def make_artifact(path):
    import jax

    from sciml.stepper.artifact import export_stepper
    from sciml.stepper.model import make_learned_stepper
    from sciml.train.registry import build_model  # noqa: F401  (registers the models)

    del jax
    from flax import nnx

    model = make_learned_stepper(
        dx=[0.1], dt=0.01, network_kwargs={"width": 3, "depth": 2, "kernel_size": 3},
        rngs=nnx.Rngs(0), grid_shape=(8,),
    )  # fmt: skip
    export_stepper(model, path)


def read_artifact(path):
    from sciml.stepper.artifact import load_stepper

    st = load_stepper(path)
    st.step(np.zeros((8, 1), np.float32))


def make_checkpoint(path):
    import jax.numpy as jnp

    from sciml.train.checkpoint import Checkpoints

    ckpt = Checkpoints(path)
    ckpt.save(1, {"w": jnp.arange(6.0), "b": jnp.ones(2)}, {"step": 1, "note": "fuzz"})
    ckpt.close()


def read_checkpoint(path):
    from sciml.train.checkpoint import Checkpoints

    ckpt = Checkpoints(path, read_only=True)
    try:
        ckpt.first_intact(ckpt.all_steps() or [1], lambda step: ckpt.restore(step, None))
    finally:
        ckpt.close()


def mutate_directory(valid: str, target: str, rng: np.random.Generator) -> str:
    """Copy the checkpoint directory ``valid`` to ``target`` and damage one of its files."""
    shutil.copytree(valid, target)
    files = sorted(os.path.join(root, n) for root, _, names in os.walk(target) for n in names)
    victim = files[int(rng.integers(0, len(files)))]
    with open(victim, "rb") as fh:
        data = fh.read()
    damaged, how = mutate(data, rng) if data else (b"", "empty")
    with open(victim, "wb") as fh:
        fh.write(damaged)
    return f"{os.path.relpath(victim, target)}: {how}"


DIRECTORY_READERS = {"checkpoint": ("ckpt", make_checkpoint, read_checkpoint)}

READERS = {
    "trajectory": ("traj.nc", make_trajectory, read_trajectory),
    "pdebench": ("pde.h5", make_pdebench, read_lazy_layout),
    "well": ("well.hdf5", make_well, read_lazy_layout),
    "fastmri": ("vol.h5", make_fastmri, read_fastmri),
    "artifact": ("stepper.h5", make_artifact, read_artifact),
}


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    raw = bytearray(data)
    if rng.random() < 0.3:
        cut = int(rng.integers(0, len(raw)))
        return bytes(raw[:cut]), f"truncate to {cut} of {len(raw)} bytes"
    n = int(rng.integers(1, 17))
    where = rng.integers(0, len(raw), size=n)
    for i in where:
        raw[int(i)] = int(rng.integers(0, 256))
    return bytes(raw), f"{n} random bytes at {sorted(int(i) for i in where)[:4]}..."


def run_case(read, path) -> tuple[str, str]:
    signal.alarm(TIME_LIMIT_S)
    try:
        read(path)
        return "ok", ""
    except Hang:
        return "hang", f"over {TIME_LIMIT_S} s"
    except DataFileError as err:
        return "library", f"{type(err).__name__}: {str(err)[:160]}"
    except Exception as err:
        return "other", f"{type(err).__name__}: {str(err)[:300]}"
    finally:
        signal.alarm(0)


def main() -> None:
    workdir, cases, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGALRM, _alarm)
    rng = np.random.default_rng(seed)
    for reader, (name, make, read) in READERS.items():
        valid = os.path.join(workdir, name)
        make(valid)
        read(valid)  # the valid file reads
        data = open(valid, "rb").read()
        for case in range(cases):
            damaged, how = mutate(data, rng)
            path = os.path.join(workdir, f"{reader}-{case}{os.path.splitext(name)[1]}")
            with open(path, "wb") as fh:
                fh.write(damaged)
            print(json.dumps({"reader": reader, "case": case, "start": how}), flush=True)
            t0 = time.perf_counter()
            outcome, error = run_case(read, path)
            print(
                json.dumps(
                    {
                        "reader": reader,
                        "case": case,
                        "mutation": how,
                        "outcome": outcome,
                        "error": error,
                        "seconds": round(time.perf_counter() - t0, 3),
                    }
                ),
                flush=True,
            )
            os.remove(path)
    for reader, (name, make, read) in DIRECTORY_READERS.items():
        valid = os.path.join(workdir, name)
        make(valid)
        read(valid)
        for case in range(max(cases // 3, 1)):
            path = os.path.join(workdir, f"{reader}-{case}")
            how = mutate_directory(valid, path, rng)
            print(json.dumps({"reader": reader, "case": case, "start": how}), flush=True)
            t0 = time.perf_counter()
            outcome, error = run_case(read, path)
            print(
                json.dumps(
                    {
                        "reader": reader,
                        "case": case,
                        "mutation": how,
                        "outcome": outcome,
                        "error": error,
                        "seconds": round(time.perf_counter() - t0, 3),
                    }
                ),
                flush=True,
            )
            shutil.rmtree(path)


if __name__ == "__main__":
    main()
