"""`sciml reproduce burgers` end to end on a toy setup: every summary field the issue names."""

import json

import numpy as np
import pytest

from sciml.experiments.burgers import BurgersSetup, reproduce

TOY = BurgersSetup(
    n_learned=16,
    ref_factor=2,
    n_train=2,
    n_test=2,
    spinup=0.5,
    train_time=1.0,
    horizon=0.5,
    long_horizon=2.0,
    classical_factors=(1, 2),
    width=4,
    depth=2,
    kernel_size=3,
    unroll=2,
    pretrain_steps=2,
    steps=4,
    batch_size=8,
    timing_batch=4,
    timing_time=0.2,
)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("burgers") / "run"
    return out, reproduce(out, quick=True, seed=0, setup=TOY)


def test_summary_fields_and_files(summary):
    out, s = summary
    on_disk = json.loads((out / "summary.json").read_text())
    for key in (
        "resolution_factor",
        "speedup_at_equal_accuracy",
        "target_missed_by",
        "target_notes",
        "bounded_fraction_long",
        "blowup_time_learned",
        "spectrum_error_long",
        "spectrum_error_long_weno5_same_grid",
    ):
        assert key in on_disk, key
    assert (out / "burgers.png").stat().st_size > 0 and (out / "burgers_stencil.h5").exists()
    # refining the grid makes every classical method more accurate against the reference
    for m in ("upwind", "muscl", "weno5"):
        errs = list(s["mae_classical"][m].values())
        assert errs[1] < errs[0], m
        # the time-averaged MAE is the mean of the per-frame curve after the shared frame 0
        for n, err in s["mae_classical"][m].items():
            curve = on_disk["mae_against_time"][f"{m}@{n}"]
            assert curve[0] < 1e-6 and np.mean(curve[1:]) == pytest.approx(err, rel=1e-6)
    assert len(on_disk["mae_against_time"]["time"]) == len(on_disk["mae_against_time"]["learned"])
    # the untrained-ish model stays bounded over the toy horizon; the definition is named
    assert s["bounded_fraction_long"] == 1.0 and s["blowup_time_learned"] == float("inf")
    assert "2 x the reference max" in s["long_rollout"]["definition"]
    assert np.isfinite(s["spectrum_error_long_weno5_same_grid"])
    # the supervised face-flux stage ran and logged its loss
    assert np.isfinite(s["flux_loss_first_last"]).all() and len(s["flux_loss_first_last"]) == 2


def test_exported_model_loads_with_the_run_grid(summary):
    out, _ = summary
    from sciml import load_stepper

    st = load_stepper(out / "burgers_stencil.h5")
    assert st.dx == pytest.approx(2 * np.pi / 16) and st.dt == pytest.approx(TOY.frame_dt)
