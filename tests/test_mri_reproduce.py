"""reproduce_fastmri and reconstruct_directory end to end on tiny synthetic volumes."""

import json

import h5py
import numpy as np
import pytest
from flax import nnx

from sciml.experiments.fastmri import reproduce as reproduce_fastmri
from sciml.mri.evaluate import evaluate_directories
from sciml.mri.io import list_volumes
from sciml.mri.masks import mask_func, seed_from_name
from sciml.mri.reconstruct import reconstruct_directory, reconstruct_unet_volume
from sciml.mri.synthesize import synthesize_dataset
from sciml.mri.transforms import apply_mask, zero_filled

TINY = {
    "shape": (32, 32),
    "recon_size": (24, 24),
    "slices": 2,
    "train_volumes": 2,
    "val_volumes": 2,
    "unet_chans": 2,
    "unet_pools": 1,
    "unet_steps": 2,
    "batch_size": 2,
    "varnet": True,
    "coils": 2,
    "varnet_cascades": 1,
    "varnet_chans": 2,
    "varnet_pools": 1,
    "varnet_sens_chans": 2,
    "varnet_sens_pools": 1,
    "varnet_steps": 2,
    "varnet_batch_size": 1,
    "varnet_lr": 3e-4,
    "cs_iters": 10,
}


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("fastmri")
    summary = reproduce_fastmri(out, quick=True, seed=0, settings=TINY)
    return out, summary


def test_reproduction_writes_summary_table_and_figures(reproduction):
    out, summary = reproduction
    assert json.loads((out / "summary.json").read_text()) == summary
    for data, methods in (
        ("singlecoil", ("zero_filled", "unet")),
        ("multicoil", ("zero_filled", "varnet")),
    ):
        for method in methods:
            for acc in ("4x", "8x"):
                r = summary["results"][data][method][acc]
                assert set(r) == {"NMSE", "PSNR", "SSIM"}
                assert all(np.isfinite(r[m]["mean"]) for m in r)
    un, zf = (
        summary["results"]["singlecoil"]["unet"],
        summary["results"]["singlecoil"]["zero_filled"],
    )
    margin = summary["margins"]["unet_vs_zero_filled"]["8x"]
    np.testing.assert_allclose(margin["PSNR"], un["8x"]["PSNR"]["mean"] - zf["8x"]["PSNR"]["mean"])
    np.testing.assert_allclose(margin["NMSE"], zf["8x"]["NMSE"]["mean"] - un["8x"]["NMSE"]["mean"])
    table = (out / "results.md").read_text().splitlines()
    assert len(table) == 2 + 8 + 2  # zero-filled and network per acceleration, plus the TV rows
    assert any("| singlecoil | 4x | U-Net |" in line for line in table)
    assert any("| singlecoil | 8x | TV (CS) |" in line for line in table)
    tv = summary["results"]["singlecoil"]["tv"]["4x"]
    assert tv["weight"] > 0 and all(np.isfinite(tv[m]["mean"]) for m in ("NMSE", "PSNR", "SSIM"))
    assert any("| multicoil | 8x | VarNet |" in line for line in table)
    for name in ("fastmri_reconstructions.png", "fastmri_varnet_reconstructions.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        reproduce_fastmri(out, quick=True, seed=0, settings=TINY)
    with pytest.raises(ValueError, match=r"settings: unknown keys \['steps'\]"):
        reproduce_fastmri(out / "x", quick=True, settings={"steps": 3})


def test_reconstruct_directory_restores_the_run_and_matches_the_summary(reproduction, tmp_path):
    out, summary = reproduction
    val = out / "data" / "singlecoil_val"
    # the run's config.yaml describes its data pipeline (no side file); reconstruct reads it
    from sciml.mri.reconstruct import read_meta
    from sciml.train import run_config

    data = run_config(out / "runs" / "unet").data.train
    assert data.kind == "fastmri" and not (out / "runs" / "unet" / "mri.json").exists()
    assert data.kwargs["mask"] == {
        "kind": "random", "center_fractions": [0.08, 0.04], "accelerations": [4, 8]
    }  # fmt: skip
    assert read_meta(out / "runs" / "unet") == {
        "kind": "unet",
        "challenge": "singlecoil",
        "mask": {"kind": "random", "center_fractions": [0.08], "accelerations": [4]},
    }
    assert read_meta(out / "runs" / "varnet")["challenge"] == "multicoil"
    written = reconstruct_directory(out / "runs" / "unet", val, tmp_path / "recon")
    assert [p.name for p in written] == [p.name for p in list_volumes(val)]
    with h5py.File(written[0], "r") as f:
        assert f["reconstruction"].shape == (2, 24, 24)
        assert f["reconstruction"].dtype == np.float32
    assert not list((tmp_path / "recon").glob(".*tmp"))
    # The restored checkpoint reproduces the in-memory model's 4x metrics (same seeded masks).
    result = evaluate_directories(val, tmp_path / "recon", challenge="singlecoil")
    expected = summary["results"]["singlecoil"]["unet"]["4x"]
    for name in ("NMSE", "PSNR", "SSIM"):
        np.testing.assert_allclose(result["mean"][name], expected[name]["mean"], rtol=1e-4)
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        reconstruct_directory(out / "runs" / "unet", val, tmp_path / "recon")
    with pytest.raises(FileNotFoundError, match=r"model_run_dir .*not a directory"):
        reconstruct_directory(tmp_path / "missing", val, tmp_path / "recon2")


class _Identity(nnx.Module):
    def __call__(self, x):
        return x


def test_unet_reconstruction_is_denormalised(tmp_path):
    paths = synthesize_dataset(
        tmp_path, volumes=1, slices=2, shape=(32, 32), recon_size=(24, 24), split="val"
    )
    masker = mask_func("random", [0.08], [4])
    recon = reconstruct_unet_volume(
        _Identity(), paths[0], challenge="singlecoil", masker=masker, batch_size=3
    )["reconstruction"]
    with h5py.File(paths[0], "r") as f:
        kspace = np.asarray(f["kspace"])
    masked, _, _ = apply_mask(kspace, masker, seed=seed_from_name(paths[0].name))
    zf = np.asarray(zero_filled(masked, (24, 24), multicoil=False))
    # The identity network returns the normalised, clamped input; de-normalised it is the
    # zero-filled image wherever the clamp at +-6 std did not act.
    z = (zf - zf.mean((1, 2), keepdims=True)) / zf.std((1, 2), ddof=1, keepdims=True)
    inside = np.abs(z) < 5.9
    assert inside.mean() > 0.9
    np.testing.assert_allclose(recon[inside], zf[inside], rtol=1e-4, atol=1e-4 * zf.max())
