"""Hardening of the commands that write: no lost data, one line for every fault, checkpoints that
survive damage. One small learned-stepper run (float16 data, the windows source) is trained once
per module and copied where a case needs to change it."""

import json
import os
import shutil
import subprocess
import sys
from collections import namedtuple

import h5py
import numpy as np
import pytest
import yaml
from sciml.datasets.netcdf_open import open_xarray
from sciml.datasets.trajectory_file import write_trajectories
from sciml.solvers.grid import Grid

from sciml.cli import main
from sciml.errors import DataFileError

Run = namedtuple("Run", "root config run data")

STEPPER = {
    "model": {
        "name": "sciml.stepper.model:make_learned_stepper",
        "kwargs": {"dx": [0.125], "dt": 0.1, "network_kwargs": {"width": 3, "depth": 2}},
    },
    "task": {"name": "sciml.stepper.tasks:RolloutTask"},
    "optim": {"learning_rate": 1.0e-3},
    "steps": 4,
    "batch_size": 4,
    "log_every": 2,
    "checkpoint_every": 2,
    "keep_checkpoints": 3,
    "mesh": {"data": 1},
}


def _config(path, data, **changes):
    cfg = json.loads(json.dumps(STEPPER))
    cfg["data"] = {
        "train": {
            "kind": "windows",
            "kwargs": {"path_or_dataset": str(data), "variables": ["u"], "n_input": 1},
        }
    }
    cfg.update(changes)
    path.write_text(yaml.safe_dump(cfg))
    return path


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "expected an error line"
    return err[-1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """float16 trajectories (8 samples x 6 frames x 8 points, gzip) and a 4-step run on them,
    trained into a directory that already holds the user's notes."""
    root = tmp_path_factory.mktemp("hardening")
    data = root / "traj16.nc"
    u = np.sin(np.linspace(0, 2 * np.pi, 8))[None, None, :, None] * np.ones((8, 6, 1, 1))
    grid = Grid(shape=(8,), length=(1.0,), boundary="periodic")
    write_trajectories(
        data, u, fields=("u",), grid=grid, times=np.arange(6) * 0.1, dtype=np.float16
    )
    config = _config(root / "cfg.yaml", data)
    run_dir = root / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("my notes")
    assert main(["train", "--config", str(config), "--run-dir", str(run_dir)]) == 0
    return Run(root, config, run_dir, data)


def test_float16_data_trains_and_the_crashing_engine_is_refused(run):
    # The run above read float16 through h5netcdf (the netCDF4 engine segfaults on it).
    assert sorted(os.listdir(run.run / "checkpoints")) == ["2", "4"]
    assert (run.run / "notes.txt").read_text() == "my notes"  # the user's file is untouched
    with h5py.File(run.data) as f:
        assert f["u"].dtype == np.float16
    with pytest.raises(DataFileError, match=r"traj16.nc: variables \['u'\] are float16 .* "
                       r"engine='h5netcdf'"):  # fmt: skip
        open_xarray(run.data, engine="netcdf4")


HOLDER = """
import fcntl, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.write(fd, f"{os.getpid()} {socket.gethostname()} 2026-01-01T00:00:00Z\\n".encode())
print("locked", flush=True)
time.sleep(60)
"""


def test_second_writer_gets_the_holders_pid_and_host(run, tmp_path, capsys):
    from sciml.train.lock import LOCK_FILE, hold_run_dir

    run_dir = tmp_path / "locked"
    shutil.copytree(run.run, run_dir)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir / LOCK_FILE)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        args = ["train", "--config", str(run.config), "--run-dir", str(run_dir), "--resume"]
        assert main([*args, "--set", "steps=6"]) == 2
        line = _err(capsys)
        assert line == (
            f"sciml train: error: run_dir {run_dir}: in use by process {holder.pid} on host "
            f"{os.uname().nodename}, since 2026-01-01T00:00:00Z; wait for that run to end (or "
            "stop it), or choose another --run-dir"
        )
    finally:
        holder.kill()  # SIGKILL: the operating system drops the lock
        holder.wait()
    with hold_run_dir(str(run_dir)):
        pass
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["2", "4"]


def _tree(path):
    return {
        os.path.relpath(os.path.join(r, n), path): open(os.path.join(r, n), "rb").read()
        for r, _, names in os.walk(path)
        for n in names
    }


def test_commands_never_overwrite_foreign_files(run, tmp_path, capsys):
    # train: a folder holding the user's own config.yaml is not a run directory
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my own config")
    assert main(["train", "--config", str(run.config), "--run-dir", str(mine)]) == 2
    assert "holds config.yaml that sciml did not write (no .sciml-run marker)" in _err(capsys)
    assert _tree(mine) == {"config.yaml": b"my own config"}

    # simulate: other files stay; an existing file is replaced only with --overwrite
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "old.nc").write_bytes(b"user data")
    (folder / ".old.nc.0123.tmp").write_bytes(b"not a sciml temporary")
    simulate = ["simulate", "heat1d", "--samples", "1", "--grid", "8", "--steps", "2"]
    assert main([*simulate, "--out", str(folder / "old.nc")]) == 2
    assert "the file exists; pass --overwrite" in _err(capsys)
    assert main([*simulate, "--out", str(folder / "new.nc")]) == 0
    tree = _tree(folder)
    assert tree["old.nc"] == b"user data" and tree[".old.nc.0123.tmp"] == b"not a sciml temporary"

    # export: an existing file needs --overwrite; a directory is never replaced
    assert main(["export", str(run.run), "--out", str(folder / "old.nc")]) == 2
    assert _err(capsys) == (
        f"sciml export: error: --out {folder}/old.nc: file exists; pass --overwrite or choose "
        "another path"
    )
    assert main(["export", str(run.run), "--out", str(folder), "--overwrite"]) == 2
    assert _err(capsys) == (
        f"sciml export: error: --out {folder}: is a directory; --overwrite replaces a file, never "
        f"a directory: give a file path such as {folder}/stepper.h5"
    )
    assert _tree(folder)["old.nc"] == b"user data"

    # mri synthesize / reconstruct: a same-named file needs --overwrite, others stay
    mri = tmp_path / "mri"
    mri.mkdir()
    (mri / "file1000001.h5").write_bytes(b"user volume")
    (mri / "readme.txt").write_text("mine")
    synth = ["mri", "synthesize", "--volumes", "1", "--slices", "1", "--shape", "16", "16",
             "--recon-size", "8", "8"]  # fmt: skip
    assert main([*synth, "--out", str(mri)]) == 2
    assert "file1000001.h5: exists (1 of the 1 files); pass --overwrite" in _err(capsys)
    model = tmp_path / "model"
    model.mkdir()
    (model / "mri.json").write_text(json.dumps({"kind": "unet"}))
    (mri / "file1000001.h5").unlink()
    data = tmp_path / "vols"
    assert main([*synth, "--out", str(data)]) == 0
    (mri / "file1000001.h5").write_bytes(b"user volume")
    assert main(["mri", "reconstruct", "--model", str(model), "--data", str(data),
                 "--out", str(mri)]) == 2  # fmt: skip
    assert "file1000001.h5: exists (1 of 1 outputs)" in _err(capsys)
    assert _tree(mri) == {"file1000001.h5": b"user volume", "readme.txt": b"mine"}


@pytest.fixture
def readonly(tmp_path):
    """A directory nothing can be written into (a read-only tmpfs as root, else mode 0555)."""
    path = tmp_path / "ro"
    path.mkdir()
    mounted = False
    if os.geteuid() == 0:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                capture_output=True,
            ).returncode
            == 0
        )
    else:
        path.chmod(0o555)
    try:
        probe = path / "probe"
        try:
            probe.write_text("x")
        except OSError:
            yield path
        else:
            pytest.skip("cannot make a read-only directory here (root without mount)")
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], check=False)
        else:
            path.chmod(0o755)


def test_read_only_and_not_a_directory_are_one_line(run, readonly, tmp_path, capsys):
    ro = r"(read-only file system; write to a writable place|permission denied)"
    cases = [
        (["train", "--config", str(run.config), "--run-dir", str(readonly / "run")],
         rf"sciml train: error: run_dir {readonly}/run: cannot create or write it \((Read-only "
         r"file system|Permission denied)\); pass --run-dir"),
        (["simulate", "heat1d", "--out", str(readonly / "a.nc"), "--steps", "2"],
         rf"sciml simulate: error: {readonly}/a.nc: {ro}"),
        (["export", str(run.run), "--out", str(readonly / "st.h5")],
         rf"sciml export: error: {readonly}/st.h5: {ro}"),
        (["mri", "synthesize", "--out", str(readonly / "mri"), "--volumes", "1"],
         rf"sciml mri: error: {readonly}/mri: {ro}"),
    ]  # fmt: skip
    for args, pattern in cases:
        assert main(args) == 2, args
        assert __import__("re").fullmatch(pattern + ".*", _err(capsys)), args
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--config", str(run.config), "--run-dir", str(blocker)]) == 2
    assert _err(capsys) == (
        f"sciml train: error: run_dir {blocker}: is a file, not a directory; pass --run-dir (or "
        "run_dir=) with a directory path"
    )


def test_full_disk_is_refused_before_the_write(run, tmp_path, monkeypatch, capsys):
    import shutil as shutil_module

    real = shutil_module.disk_usage
    monkeypatch.setattr(
        shutil_module, "disk_usage", lambda p: real(p)._replace(free=200 * 1024)
    )  # 200 KiB free everywhere
    assert main(["export", str(run.run), "--out", str(tmp_path / "st.h5")]) == 2
    assert _err(capsys).startswith(
        f"sciml export: error: {tmp_path}/st.h5: no space left on the device (about 1."
    )
    assert main(["mri", "synthesize", "--out", str(tmp_path / "mri"), "--volumes", "4"]) == 2
    assert f"--out {tmp_path}/mri (4 volumes): no space left on the device" in _err(capsys)
    assert main(["simulate", "heat1d", "--out", str(tmp_path / "a.nc"), "--samples", "64",
                 "--grid", "4096", "--compress", "0"]) == 2  # fmt: skip
    assert "the file would take about 101 MiB uncompressed, but only 200 KiB is free" in _err(
        capsys
    )
    # train: the checkpoint that would not fit is refused, the earlier ones are kept
    run_dir = tmp_path / "run"
    shutil.copytree(run.run, run_dir)
    assert main(["train", "--config", str(run.config), "--run-dir", str(run_dir), "--resume",
                 "--set", "steps=6"]) == 2  # fmt: skip
    line = _err(capsys)
    assert f"{run_dir}/checkpoints: no space for the checkpoint of step 6" in line
    assert "the last checkpoint (step 4) is kept: free space there and continue with --resume" in (
        line
    )
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["2", "4"]
    assert not list(tmp_path.glob("**/.*.tmp"))


def _damage_chunks(path, sample):
    """Overwrite the middle of every compressed chunk of one trajectory."""
    with h5py.File(path) as f:
        infos = [f["u"].id.get_chunk_info_by_coord((sample, t, 0)) for t in range(6)]
    with open(path, "r+b") as fh:
        for info in infos:
            fh.seek(info.byte_offset + 2)
            fh.write(b"\xff" * max(info.size - 4, 1))


def test_damaged_chunk_mid_training_names_file_and_sample_and_resumes(run, tmp_path, capsys):
    data = tmp_path / "traj16.nc"
    shutil.copy(run.data, data)
    run_dir = tmp_path / "run"
    shutil.copytree(run.run, run_dir)
    config = _config(tmp_path / "cfg.yaml", data)
    good = data.read_bytes()
    _damage_chunks(data, sample=5)
    args = ["train", "--config", str(config), "--run-dir", str(run_dir), "--resume"]
    assert main([*args, "--set", "steps=16"]) == 2  # one epoch is 10 steps: sample 5 is read
    line = _err(capsys)
    assert line.startswith(f"sciml train: error: {data} variable 'u' (time ")
    assert ", sample 5: cannot read the stored data (" in line
    assert line.endswith(
        "that part of the file is damaged: regenerate or re-download the file (a training run "
        "keeps its checkpoints and continues with --resume)"
    )
    assert sorted(int(s) for s in os.listdir(run_dir / "checkpoints"))[-1] >= 4
    data.write_bytes(good)  # repaired
    assert main([*args, "--set", "steps=16"]) == 0
    assert "trained 16 steps" in capsys.readouterr().out


def test_inspect_damaged_metadata_is_one_line(run, tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    raw = bytearray(run.data.read_bytes())
    raw[300:364] = b"\xa5" * 64  # inside the root group's object header
    bad.write_bytes(bytes(raw))
    assert main(["inspect", str(bad)]) == 2
    line = _err(capsys)
    assert line.startswith(f"sciml inspect: error: {bad}: ")
    assert "re-download or regenerate it" in line and "\n" not in line


def test_damaged_newest_checkpoint_falls_back_with_one_warning(run, tmp_path, capsys, caplog):
    # Empty metadata file: export names it and uses the previous checkpoint.
    run_dir = tmp_path / "run"
    shutil.copytree(run.run, run_dir)
    meta = run_dir / "checkpoints" / "4" / "meta" / "metadata"
    meta.write_bytes(b"")
    out = tmp_path / "st.h5"
    assert main(["export", str(run_dir), "--out", str(out), "--which", "latest"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "sciml"]
    assert warnings == [
        f"{meta}: empty checkpoint metadata file (0 bytes); the checkpoint is damaged; "
        "falling back to the previous checkpoint"
    ]
    assert out.is_file()
    caplog.clear()
    # Damaged array store: --resume sets it aside, continues from step 2 and ends at step 6.
    manifest = run_dir / "checkpoints" / "4" / "state" / "manifest.ocdbt"
    meta.write_bytes((run.run / "checkpoints" / "4" / "meta" / "metadata").read_bytes())
    raw = bytearray(manifest.read_bytes())
    raw[len(raw) // 2 :] = b"\x13" * (len(raw) - len(raw) // 2)
    manifest.write_bytes(bytes(raw))
    args = ["train", "--config", str(run.config), "--run-dir", str(run_dir), "--resume"]
    assert main([*args, "--set", "steps=6"]) == 0
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "sciml"]
    assert warning.startswith(f"checkpoint {run_dir}/checkpoints/4: unreadable")
    assert f"moved to {run_dir}/damaged_checkpoints/4-" in warning
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["2", "4", "6"]  # 4 written anew
    # --resume where there is nothing to resume says so
    empty = tmp_path / "empty"
    assert main(["train", "--config", str(run.config), "--run-dir", str(empty), "--resume"]) == 2
    assert _err(capsys) == (
        f"sciml train: error: --resume: found no checkpoint to resume in {empty}/checkpoints "
        f"(run_dir '{empty}' does not exist); drop --resume to start a new run, or pass the "
        "--run-dir of the run to continue"
    )


def test_debug_keeps_the_traceback(run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FileExistsError, match="is a file, not a directory"):
        main(["train", "--config", str(run.config), "--run-dir", str(blocker), "--debug"])


def test_ctrl_c_stops_even_when_swallowed():
    from sciml import interrupt

    with interrupt.handling():
        try:  # raised inside a weakref callback or __del__: Python reports and drops it
            interrupt._handler(2, None)
        except KeyboardInterrupt:
            pass
        with pytest.raises(interrupt.Interrupted, match="SIGINT"):
            interrupt.check()  # the next safe point of the loop raises it again
    interrupt.check()  # handlers restored, state cleared
