"""Trajectory file I/O benchmark: writing, simulating to a file (peak memory), lazy reading.

Three measurements, each against a reference measured in the same run:

1. ``write``: :class:`TrajectoryWriter` (netCDF4 through h5netcdf, one chunk per frame, gzip
   levels 0, 1 (the default) and 4) against plain ``h5py`` writing the same float32 array in one
   call (contiguous, uncompressed): MB/s and the ratio. The data are random normal floats, the
   worst case for gzip.
2. ``simulate``: peak resident memory (VmHWM) of ``sciml simulate heat2d`` for 16 and 64 samples
   (``--quick``: 4 and 16), each in a fresh process, against a process that only imports the same
   modules. The file grows 4x; the memory above the import baseline should not.
3. ``read``: frames read at random through ``read_pdebench`` (lazy xarray view of an HDF5
   ``tensor``) against direct ``h5py`` indexing of the same frames: frames/s and the ratio.

    python benchmarks/bench_trajectory_io.py            # ~1-2 minutes on 2 cores
    python benchmarks/bench_trajectory_io.py --quick    # smaller sizes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from json_out import add_json_argument, write_json


def _hwm_mb(code: str) -> float:
    """Peak RSS (MB) of a fresh Python process running ``code`` (which prints nothing)."""
    script = code + (
        "\nfor line in open('/proc/self/status'):\n"
        "    if line.startswith('VmHWM:'):\n"
        "        print(float(line.split()[1]) / 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def bench_write(tmp: str, shape: tuple[int, ...], repeats: int) -> dict:
    import h5py
    from sciml.datasets import TrajectoryWriter
    from sciml.solvers import Grid

    data = np.random.default_rng(0).standard_normal((*shape, 1)).astype(np.float32)
    mb = data.nbytes / 2**20
    grid = Grid(shape[2:], 1.0)
    times = np.arange(shape[1], dtype=np.float64)

    def plain():
        with h5py.File(os.path.join(tmp, "plain.h5"), "w") as f:
            f["u"] = data[..., 0]

    def ours(level):
        def run():
            with TrajectoryWriter(
                os.path.join(tmp, f"ours{level}.nc"), fields=("u",), n_samples=shape[0],
                times=times, grid=grid, overwrite=True, compression_level=level,
            ) as w:  # fmt: skip
                for s in range(0, shape[0], 8):  # sample batches, as `sciml simulate` writes
                    w.write(data[s : s + 8], sample_start=s)

        return run

    def best(fn):
        times_ = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times_.append(time.perf_counter() - t0)
        return min(times_)

    t_plain = best(plain)
    fig = {"mb": mb, "plain_mb_per_s": mb / t_plain}
    print(f"write {mb:.0f} MB {shape}:")
    print(f"  plain h5py (contiguous, no compression): {mb / t_plain:8.1f} MB/s")
    for level in (0, 1, 4):
        t = best(ours(level))
        size = os.path.getsize(os.path.join(tmp, f"ours{level}.nc")) / 2**20
        print(
            f"  TrajectoryWriter gzip={level}:            {mb / t:8.1f} MB/s  "
            f"(ratio to plain {t_plain / t:.2f}; file {size:.0f} MB)"
        )
        fig[f"ratio_gzip{level}_vs_plain"] = t_plain / t
        fig[f"gzip{level}_file_mb"] = size
    return fig


def bench_simulate(tmp: str, samples: int, steps: int, grid: int) -> dict:
    base = _hwm_mb("import sciml.solvers, sciml.datasets, sciml.commands.simulate")
    print(f"simulate heat2d {grid}x{grid}, {steps} steps (peak RSS, fresh processes):")
    print(f"  imports only:            {base:7.0f} MB")
    fig = {"imports_mb": base}
    for n in (samples, 4 * samples):
        out = os.path.join(tmp, f"sim{n}.nc")
        code = (
            "import contextlib, io\n"
            "from sciml.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['simulate', 'heat2d', '--out', {out!r}, '--samples', '{n}', "
            f"'--steps', '{steps}', '--grid', '{grid}']) == 0\n"
        )
        t0 = time.perf_counter()
        hwm = _hwm_mb(code)
        wall = time.perf_counter() - t0
        raw = n * (steps + 1) * grid * grid * 4 / 2**20
        print(
            f"  {n:4d} samples: {hwm:7.0f} MB peak ({hwm - base:+6.0f} MB over imports) for "
            f"{raw:6.0f} MB of float32 data, {wall:5.1f} s"
        )
        os.remove(out)
        fig[f"peak_mb_{n}_samples"] = hwm
    return fig


def bench_read(tmp: str, shape: tuple[int, ...], n_reads: int) -> dict:
    import h5py
    from sciml.datasets import read_pdebench

    path = os.path.join(tmp, "pdebench.hdf5")
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "tensor", data=np.random.default_rng(1).random(shape, dtype=np.float32),
            chunks=(1, 1, *shape[2:]),
        )  # fmt: skip
        f["x-coordinate"] = np.linspace(0, 1, shape[2])
        f["t-coordinate"] = np.arange(shape[1] + 1) * 0.01
    rng = np.random.default_rng(2)
    picks = [(int(rng.integers(shape[0])), int(rng.integers(shape[1]))) for _ in range(n_reads)]
    with h5py.File(path, "r") as f:
        d = f["tensor"]
        t0 = time.perf_counter()
        ref = [d[s, t] for s, t in picks]
        t_plain = time.perf_counter() - t0
    ds = read_pdebench(path)
    u = ds["u"]
    t0 = time.perf_counter()
    got = [u[s, t].values for s, t in picks]
    t_ours = time.perf_counter() - t0
    ds.close()
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))
    print(f"read {n_reads} random frames of {shape}:")
    print(f"  plain h5py:              {n_reads / t_plain:9.0f} frames/s")
    print(
        f"  read_pdebench (lazy):    {n_reads / t_ours:9.0f} frames/s  "
        f"(ratio to plain {t_plain / t_ours:.2f})"
    )
    return {"plain_frames_per_s": n_reads / t_plain, "ratio_read_vs_plain": t_plain / t_ours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    add_json_argument(parser)
    args = parser.parse_args()
    quick = args.quick
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "benchmark": "trajectory_io",
            "write": bench_write(tmp, (16, 32, 64, 64) if quick else (32, 64, 128, 128), repeats=2),
            "simulate": bench_simulate(
                tmp, samples=4 if quick else 16, steps=50 if quick else 100, grid=128
            ),
            "read": bench_read(
                tmp, (16, 50, 1024) if quick else (64, 100, 1024), 500 if quick else 2000
            ),
        }
    write_json(args.json, result)


if __name__ == "__main__":
    main()
