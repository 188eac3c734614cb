"""Hardening of the files sciml writes and reads: simulate under SIGTERM and a filling disk,
stale temporaries, resource estimates, progress without a terminal, file modes, the stepper
artifact's validation, the divergence guard, and a fuzz run over every reader."""

import collections
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from sciml.datasets.trajectory_file import remove_stale_temporaries

from sciml.cli import main

ENV = {**os.environ, "JAX_PLATFORMS": "cpu"}


def _err(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_sigterm_during_simulate_removes_its_temporary(tmp_path):
    out = tmp_path / "k.nc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciml.cli", "simulate", "ks1d", "--out", str(out),
         "--samples", "64", "--grid", "128", "--steps", "4000", "--batch", "2"],
        env=ENV, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while not list(tmp_path.glob(".k.nc.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob(".k.nc.*.tmp")), "the writer never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == (
        "sciml simulate: stopped by SIGTERM; temporary files were removed, finished outputs and "
        "checkpoints are kept"
    )
    assert os.listdir(tmp_path) == []


LIVE_WRITER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path, capsys):
    out = tmp_path / "a.nc"
    stale = tmp_path / f".a.nc.{'0' * 32}.tmp"  # left by a killed run
    stale.write_bytes(b"\0" * 1000)
    live = tmp_path / f".a.nc.{'1' * 32}.tmp"  # a writer that is still running
    other = tmp_path / f".b.nc.{'2' * 32}.tmp"  # another target's
    other.write_bytes(b"x")
    holder = subprocess.Popen(
        [sys.executable, "-c", LIVE_WRITER, str(live)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert remove_stale_temporaries(out) == [str(stale)]
        assert live.exists() and other.exists() and not stale.exists()
    finally:
        holder.kill()
        holder.wait()
    stale.write_bytes(b"\0")
    assert main(["simulate", "heat1d", "--out", str(out), "--samples", "2", "--grid", "8",
                 "--steps", "20", "--save-every", "2"]) == 0  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.nc", other.name])
    err = capsys.readouterr().err  # progress without a terminal: plain lines
    assert "simulate heat1d: 100% (40/40 step)" in err


def test_disk_filling_during_simulate_stops_before_hdf5_fails(tmp_path, monkeypatch, capsys):
    real = shutil.disk_usage
    calls = collections.Counter()

    def disk_usage(path):
        calls["n"] += 1  # plenty for the estimate and the first write, then 1 MiB
        free = 2**40 if calls["n"] <= 2 else 2**20
        return real(path)._replace(free=free)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    out = tmp_path / "h.nc"
    assert main(["simulate", "heat1d", "--out", str(out), "--samples", "4", "--grid", "64",
                 "--steps", "10", "--batch", "1"]) == 2  # fmt: skip
    assert _err(capsys) == (
        f"sciml simulate: error: {tmp_path}: no space left on the device (1.0 MiB free, the next "
        f"write of {out} needs 1.0 MiB); the partial file was removed: free space there or write "
        "to another place"
    )
    assert os.listdir(tmp_path) == []


def test_requests_that_cannot_fit_are_refused_before_work(tmp_path, monkeypatch, capsys):
    out = tmp_path / "big.nc"
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=10 * 2**30))
    assert main(["simulate", "ks1d", "--out", str(out), "--samples", "100000000",
                 "--grid", "4096"]) == 2  # fmt: skip
    assert _err(capsys) == (
        f"sciml simulate: error: --out {out}: the file would take about 151 TiB uncompressed (at "
        "least 37.6 TiB compressed), but only 10 GiB is free there; lower --samples/--steps/"
        "--grid, raise --save-every or write to a larger disk"
    )
    import sciml.datasets.generate as generate

    monkeypatch.setattr(generate, "_available_memory", lambda: 2**30)
    assert main(["simulate", "ks1d", "--out", str(out), "--samples", "4096", "--grid", "65536",
                 "--steps", "1", "--batch", "4096"]) == 2  # fmt: skip
    assert _err(capsys) == (
        "sciml simulate: error: --batch: simulating needs about 17 GiB of memory, found 1 GiB "
        "available; lower --batch (or --grid)"
    )
    assert os.listdir(tmp_path) == []


def test_progress_lines_every_ten_percent_without_a_terminal():
    from sciml.progress import Progress

    stream = io.StringIO()
    with Progress(200, desc="work", unit="item", stream=stream) as bar:
        for _ in range(200 // 7):
            bar.update(7)
        bar.update(200 - bar.n)
    lines = stream.getvalue().splitlines()
    percents = [int(line.split(": ")[1].split("%")[0]) for line in lines]
    assert percents == [10, 14, 21, 31, 42, 52, 63, 73, 80, 91, 100] or (
        len(lines) == 10 and percents[-1] == 100
    ), lines
    assert lines[-1].startswith("work: 100% (200/200 item), ")


def test_atomic_writes_honour_the_umask(tmp_path):
    from sciml.atomic import write_text

    previous = os.umask(0o027)
    try:
        write_text(tmp_path / "summary.json", "{}")
    finally:
        os.umask(previous)
    write_text(tmp_path / "b.json", "{}")
    assert (tmp_path / "summary.json").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o666 & ~previous


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from flax import nnx

    from sciml.stepper.artifact import export_stepper
    from sciml.stepper.model import make_learned_stepper

    model = make_learned_stepper(
        dx=[0.1], dt=0.01, grid_shape=(8,), rngs=nnx.Rngs(0),
        network_kwargs={"width": 3, "depth": 2, "kernel_size": 3},
    )  # fmt: skip
    return export_stepper(model, tmp_path_factory.mktemp("artifact") / "st.h5")


BAD_METADATA = [
    (("dt",), -0.01, r"metadata dt expected a finite time step > 0, found -0.01"),
    (("dt",), float("nan"), r"metadata dt expected a finite time step > 0, found nan"),
    (("dx",), [-0.1], r"metadata dx expected 1 finite grid spacings > 0 \(one per axis\)"),
    (("dx",), [0.1, 0.1], r"metadata dx expected 1 finite grid spacings > 0"),
    (
        ("grid_shape",),
        [8, 8],
        r"metadata grid_shape expected 1 point counts >= 1 \(the rank of dx\)",
    ),
    (
        ("architecture", "kernel_size"),
        4,
        r"architecture kernel_size expected an odd integer >= 1, found 4",
    ),
    (("architecture", "depth"), -1, r"architecture depth expected an integer >= 1, found -1"),
    (("architecture", "depth"), 0, r"architecture depth expected an integer >= 1, found 0"),
    (("architecture", "width"), 2.5, r"architecture width expected an integer >= 1"),
    (("architecture", "ndim"), 4, r"architecture ndim expected 1, 2 or 3, found 4"),
    (
        ("architecture", "use_bias"),
        "yes",
        r"architecture use_bias expected true/false, found 'yes'",
    ),
    (("variables",), [], r"metadata variables expected distinct names, found \[\]"),
    (("variables",), ["u", "u"], r"metadata variables expected distinct names"),
    (
        ("boundary_value",),
        float("inf"),
        r"metadata boundary_value expected a finite number, found inf",
    ),
    (("integrator",), "leapfrog", r"integrator 'leapfrog' is not one of"),
]


@pytest.mark.parametrize("keys, value, message", BAD_METADATA)
def test_load_stepper_validates_every_field(artifact, tmp_path, keys, value, message):
    from sciml.stepper.artifact import ArtifactError, load_stepper

    path = tmp_path / "bad.h5"
    shutil.copy(artifact, path)
    with h5py.File(path, "r+") as f:
        meta = json.loads(f.attrs["metadata"])
        target = meta
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
        f.attrs["metadata"] = json.dumps(meta)
    with pytest.raises(ArtifactError, match=rf"bad.h5: not a valid sciml stepper artifact: "
                       rf"{message}"):  # fmt: skip
        load_stepper(path)


def test_stepper_refuses_complex_state_and_bad_dt(artifact):
    from sciml.stepper.artifact import load_stepper

    st = load_stepper(artifact)
    z = np.ones((8, 1))
    np.testing.assert_allclose(st.step(z), st.step(z.astype(np.float32)), rtol=1e-6)
    with pytest.raises(TypeError, match=r"state: expected real values, found dtype complex128"):
        st.step(z + 1j)
    with pytest.raises(ValueError, match=r"step dt: expected a finite time step > 0, found -1"):
        st.step(z, dt=-1.0)


def test_divergence_guard_and_optimiser_checks(tmp_path):
    from sciml.nn import Tendency
    from sciml.train import DivergenceError, RegressionTask, SyntheticHeat, TrainConfig, fit

    heat = SyntheticHeat(n_samples=16, n=16, n_modes=3)
    base = {"steps": 30, "batch_size": 8, "mesh": {"data": 1}, "log_every": 1}
    model = Tendency(1, width=4, kernel_size=3, rngs=__import__("flax").nnx.Rngs(0))
    cfg = TrainConfig(**base, optim={"learning_rate": 1.0e6})
    with pytest.raises(DivergenceError, match=r"training diverged: loss \S+ at step \d+ is \S+ "
                       r"times its best \S+ \(step \d+\), above divergence_factor=10000"):  # fmt: skip
        fit(model, RegressionTask(), heat, config=cfg)
    with pytest.raises(ValueError, match=r"config optim.weight_decay: expected a finite value >= 0"
                       r" .* found -0.1; set optim.weight_decay=0 or 1e-4"):  # fmt: skip
        TrainConfig(**base, optim={"weight_decay": -0.1})
    with pytest.raises(ValueError, match=r"config optim.warmup_steps: expected 0 to the run's "
                       r"steps=30 .* found 31; set optim.warmup_steps=3 or train longer"):  # fmt: skip
        TrainConfig(**base, optim={"warmup_steps": 31})
    with pytest.raises(ValueError, match=r"config divergence_factor: expected a number > 1 or "
                       r"null, found 0.5"):  # fmt: skip
        TrainConfig(**base, divergence_factor=0.5)


def test_fuzzed_files_give_only_library_errors(tmp_path):
    """Random byte flips and truncations of valid small files, every reader, in one process
    (a crash of the interpreter shows as a missing result and a non-zero exit status)."""
    worker = Path(__file__).with_name("fuzz_readers_worker.py")
    proc = subprocess.run(
        [sys.executable, str(worker), str(tmp_path), "15", "2026"],
        env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    results = [r for r in records if "outcome" in r]
    started = [r for r in records if "start" in r]
    assert proc.returncode == 0, f"crashed during {started[-1] if started else None}: {proc.stderr}"
    assert len(results) == len(started) == 5 * 15 + 5
    bad = [r for r in results if r["outcome"] not in ("ok", "library")]
    assert not bad, bad
    counts = collections.Counter((r["reader"], r["outcome"]) for r in results)
    for reader in ("trajectory", "pdebench", "well", "fastmri", "artifact"):
        assert counts[(reader, "library")] >= 5, counts  # the damage is detected, not ignored
    assert max(r["seconds"] for r in results) < 10
