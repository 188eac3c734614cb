"""Compressed-sensing baselines on synthetic phantoms: better than zero-filled on every metric,
the reconstruct command's --method, and one-line errors."""

import h5py
import numpy as np
import pytest

from sciml.mri.cs import cs_baseline, cs_reconstruct
from sciml.mri.evaluate import evaluate_volume
from sciml.mri.io import list_volumes
from sciml.mri.masks import mask_func, seed_from_name
from sciml.mri.synthesize import synthesize_dataset
from sciml.mri.transforms import apply_mask, zero_filled

COMMON = {"shape": (64, 64), "recon_size": (48, 48), "slices": 2}


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    root = tmp_path_factory.mktemp("cs")
    for coils in (1, 4):
        synthesize_dataset(root / f"c{coils}" / "train", volumes=1, seed=0, coils=coils, **COMMON)
        synthesize_dataset(
            root / f"c{coils}" / "val", volumes=2, seed=10_000, coils=coils, split="val", **COMMON
        )
    return root


def zero_filled_metrics(val, acc, cf, multicoil):
    masker = mask_func("random", [cf], [acc])
    per = []
    for path in list_volumes(val):
        with h5py.File(path, "r") as f:
            kspace = np.asarray(f["kspace"])
            target = np.asarray(f["reconstruction_rss" if multicoil else "reconstruction_esc"])
        masked, _, _ = apply_mask(kspace, masker, seed=seed_from_name(path.name))
        recon = np.asarray(zero_filled(masked, target.shape[-2:], multicoil=multicoil))
        per.append(evaluate_volume(target, recon))
    return {m: float(np.mean([v[m] for v in per])) for m in ("NMSE", "PSNR", "SSIM")}


@pytest.mark.parametrize(
    ("coils", "method", "weights"),
    [(1, "tv", (0.01, 0.03)), (1, "l1-wavelet", (0.001,)), (4, "tv", (0.01, 0.03))],
)
def test_cs_beats_zero_filled_on_every_metric(phantoms, coils, method, weights):
    d = phantoms / f"c{coils}"
    rows = cs_baseline(
        d / "train", d / "val", method=method, accelerations=((4, 0.08),), weights=weights
    )
    row = rows["4x"]
    assert row["weight"] in weights and set(row["tuning"]) == set(weights)
    zf = zero_filled_metrics(d / "val", 4, 0.08, coils > 1)
    assert row["NMSE"]["mean"] < 0.8 * zf["NMSE"], (row, zf)
    assert row["PSNR"]["mean"] > zf["PSNR"] + 1.0, (row, zf)
    assert row["SSIM"]["mean"] > zf["SSIM"] + 0.05, (row, zf)


def test_reconstruct_command_classical_methods(phantoms, tmp_path, capsys):
    from sciml.cli import main
    from sciml.mri.evaluate import evaluate_directories

    val = phantoms / "c1" / "val"
    for method in ("zero-filled", "tv"):
        out = tmp_path / method
        argv = ["mri", "reconstruct", "--method", method, "--data", str(val), "--out", str(out)]
        assert main([*argv, "--weight", "0.01"]) == 0
        result = evaluate_directories(val, out, challenge="singlecoil")
        assert result["count"] == 2
    assert main(["mri", "reconstruct", "--data", str(val), "--out", str(tmp_path / "x")]) == 2
    assert "--model: expected a training run directory" in capsys.readouterr().err


def test_cs_bad_inputs():
    k = np.zeros((1, 8, 8), np.complex64)
    mask = np.ones(8)
    k[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"masked_kspace: expected finite k-space, found 1 NaN"):
        cs_reconstruct(k, mask, method="tv", weight=0.01)
    with pytest.raises(ValueError, match=r"method: expected one of \['tv', 'l1-wavelet'\]"):
        cs_reconstruct(np.zeros((1, 8, 8), np.complex64), mask, method="wavelet", weight=0.01)
    with pytest.raises(ValueError, match=r"weight: expected a regularisation weight >= 0"):
        cs_reconstruct(np.zeros((1, 8, 8), np.complex64), mask, method="tv", weight=-1.0)
