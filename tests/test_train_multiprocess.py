"""Two processes on 127.0.0.1 (jax.distributed, gloo collectives on CPU) train with the same
losses as one process with the same global batch; each reads only its half of every batch."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import yaml

from sciml.train import load_config, read_metrics, train

CONFIG = {
    "model": {"name": "tendency", "kwargs": {"channels": 1, "width": 4, "kernel_size": 3}},
    "data": {
        "train": {"kind": "synthetic_heat", "kwargs": {"n_samples": 32, "n": 16, "n_modes": 3}},
        "eval": {
            "kind": "synthetic_heat",
            "kwargs": {"n_samples": 8, "n": 16, "n_modes": 3, "seed": 1},
        },
    },
    "optim": {"learning_rate": 1.0e-2},
    "steps": 5,
    "batch_size": 8,
    "log_every": 1,
    "eval_every": 5,
    "checkpoint_every": 5,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.multiprocess
def test_two_processes_match_one(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump(CONFIG))
    run_dir = tmp_path / "two"
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    # Two local devices per process: a 4-device mesh over 2 hosts.
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    port = _free_port()
    command = [sys.executable, "-m", "sciml.cli", "train", "--config", str(cfg_path),
               "--run-dir", str(run_dir), "--coordinator", f"127.0.0.1:{port}",
               "--num-processes", "2", "--process-id"]  # fmt: skip
    procs = [
        subprocess.Popen(
            [*command, str(i)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for i in range(2)
    ]
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=300)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    assert "trained 5 steps" in outputs[0] and "trained 5 steps" not in outputs[1]

    # One process, 8 devices, the same global batch of 8.
    ref = train(load_config(cfg_path, [f"run_dir={tmp_path / 'one'}"]))
    two = read_metrics(run_dir)
    for split in ("train", "eval"):
        got = [r for r in two if r["split"] == split]
        want = [r for r in ref.history if r["split"] == split]
        assert [r["step"] for r in got] == [r["step"] for r in want]
        assert len(got) == (5 if split == "train" else 1)
        np.testing.assert_allclose([r["loss"] for r in got], [r["loss"] for r in want], rtol=1e-5)
    import json

    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["process_count"] == 2 and info["device_count"] == 4
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["5"]
