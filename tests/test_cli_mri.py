"""`sciml mri synthesize | reconstruct | evaluate` through the CLI dispatcher, in-process."""

import json
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pytest

from sciml.cli import main
from sciml.mri import evaluate_directories, read_volume, zero_filled


def test_synthesize_then_evaluate_zero_filled(tmp_path, capsys):
    val, test, recon = tmp_path / "val", tmp_path / "test", tmp_path / "recon"
    common = ["--volumes", "2", "--slices", "2", "--shape", "32", "24", "--recon-size", "16", "16"]
    assert main(["mri", "synthesize", "--out", str(val), "--split", "val", *common]) == 0
    assert main(["mri", "synthesize", "--out", str(test), "--split", "test", *common]) == 0
    assert "wrote 2 single-coil test volumes" in capsys.readouterr().out
    # Zero-filled reconstructions of the (already under-sampled) test files.
    recon.mkdir()
    for path in sorted(test.glob("*.h5")):
        image = np.asarray(zero_filled(read_volume(path)["kspace"], (16, 16), multicoil=False))
        with h5py.File(recon / path.name, "w") as f:
            f["reconstruction"] = image
    out_json = tmp_path / "metrics.json"
    argv = ["mri", "evaluate", "--target", str(val), "--recon", str(recon), "--json", str(out_json)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("2 volumes: MSE = ") and "SSIM = " in printed
    saved = json.loads(out_json.read_text())
    direct = evaluate_directories(val, recon)
    np.testing.assert_allclose(saved["mean"]["SSIM"], direct["mean"]["SSIM"], rtol=1e-12)
    # One spread, labelled the same way in both: the JSON std is 1 sigma, the table 2 std.
    np.testing.assert_allclose(saved["std"]["SSIM"], direct["std"]["SSIM"], rtol=1e-12)
    assert "1 sigma" in saved["spread"] and "+/- 2 std" in saved["spread"]
    assert printed.rstrip().endswith("(+/- 2 std over volumes)")
    assert f"+/- {2 * direct['std']['SSIM']:.4g}" in printed
    # 4x under-sampling loses information: zero-filled is imperfect but correlated.
    assert 0.0 < direct["mean"]["NMSE"] < 0.5 and 0.2 < direct["mean"]["SSIM"] < 1.0


def test_cli_errors_are_one_line(tmp_path, capsys):
    argv = ["mri", "synthesize", "--out", str(tmp_path / "a"), "--shape", "32", "32"]
    assert main([*argv, "--recon-size", "40", "16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "recon_size: expected 0 < h <= 32" in err

    target = tmp_path / "t"
    assert main(["mri", "synthesize", "--out", str(target), "--volumes", "1", "--slices", "1",
                 "--shape", "16", "16", "--recon-size", "8", "8"]) == 0  # fmt: skip
    (tmp_path / "r").mkdir()
    capsys.readouterr()
    assert main(["mri", "evaluate", "--target", str(target), "--recon", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "missing 1 of the 1 volumes" in err


def test_reconstruct_calls_reconstruct_directory(tmp_path, monkeypatch, capsys):
    calls = []
    fake = types.ModuleType("sciml.mri.reconstruct")

    def reconstruct_directory(model_run_dir, data_dir, out_dir, **kwargs):
        calls.append((model_run_dir, data_dir, out_dir, kwargs))
        return [Path(out_dir) / "file1000001.h5"]

    fake.reconstruct_directory = reconstruct_directory
    monkeypatch.setitem(sys.modules, "sciml.mri.reconstruct", fake)
    argv = ["mri", "reconstruct", "--model", "runs/u", "--data", "d", "--out", str(tmp_path)]
    assert main([*argv, "--overwrite"]) == 0
    kwargs = {"which": "best", "batch_size": 4, "overwrite": True}
    assert calls == [(Path("runs/u"), Path("d"), tmp_path, kwargs)]
    assert "wrote 1 reconstructions" in capsys.readouterr().out


def test_mri_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["mri", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "synthesize" in out and "reconstruct" in out and "evaluate" in out


def test_reconstruct_checks_the_volumes_before_loading_the_model(tmp_path, capsys):
    """A multi-coil volume for a single-coil run is refused from the file's k-space shape alone:
    the run directory here has no checkpoint at all, so nothing was restored."""
    from sciml.train import TrainConfig
    from sciml.train.config import dump_config

    run = tmp_path / "run"
    run.mkdir()
    source = {"kind": "fastmri", "kwargs": {"root": str(tmp_path), "challenge": "singlecoil",
                                            "model": "unet"}}  # fmt: skip
    cfg = {"model": {"name": "sciml.mri.models:fastmri_unet"}, "data": {"train": source}}
    dump_config(TrainConfig.from_dict(cfg), run / "config.yaml")
    data = tmp_path / "mc"
    assert main(["mri", "synthesize", "--out", str(data), "--volumes", "1", "--slices", "1",
                 "--coils", "2", "--shape", "16", "16", "--recon-size", "8", "8"]) == 0  # fmt: skip
    capsys.readouterr()
    argv = [
        "mri",
        "reconstruct",
        "--model",
        str(run),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "kspace has shape (1, 2, 16, 16)" in err and "singlecoil (slices, H, W)" in err


def test_mri_train_on_synthesized_files_and_rerun_its_config(tmp_path, capsys):
    """`sciml mri train --data DIR` trains a U-Net on fastMRI-format files; the run's config.yaml
    names a data builder, so `sciml train --config RUN/config.yaml` re-runs it; a challenge that
    does not match the files is refused before training."""
    import yaml

    data = tmp_path / "train"
    assert main(["mri", "synthesize", "--out", str(data), "--volumes", "2", "--slices", "2",
                 "--shape", "32", "32", "--recon-size", "16", "16"]) == 0  # fmt: skip
    run = tmp_path / "run"
    argv = ["mri", "train", "--data", str(data), "--model", "unet", "--run-dir", str(run),
            "--steps", "3", "--chans", "4", "--pools", "2", "--batch-size", "2"]  # fmt: skip
    assert main(argv) == 0
    assert "trained unet 3 steps" in capsys.readouterr().out
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["data"]["train"]["kind"] == "fastmri"
    assert cfg["model"]["kwargs"]["chans"] == 4 and cfg["optim"]["name"] == "rmsprop"
    from sciml.mri.reconstruct import read_meta

    assert read_meta(run)["kind"] == "unet" and read_meta(run)["challenge"] == "singlecoil"
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line)["split"] == "train"]  # fmt: skip
    assert losses and all(np.isfinite(losses))
    # Re-runnable: `sciml train --config RUN/config.yaml` builds the same data and model
    # (checked without a second training, which costs a compilation).
    from sciml.train import load_config
    from sciml.train.registry import build_source

    again = load_config(run / "config.yaml")
    src = build_source(again.data.train.kind, dict(again.data.train.kwargs))
    assert len(src) == 4 and set(src.element_spec) >= {"image", "target"}
    bad = [*argv[:-10], "--challenge", "multicoil", "--run-dir", str(tmp_path / "bad")]
    assert main([*bad, "--model", "varnet"]) == 2
    assert "is not multicoil" in capsys.readouterr().err
