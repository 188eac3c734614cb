"""D3M through `sciml train` (YAML config, batch-norm statistics in checkpoints) and
`sciml cosmo predict` (file in, displacements and densities out, one-line errors)."""

import h5py
import numpy as np
import pytest
import yaml
from flax import nnx

from sciml.cli import main

CONFIG = {
    "model": {"name": "sciml.cosmo.model:d3m", "kwargs": {"width": 2, "depth": 1}},
    "task": {
        "name": "sciml.cosmo.task:D3MTask",
        "kwargs": {"input_key": "za", "target_key": "pm"},
    },
    "data": {"train": {"kind": "h5", "kwargs": {"fields": ["za", "pm"]}}},
    "optim": {"name": "adamw", "learning_rate": 1.0e-3, "weight_decay": 1.0e-4},
    "mesh": {"data": 1, "space": 1},
    "steps": 2,
    "batch_size": 2,
    "log_every": 1,
    "seed": 0,
}


def _write(path, n=8, samples=4, box=32.0):
    rng = np.random.default_rng(0)
    za = rng.normal(size=(samples, n, n, n, 3)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("za", data=za)
        f.create_dataset("pm", data=1.2 * za)
        f.attrs["box"] = box
        f.attrs["a"] = 1.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("d3m")
    data = root / "sims.h5"
    _write(data)
    cfg = dict(CONFIG)
    cfg["data"] = {"train": {"kind": "h5", "kwargs": {"path": str(data), "fields": ["za", "pm"]}}}
    (root / "d3m.yaml").write_text(yaml.safe_dump(cfg))
    run = root / "run"
    assert main(["train", "--config", str(root / "d3m.yaml"), "--run-dir", str(run)]) == 0
    return root, data, run


def test_train_from_config_carries_batch_norm_statistics(trained):
    _, _, run = trained
    from sciml.train import restore_model

    model = restore_model(run)
    stats = nnx.to_flat_state(nnx.state(model, nnx.BatchStat))
    means = [np.asarray(v.get_value()) for p, v in stats if p[-1] == "mean"]
    assert means and all(np.abs(m).max() > 0 for m in means)  # initialised at zero


def test_cosmo_predict_writes_displacements_and_densities(trained, tmp_path):
    _, data, run = trained
    from sciml.cosmo import predict
    from sciml.metrics.spectra3d import displacement_density
    from sciml.train import restore_model

    out = tmp_path / "pred.h5"
    assert (
        main(["cosmo", "predict", "--model", str(run), "--data", str(data), "--out", str(out)]) == 0
    )
    with h5py.File(out, "r") as f, h5py.File(data, "r") as g:
        disp, dens = f["d3m"][...], f["density"][...]
        za = g["za"][...]
        assert f.attrs["box"] == 32.0 and f.attrs["a"] == 1.0
    assert disp.shape == (4, 8, 8, 8, 3) and dens.shape == (4, 8, 8, 8)
    want = predict(restore_model(run), za)
    np.testing.assert_allclose(disp, want, rtol=0, atol=1e-6 * np.abs(want).max())
    np.testing.assert_allclose(dens[1], displacement_density(disp[1], 32.0), atol=1e-5)


def test_cosmo_predict_bad_input(trained, tmp_path, capsys):
    _, _, run = trained
    odd = tmp_path / "odd.h5"
    _write(odd, n=5, samples=1)
    code = main(
        [
            "cosmo",
            "predict",
            "--model",
            str(run),
            "--data",
            str(odd),
            "--out",
            str(tmp_path / "o.h5"),
        ]
    )
    assert code == 2
    assert "multiple of 2 cells" in capsys.readouterr().err
    nan = tmp_path / "nan.h5"
    _write(nan, samples=1)
    with h5py.File(nan, "a") as f:
        f["za"][0, 1, 1, 1, 0] = np.nan
    code = main(
        [
            "cosmo",
            "predict",
            "--model",
            str(run),
            "--data",
            str(nan),
            "--out",
            str(tmp_path / "o.h5"),
        ]
    )
    assert code == 2
    assert "NaN/Inf displacement values" in capsys.readouterr().err
    code = main(
        [
            "cosmo",
            "predict",
            "--model",
            str(run),
            "--data",
            str(tmp_path / "missing.h5"),
            "--out",
            str(tmp_path / "o.h5"),
        ]
    )
    assert code == 2 and "not found" in capsys.readouterr().err
