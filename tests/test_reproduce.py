"""`sciml reproduce`: the KS learned-stepper pipeline end to end at toy size, CLI errors."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sciml.cli import main
from sciml.experiments.ks import QUICK
from sciml.experiments.ks import reproduce as reproduce_learned_stepper

TOY = replace(
    QUICK,
    n_train=3,
    n_val=2,
    n_test=2,
    train_frames=12,
    test_frames=6,
    spinup=2.0,
    horizon=2.0,
    width=4,
    kernel_size=3,
    unroll=2,
    steps=8,
    batch_size=4,
    classical_shapes=(),
    classical_dt=(1.0,),
    timing_repeats=1,
    integrator_swaps=False,
    long_frames=8,
    long_burn_in=2,
    candidates=2,
)


def test_learned_stepper_reproduction_end_to_end(tmp_path):
    out = tmp_path / "ks"
    summary = reproduce_learned_stepper(out, seed=1, setup=TOY)
    on_disk = json.loads((out / "summary.json").read_text())
    for key in (
        "nrmse_learned",
        "nrmse_classical_same_grid",
        "correlation_time_learned",
        "correlation_time_classical_same_grid",
        "speedup_at_equal_accuracy",
    ):
        assert key in on_disk and on_disk[key] is not None
    assert on_disk["nrmse_learned"] == pytest.approx(summary["nrmse_learned"])
    # the fine grid at the reference dt is among the candidates and reproduces the reference
    fine = [c for c in on_disk["classical"] if c["name"] == "classical 256 dt=0.05"]
    assert fine and fine[0]["nrmse"] < 1e-4
    assert (out / "learned_stepper.png").stat().st_size > 10_000
    assert on_disk["verdict"].startswith(("the learned stepper wins", "the spectral method wins"))
    # long rollouts: the summary names what was measured; two candidates, one adopted
    assert 0.0 <= on_disk["bounded_fraction_long"] <= 1.0 and on_disk["long_horizon"] == 8.0
    assert (
        "spectrum_error_long" in on_disk and "noise floor" in on_disk["long_rollout"]["definition"]
    )
    chosen = [c for c in on_disk["candidates"] if c.get("selected")]
    assert [c["seed"] for c in on_disk["candidates"]] == [1, 2] and len(chosen) == 1
    assert (out / chosen[0]["run_dir"] / "config.yaml").is_file()
    assert (out / "config.yaml").is_file() and (out / "data" / "test.nc").is_file()
    # the run directory restores the trained stepper (what `sciml export RUN_DIR` relies on)
    from sciml.stepper.data import load_trajectories
    from sciml.train import restore_model

    model = restore_model(out)
    test = load_trajectories(out / "data" / "test.nc")
    # the run's config describes the data fit received: the same windows of data/train.nc
    from sciml.stepper.data import make_windows
    from sciml.train import run_config
    from sciml.train.registry import build_source

    config = run_config(out)
    described = build_source(config.data.train.kind, dict(config.data.train.kwargs))
    train = make_windows(load_trajectories(out / "data" / "train.nc").data, n_target=TOY.unroll)
    assert len(described) == len(train["inputs"])
    for i in (0, len(described) - 1):
        np.testing.assert_array_equal(described[i]["targets"], train["targets"][i])
        np.testing.assert_array_equal(described[i]["inputs"], train["inputs"][i])
    assert Path(config.model.kwargs["stats_dir"]) == (out / "stats").resolve()  # loop format
    assert model.grid_shape == test.grid.shape == (48,)
    assert model.dt == test.dt == 1.0
    z1 = np.asarray(model(test.data[:, 0]))
    assert np.all(np.isfinite(z1))
    assert main(["export", str(out), "--out", str(tmp_path / "ks.h5")]) == 0
    from sciml import load_stepper

    np.testing.assert_allclose(
        load_stepper(tmp_path / "ks.h5").step(test.data[:, 0]), z1, rtol=1e-4, atol=1e-5
    )
    # an existing run is not overwritten silently
    assert main(["reproduce", "learned-stepper", "--out", str(out)]) == 2


def test_reproduce_refuses_to_delete_unrelated_directories(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    code = main(["reproduce", "learned-stepper", "--quick", "--out", str(tmp_path), "--overwrite"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "not created by `sciml reproduce`" in err and len(err.splitlines()) == 1
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_kolmogorov_refuses_augmentation_on_a_grid_without_the_symmetry(tmp_path):
    from sciml.experiments.kolmogorov import QUICK as KQUICK
    from sciml.experiments.kolmogorov import reproduce as reproduce_kolmogorov

    with pytest.raises(ValueError, match=r"setup.augment: .* n = 20 .* multiple of 2 x forcing"):
        reproduce_kolmogorov(tmp_path / "k", setup=replace(KQUICK, n=20))
    assert not (tmp_path / "k").exists()  # refused before anything was written


def test_kolmogorov_reproduction_end_to_end_at_toy_size(tmp_path):
    """The 2-D pipeline (spectral truth, FV and spectral baselines, both hybrid models trained
    through the FV solver, correlation times, export, figure) at toy size."""
    from sciml.experiments.kolmogorov import QUICK as KQUICK
    from sciml.experiments.kolmogorov import reproduce as reproduce_kolmogorov

    toy = replace(
        KQUICK, nu=0.02, truth_n=32, truth_dt=0.05, n=16, factors=(1, 2), frame_dt=0.1,
        spinup=0.5, settle=0.1, n_train=2, train_time=0.5, n_test=2, horizon=0.4, long_horizon=0.8,
        pretrain_steps=2, unroll=2, steps=2, batch_size=2, width=4, depth=2, timing_repeats=1,
    )  # fmt: skip
    out = tmp_path / "kolmogorov"
    summary = reproduce_kolmogorov(out, seed=2, setup=toy)
    on_disk = json.loads((out / "summary.json").read_text())
    for key in (
        "resolution_factor", "speedup_at_equal_accuracy", "correlation_time_learned",
        "correlation_time_classical_same_grid",
    ):  # fmt: skip
        assert key in on_disk and on_disk[key] is not None, key
    assert on_disk["correlation_time_definition"]["threshold"] == 0.95
    assert on_disk["correlation_time_learned"] == pytest.approx(summary["correlation_time_learned"])
    kinds = {r["kind"] for r in on_disk["table"]}
    assert kinds == {"finite_volume", "spectral", "learned_correction", "learned_interpolation"}
    assert 0 <= on_disk["long_rollout"]["learned_correction"]["bounded_fraction"] <= 1
    assert 0 <= on_disk["bounded_fraction_long"] <= 1 and "blowup_time_learned" in on_disk
    assert on_disk["long_horizon"] >= 0.8 and "spectrum_error_long_noise_floor" in on_disk
    assert on_disk["resolution_factor_against"] in ("finite_volume", "spectral")
    assert set(on_disk["resolution_factor_by_model"]) == {
        "learned_correction",
        "learned_interpolation",
    }
    missed = on_disk["target_missed_by"]
    assert missed is None or missed == pytest.approx(
        4.0 / on_disk["resolution_factor_vs_finite_volume"]
    )
    assert "correlation time" in on_disk["target_notes"]
    assert 0 <= on_disk["correlation_time_information_bound"] <= toy.horizon
    assert 0 <= on_disk["correlation_time_exact_markov"] <= toy.horizon
    stages = {r["unroll_stage"] for r in on_disk["training"]["learned_correction"]["log"]}
    assert stages == {1, 2}  # the one-step stage, then the unrolled one
    assert (out / "learned_correction.h5").is_file() and (out / "hybrid.json").is_file()
    import sciml

    li = sciml.load_stepper(out / "learned_interpolation.h5")  # kind fv_interpolation, NumPy
    assert on_disk["export"]["learned_interpolation"] == str(out / "learned_interpolation.h5")
    assert li.grid_shape == (16, 16) and li.dt == pytest.approx(0.1)
    assert np.isfinite(li.step(np.zeros((16, 16, 1), np.float32))).all()
    assert any(p.suffix == ".png" for p in out.iterdir())


def _summary(speed, matched_nrmse=0.1):
    classical = [{"name": "classical 64 dt=1.0", "nrmse": matched_nrmse, "grid_shape": [64]}]
    return {
        "speedup_at_equal_accuracy": speed,
        "speedup_matched_classical": None if speed is None else "classical 64 dt=1.0",
        "learned": {"name": "learned 48", "nrmse": 0.167, "grid_shape": [48]},
        "classical": classical,
    }


def test_ks_summary_says_plainly_which_method_wins_and_why():
    from sciml.experiments.ks import SPECTRAL_WINS_WHY, verdict

    lost = verdict(_summary(0.2))
    assert lost["verdict"].startswith("the spectral method wins on this problem: classical 64")
    assert "5.0x less cost" in lost["verdict"] and "0.1 against 0.167" in lost["verdict"]
    assert lost["verdict_why"] == SPECTRAL_WINS_WHY
    won = verdict(_summary(2.5))
    assert won["verdict"].startswith("the learned stepper wins: 2.50x cheaper than classical 64")
    assert "verdict_why" not in won
    unmatched = verdict(_summary(None))
    assert "more accurate than every classical run" in unmatched["verdict"]
