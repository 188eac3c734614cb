"""The cluster entry: `sciml train` under SLURM (srun) and Open MPI (mpirun) environment variables
finds the coordinator, the process count and its id without flags."""

import os
import socket
import subprocess
import sys

import jax
import pytest
import yaml

from sciml.train import distributed

CLUSTER_VARS = (
    "SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID",
    "SLURM_LOCALID", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_MCA_orte_hnp_uri", "PMI_SIZE", "PMI_RANK",
    "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID", "JAX_COORDINATOR_PORT",
)  # fmt: skip


@pytest.fixture
def calls(monkeypatch):
    """A clean environment; jax.distributed.initialize records its arguments instead."""
    for name in CLUSTER_VARS:
        monkeypatch.delenv(name, raising=False)
    recorded = []
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: recorded.append(kw))
    monkeypatch.setattr(jax.distributed, "is_initialized", lambda: False)
    return recorded


def test_slurm_step_gives_coordinator_count_and_id(calls, monkeypatch):
    env = {"SLURM_JOB_ID": "4242", "SLURM_STEP_NODELIST": "gpu[017-020],cpu01",
           "SLURM_NTASKS": "8", "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "3",
           "SLURM_LOCALID": "1"}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert distributed.initialize() is True
    # port as JAX derives it: job id mod 4096 in the top of the ephemeral range
    assert calls == [{"coordinator_address": f"gpu017:{4242 % 4096 + 61440}",
                      "num_processes": 4, "process_id": 3}]  # fmt: skip
    monkeypatch.setenv("JAX_COORDINATOR_PORT", "5000")
    assert distributed.cluster_environment()["coordinator"] == "gpu017:5000"
    monkeypatch.delenv("SLURM_STEP_NODELIST")  # the batch script itself: one process
    assert distributed.cluster_environment() is None
    assert distributed.initialize() is False


def test_open_mpi_and_pmi(calls, monkeypatch):
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_MCA_orte_hnp_uri", "1531576320.0;tcp://10.96.0.1,10.148.0.1:34911")
    assert distributed.initialize() is True
    port = 1531576320 // 2**12 % 2**12 + 61440
    assert calls[-1] == {"coordinator_address": f"10.96.0.1:{port}", "num_processes": 2,
                         "process_id": 1}  # fmt: skip
    for name in ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_MCA_orte_hnp_uri"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "0")
    with pytest.raises(ValueError, match=r"distributed \(MPICH/PMI\): expected a coordinator, a "
                       r"process count and a process id, found coordinator=None, num_processes=2, "
                       r"process_id=0; pass the missing ones \(--coordinator HOST:PORT"):  # fmt: skip
        distributed.initialize()
    assert distributed.initialize("10.0.0.1:1234") is True  # the flag completes the launch
    assert calls[-1] == {"coordinator_address": "10.0.0.1:1234", "num_processes": 2,
                         "process_id": 0}  # fmt: skip


CONFIG = {
    "model": {"name": "tendency", "kwargs": {"channels": 1, "width": 4, "kernel_size": 3}},
    "data": {"train": {"kind": "synthetic_heat", "kwargs": {"n_samples": 16, "n": 16,
                                                            "n_modes": 3}}},
    "optim": {"learning_rate": 1.0e-2},
    "steps": 3,
    "batch_size": 4,
    "log_every": 1,
    "checkpoint_every": 3,
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.multiprocess
def test_sciml_train_under_srun_variables_needs_no_flags(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in CLUSTER_VARS}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1",
               SLURM_JOB_ID="77", SLURM_STEP_NODELIST="127.0.0.1", SLURM_NTASKS="2",
               JAX_COORDINATOR_PORT=str(_free_port()))  # fmt: skip
    command = [sys.executable, "-m", "sciml.cli", "train", "--config", str(cfg), "--run-dir",
               str(run_dir)]  # fmt: skip
    procs = [
        subprocess.Popen(command, env={**env, "SLURM_PROCID": str(i), "SLURM_LOCALID": str(i)},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "trained 3 steps" in outputs[0] and "trained 3 steps" not in outputs[1]
    info = yaml.safe_load((run_dir / "run_info.json").read_text())
    assert info["process_count"] == 2 and info["device_count"] == 2
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["3"]
