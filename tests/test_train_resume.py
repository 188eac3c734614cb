"""Checkpoints and the run directory: SIGKILL and resume, divergence guard, keep-latest-and-best,
incompatible checkpoints, unwritable run directories, and the `sciml train` command."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from flax import nnx

from sciml.cli import main
from sciml.nn import Tendency
from sciml.train import (
    DivergenceError,
    RegressionTask,
    SyntheticHeat,
    TrainConfig,
    fit,
    load_config,
    read_metrics,
    restore_model,
    train,
)
from sciml.train.checkpoint import Checkpoints

CONFIG = {
    "model": {"name": "tendency", "kwargs": {"channels": 1, "width": 4, "kernel_size": 3}},
    "data": {
        "train": {"kind": "synthetic_heat", "kwargs": {"n_samples": 32, "n": 16, "n_modes": 3}},
        "eval": {
            "kind": "synthetic_heat",
            "kwargs": {"n_samples": 8, "n": 16, "n_modes": 3, "seed": 1},
        },
    },
    "optim": {"learning_rate": 1.0e-2, "schedule": "cosine", "warmup_steps": 3},
    "steps": 24,
    "batch_size": 8,
    "log_every": 2,
    "eval_every": 6,
    "checkpoint_every": 4,
    "keep_checkpoints": 2,
}

WORKER = """
import sys, time
from sciml.train import load_config, train
config = load_config(sys.argv[1], ["run_dir=" + sys.argv[2]])
# Slow each step down so that the parent can kill the process in the middle of the run.
train(config, callbacks=[lambda step, records: time.sleep(0.15)])
"""


def _params(model):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(model, nnx.Param))]


def _env():
    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    return env


def test_sigkill_and_resume_matches_uninterrupted_run(tmp_path):
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump(CONFIG))
    (tmp_path / "worker.py").write_text(WORKER)
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "worker.py"), str(cfg_path), str(run_dir)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ckpt_dir = run_dir / "checkpoints"
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            done = [d for d in (os.listdir(ckpt_dir) if ckpt_dir.is_dir() else []) if d.isdigit()]
            if any(int(d) >= 8 for d in done):
                break
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            time.sleep(0.02)
        else:
            pytest.fail("the worker wrote no checkpoint in time")
        assert proc.poll() is None, "the worker finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    killed_at = max(int(d) for d in os.listdir(ckpt_dir) if d.isdigit())
    assert 8 <= killed_at < CONFIG["steps"]

    # Resume through the command line.
    out = subprocess.run(
        [sys.executable, "-m", "sciml.cli", "train", "--config", str(cfg_path),
         "--run-dir", str(run_dir), "--resume"],
        env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"trained {CONFIG['steps']} steps" in out.stdout

    # The uninterrupted run, in this process (same 8 devices).
    ref = train(load_config(cfg_path, [f"run_dir={tmp_path / 'ref'}"]))
    resumed = restore_model(run_dir, which="latest")
    for a, b in zip(_params(resumed), _params(ref.model)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    got = [r for r in read_metrics(run_dir) if r["split"] == "train"]
    want = [r for r in ref.history if r["split"] == "train"]
    assert [r["step"] for r in got] == [r["step"] for r in want] == list(range(2, 25, 2))
    np.testing.assert_allclose([r["loss"] for r in got], [r["loss"] for r in want], rtol=1e-6)
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["resumed_from_step"] == killed_at and info["device_count"] == 8
    assert load_config(run_dir / "config.yaml").run_dir == str(run_dir)
    assert list((run_dir / "tensorboard").iterdir())


class _NaNAfter(RegressionTask):
    """Regression whose loss turns NaN from the 5th update on (step index 4)."""

    def loss(self, model, batch, *, key, step):
        loss, aux = super().loss(model, batch, key=key, step=step)
        return jnp.where(step >= 4, jnp.nan, loss), aux


def _small_config(run_dir, **kw):
    base = dict(
        steps=8, batch_size=8, log_every=1, checkpoint_every=2, keep_checkpoints=5,
        optim={"learning_rate": 1e-2}, run_dir=str(run_dir),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def _model(width=4):
    return Tendency(1, width=width, kernel_size=3, rngs=nnx.Rngs(0))


@pytest.fixture(scope="module")
def heat():
    return SyntheticHeat(32, 16, n_modes=3, seed=0), SyntheticHeat(16, 16, n_modes=3, seed=1)


def test_divergence_stops_with_step_and_keeps_last_good_checkpoint(tmp_path, heat):
    run_dir = tmp_path / "run"
    with pytest.raises(
        DivergenceError,
        match=r"loss is nan at step 5; the last good checkpoint is "
        r"step 4 in .*checkpoints",
    ):
        fit(_model(), _NaNAfter(), heat[0], config=_small_config(run_dir))
    assert Checkpoints(run_dir / "checkpoints", read_only=True).all_steps() == [2, 4]
    model = restore_model(run_dir, _model(), which="latest")
    assert all(np.isfinite(p).all() for p in _params(model))
    assert [r["step"] for r in read_metrics(run_dir)] == [1, 2, 3, 4]


def test_keeps_latest_and_best_and_rejects_incompatible_model(tmp_path, heat):
    run_dir = tmp_path / "run"
    # best_mode=max on the eval loss makes an early checkpoint the "best" one.
    cfg = _small_config(run_dir, keep_checkpoints=1, eval_every=2, best_mode="max")
    res = fit(_model(), RegressionTask(), heat[0], eval_source=heat[1], config=cfg)
    evals = [r for r in res.history if r["split"] == "eval"]
    best = max(evals, key=lambda r: r["loss"])["step"]
    assert best != 8 and res.best_step == best
    assert Checkpoints(run_dir / "checkpoints", read_only=True).all_steps() == sorted({best, 8})
    best_model = restore_model(run_dir, _model(), which="best")
    latest_model = restore_model(run_dir, _model(), which="latest")
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(nnx.state(latest_model)))
    for a, b in zip(_params(latest_model), _params(res.model)):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(_params(best_model)[1], _params(latest_model)[1])

    with pytest.raises(
        ValueError,
        match=r"params 'convs.0.conv.bias' has shape \(4,\) in the "
        r"checkpoint but \(8,\) in the model",
    ):
        fit(_model(width=8), RegressionTask(), heat[0], config=cfg.replace(steps=10))
    with pytest.raises(ValueError, match=r"has shape \(4,\) in the checkpoint but \(8,\)"):
        restore_model(run_dir, _model(width=8))
    with pytest.raises(
        ValueError,
        match=r"best_metric: 'psnr' is not an evaluation metric; "
        r"available: loss, mse, nrmse, rmse",
    ):
        fit(_model(), RegressionTask(), heat[0], eval_source=heat[1],
            config=cfg.replace(run_dir=None, best_metric="psnr"))  # fmt: skip


def test_unwritable_run_dir(tmp_path, heat):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(
        ValueError,
        match=r"run_dir .*file.txt/run: cannot create or write it \(Not a directory\); pass "
        r"--run-dir",
    ):
        fit(_model(), RegressionTask(), heat[0], config=_small_config(blocker / "run"))


def test_cli_end_to_end_and_errors(tmp_path, capsys):
    run_dir = tmp_path / "cli"
    args = ["train", "--config", "examples/configs/tendency_heat.yaml", "--run-dir", str(run_dir),
            "--set", "steps=4", "--set", "optim.warmup_steps=0", "--set", "eval_every=2",
            "--set", "data.train.kwargs.n_samples=64",
            "--set", "data.eval.kwargs.n_samples=32"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr()
    assert "trained 4 steps" in out.out
    assert "step/s" not in out.err and "%|" not in out.err  # no progress bar without a terminal
    records = read_metrics(run_dir)
    assert {r["split"] for r in records} == {"train", "eval"}
    assert all({"step", "split", "loss"} <= set(r) for r in records)
    assert (run_dir / "config.yaml").is_file() and (run_dir / "run_info.json").is_file()
    # Normalisation statistics of the training data are stored with the run (streaming pass).
    from sciml.datasets import load_stats

    from sciml.train.registry import build_source

    cfg = load_config("examples/configs/tendency_heat.yaml", args[6::2])
    x = np.stack([s["x"] for s in build_source(cfg.data.train.kind, dict(cfg.data.train.kwargs))])
    stats = load_stats(run_dir / "stats" / "x.json")
    assert stats["count"] == x.shape[0] * x.shape[1]
    np.testing.assert_allclose(stats["mean"], x.mean(axis=(0, 1)), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(stats["std"], x.std(axis=(0, 1)), rtol=1e-5)
    assert restore_model(run_dir)(np.zeros((1, 64, 1), np.float32)).shape == (1, 64, 1)
    # Without --resume an existing run is not overwritten.
    assert main(args) == 2
    assert "already holds checkpoints (latest step 4); pass --resume" in capsys.readouterr().err
    assert (
        main(["train", "--config", "examples/configs/tendency_heat.yaml", "--set", "optim.lr=1"])
        == 2
    )
    assert "unknown key 'optim.lr'" in capsys.readouterr().err
    bad = ["train", "--config", "examples/configs/tendency_heat.yaml", "--run-dir",
           str(tmp_path / "div"), "--set", "optim.learning_rate=1e30", "--set", "steps=3",
           "--set", "optim.warmup_steps=0",
           "--set", "optim.clip_norm=null"]  # fmt: skip
    assert main(bad) == 3
    assert "training diverged" in capsys.readouterr().err


class _DropoutBatchNormNet(nnx.Module):
    """Pointwise net with module-held state: BatchNorm statistics and a Dropout RNG stream."""

    def __init__(self, rngs):
        self.lin = nnx.Linear(1, 8, rngs=rngs)
        self.bn = nnx.BatchNorm(8, rngs=rngs)
        self.drop = nnx.Dropout(0.3, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(self.drop(self.bn(jax.nn.relu(self.lin(x)))))


def test_resume_restores_batch_stats_and_module_rng_streams(tmp_path, heat):
    """Checkpoint at step 3, delete step 6, resume: identical to the uninterrupted 6 steps."""
    import shutil

    cfg = _small_config(tmp_path / "full", steps=6, checkpoint_every=3)
    full = fit(_DropoutBatchNormNet(nnx.Rngs(0)), RegressionTask(), heat[0], config=cfg)
    shutil.copytree(tmp_path / "full", tmp_path / "cut")
    shutil.rmtree(tmp_path / "cut" / "checkpoints" / "6")
    cut = fit(_DropoutBatchNormNet(nnx.Rngs(0)), RegressionTask(), heat[0],
              config=cfg.replace(run_dir=str(tmp_path / "cut")))  # fmt: skip
    losses = [[r["loss"] for r in res.history] for res in (full, cut)]
    np.testing.assert_array_equal(losses[1], losses[0])
    stats = [nnx.to_pure_dict(nnx.state(res.model, nnx.BatchStat))["bn"] for res in (full, cut)]
    np.testing.assert_array_equal(stats[1]["mean"], stats[0]["mean"])
    assert np.abs(stats[0]["mean"]).max() > 0  # the statistics were updated and restored
