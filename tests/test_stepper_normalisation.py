"""A stepper's normalisation: one dataclass, the loop's statistics and files, old keywords."""

import numpy as np
import pytest
from flax import nnx
from sciml.datasets import load_stats

from sciml.stepper.model import LearnedStepper, make_learned_stepper
from sciml.stepper.normalisation import Normalisation

TINY = {"width": 2, "kernel_size": 3, "depth": 1}


def _traj():
    rng = np.random.default_rng(0)
    return np.cumsum(rng.normal(size=(3, 5, 8, 2)), axis=1) * np.array([1.0, 10.0])


def test_statistics_are_the_loops_and_round_trip_through_the_run_stats_folder(tmp_path):
    traj = _traj()
    norm = Normalisation.from_trajectories(traj, 0.5, data_hash="sha256:x")
    states = traj.reshape(-1, 2)
    rates = ((traj[:, 1:] - traj[:, :-1]) / 0.5).reshape(-1, 2)
    np.testing.assert_allclose(norm.state_mean, states.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.state_std, states.std(0), rtol=1e-12)
    np.testing.assert_allclose(norm.tendency_std, rates.std(0), rtol=1e-12)
    folder = norm.save(tmp_path / "stats", count=states.shape[0])
    assert load_stats(folder / "state.json")["count"] == 120  # the loop's file format
    assert Normalisation.load(folder) == norm
    m = make_learned_stepper(
        dx=[0.5], dt=0.5, variables=("u", "v"), stats_dir=str(folder), network_kwargs=TINY,
        rngs=nnx.Rngs(0),
    )  # fmt: skip
    np.testing.assert_allclose(m.state_std[...], norm.state_std, rtol=1e-6)
    assert m.data_hash == "sha256:x" and m.normalisation.data_hash == "sha256:x"
    assert Normalisation.from_dict(norm.to_dict()) == norm


def test_bad_or_doubled_normalisation_is_reported():
    with pytest.raises(ValueError, match=r"state_std: expected finite values > 0, found \[0.0\]"):
        Normalisation(state_std=[0.0])
    with pytest.raises(ValueError, match="normalisation: given twice"):
        make_learned_stepper(
            dx=[0.5], dt=0.5, normalisation={"state_mean": [1.0]}, state_std=[2.0],
            rngs=nnx.Rngs(0),
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"normalisation: unknown keys \['mean'\]"):
        Normalisation.from_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match=r"state_mean: expected 2 per-channel values"):
        make_learned_stepper(
            dx=[0.5], dt=0.5, variables=("u", "v"), normalisation={"state_mean": [1.0, 2.0, 3.0]},
            network_kwargs=TINY, rngs=nnx.Rngs(0),
        )  # fmt: skip


def test_old_flat_keywords_still_work():
    # configs of earlier runs: accepted silently by the builder; code: a DeprecationWarning
    m = make_learned_stepper(
        dx=[0.5], dt=0.5, state_mean=[0.3], data_hash="h", network_kwargs=TINY, rngs=nnx.Rngs(0)
    )
    assert float(m.state_mean[...][0]) == pytest.approx(0.3) and m.data_hash == "h"
    with pytest.warns(DeprecationWarning, match="pass normalisation=Normalisation"):
        s = LearnedStepper(m.tendency, dt=0.5, dx=[0.5], tendency_std=[2.0])
    assert float(s.tendency_std[...][0]) == 2.0
