"""`sciml export RUN_DIR`: a stepper trained through the loop round-trips to both artifact formats."""

import numpy as np
import pytest
from sciml.datasets import ArraySource

from sciml.cli import main
from sciml.stepper import load_jax, load_stepper
from sciml.train import ModelConfig, TrainConfig, fit, restore_model
from sciml.train.registry import build_model, build_task


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    kwargs = {
        "variables": ["u"],
        "dx": [0.5],
        "dt": 0.1,
        "integrator": "rk2",
        "grid_shape": [16],
        "network_kwargs": {"width": 4, "kernel_size": 3},
        "data_hash": "sha256:test",
        "units": {"u": "K", "x": "m", "t": "s"},
    }
    cfg = TrainConfig(
        model=ModelConfig(name="sciml.stepper.model:make_learned_stepper", kwargs=kwargs),
        steps=2,
        batch_size=8,
        log_every=1,
        run_dir=str(run / "r"),
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 1)).astype(np.float32)
    src = ArraySource({"x": x, "y": np.roll(x, 1, axis=1)})
    model = build_model(cfg.model.name, dict(kwargs), seed=0)
    fit(model, build_task("regression", {}), src, config=cfg)
    return run / "r"


def test_export_hdf5_matches_the_restored_model(run_dir, tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    loaded = load_stepper(out)
    model = restore_model(run_dir)
    z = np.random.default_rng(1).standard_normal((3, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.step(z), np.asarray(model.step(z)), rtol=2e-5, atol=2e-6)
    assert loaded.metadata["data_hash"] == "sha256:test" and loaded.units["x"] == "m"
    assert loaded.integrator == "rk2" and loaded.state_shape == (16, 1)


def test_export_swaps_integrator_and_refuses_overwrite(run_dir, tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert (
        main(["export", str(run_dir), "--out", str(out), "--integrator", "rk4", "--dt", "0.05"])
        == 0
    )
    loaded = load_stepper(out)
    assert loaded.integrator == "rk4" and loaded.dt == 0.05
    assert main(["export", str(run_dir), "--out", str(out)]) == 2
    assert "file exists; pass --overwrite" in capsys.readouterr().err


def test_export_jax(run_dir, tmp_path):
    out = tmp_path / "s.jaxexport"
    assert main(["export", str(run_dir), "--out", str(out), "--format", "jax-export"]) == 0
    exported, meta = load_jax(out)
    z = np.zeros((2, 16, 1), np.float32)
    assert exported.call(z).shape == (2, 16, 1) and meta["dt"] == 0.1


def test_export_bad_run_dir(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.h5")]) == 2
    assert "not a directory" in capsys.readouterr().err
