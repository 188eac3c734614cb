"""Long rollouts of the learned-stepper experiment, and the choice among training seeds.

A stepper imported into a production code runs far beyond the horizon it was trained on. This
phase rolls the trained stepper out ``long_frames`` steps from fresh states on the attractor and
scores boundedness, time to blow-up and the long-time statistics against the reference
(:mod:`sciml.metrics.long_rollout`). With ``candidates > 1`` it also trains several seeds and keeps
the one whose *validation* long rollouts stay bounded with the smallest long-time spectrum error:
training with input noise makes most seeds stable, not all of them (measured on KS, see the
README), and a user would rather know which of them is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sciml.experiments.runner import stage
from sciml.experiments.stepper_experiment import ExperimentSetup, _Data, _generate, train_stepper


def make_long_reference(setup: ExperimentSetup, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Phase 1b: long coarse reference trajectories ``(n, long_frames + 1, *coarse, C)`` from new
    initial conditions on the attractor: ``n_val`` for choosing among candidates (when there are
    several) and ``n_test`` for the reported long-rollout statistics."""
    from sciml.solvers import coarsen_array

    n_val = (setup.long_val or setup.n_val) if setup.candidates > 1 else 0
    n_test = setup.long_test or setup.n_test
    stage(
        f"generating {n_val + n_test} long reference trajectories ({setup.long_frames} "
        "frames) for the long-rollout statistics"
    )
    fine = _generate(setup, n_val + n_test, setup.long_frames, seed=seed + 7919)
    coarse = coarsen_array(fine, tuple(setup.coarse_shape), ndim=setup.ndim)
    return coarse[:n_val], coarse[n_val:]


def long_rollout(setup: ExperimentSetup, model: Any, reference: np.ndarray) -> dict[str, Any]:
    """Roll ``model`` out ``long_frames`` steps from ``reference[:, 0]``; boundedness, time to
    blow-up and long-time statistics against ``reference`` (:mod:`sciml.metrics.long_rollout`)."""
    import jax

    from sciml.metrics.long_rollout import long_rollout_statistics
    from sciml.solvers import rollout

    n = reference.shape[1] - 1
    run = jax.jit(lambda z: rollout(model.step, z, n, save_every=1, check_finite=False))
    traj = np.asarray(run(jax.numpy.asarray(reference[:, 0])))
    return long_rollout_statistics(
        traj,
        reference,
        ndim=setup.ndim,
        length=setup.length,
        dt=setup.frame_dt,
        burn_in=setup.long_burn_in,
        exclude_settled=setup.long_exclude_settled,
    )


def _adopt_run(src: Path, out: Path) -> None:
    """Make the candidate run in ``src`` the reproduction's run in ``out``: copy its files and
    write its ``config.yaml`` with ``out``'s paths (so ``sciml export OUT`` exports it)."""
    import shutil

    import yaml

    for entry in src.iterdir():
        if entry.name in ("config.yaml", ".sciml-lock"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, out / entry.name, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, out / entry.name)
    from sciml.atomic import write_text

    cfg = yaml.safe_load((src / "config.yaml").read_text())
    cfg["run_dir"] = str(out)
    cfg["model"]["kwargs"]["stats_dir"] = str(out / "stats")
    write_text(out / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))


def train_candidates(
    setup: ExperimentSetup, data: _Data, long_val: np.ndarray, out: Path, *, seed: int
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Phase 2 with ``candidates`` seeds: train each in ``out/candidates/seedS``, score its long
    rollouts on the validation trajectories, and adopt the best as the run in ``out``.

    The score is (fraction of bounded validation rollouts, then the smallest maximum relative
    error of the time-averaged spectrum); test data play no part in the choice.
    """
    if setup.candidates <= 1:
        model, result = train_stepper(setup, data, out, seed=seed)
        return model, result, []
    records, best = [], None
    for k in range(setup.candidates):
        s = seed + k
        run_dir = out / "candidates" / f"seed{s}"
        model, result = train_stepper(setup, data, out, seed=s, run_dir=run_dir)
        stats = long_rollout(setup, model, long_val)
        err = stats["spectrum_max_rel_error"]
        records.append(
            {
                "seed": s,
                "run_dir": str(run_dir.relative_to(out)),
                "bounded_fraction_val": stats["bounded_fraction"],
                "blowup_time_val": stats["blowup_time"],
                "spectrum_max_rel_error_val": err,
            }
        )
        stage(
            f"candidate seed {s}: {stats['bounded_fraction']:.0%} of the validation rollouts "
            f"bounded over {stats['horizon']:g} time units"
            + ("" if err is None else f", long-time spectrum error {err:.1%}")
        )
        score = (stats["bounded_fraction"], -(err if err is not None else np.inf))
        if best is None or score > best[0]:
            best = (score, k, model, result, run_dir)
    _, k, model, result, run_dir = best
    records[k]["selected"] = True
    _adopt_run(run_dir, out)
    return model, result, records


def reference_noise_floor(setup: ExperimentSetup, a: np.ndarray, b: np.ndarray) -> float:
    """The spectrum error two halves of the reference itself show: the sampling-noise floor."""
    from sciml.metrics.long_rollout import long_rollout_statistics

    stats = long_rollout_statistics(
        a,
        b,
        ndim=setup.ndim,
        length=setup.length,
        dt=setup.frame_dt,
        burn_in=setup.long_burn_in,
        exclude_settled=setup.long_exclude_settled,
    )
    return float(stats["spectrum_max_rel_error"])


def long_rollout_summary(
    setup: ExperimentSetup, long: dict[str, Any], floor: float, candidates: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``summary.json`` fields of the long rollouts (definitions named)."""
    train_horizon = setup.unroll * setup.frame_dt
    return {
        "bounded_fraction_long": long["bounded_fraction"],
        "blowup_time_learned": long["blowup_time"],
        "long_horizon": long["horizon"],
        "long_horizon_over_training_horizon": long["horizon"] / train_horizon,
        "spectrum_error_long": long["spectrum_max_rel_error"],
        "spectrum_error_long_noise_floor": floor,
        "settled_fraction_long": long.get("settled_fraction"),
        "settled_fraction_reference_long": long.get("settled_fraction_reference"),
        "long_rollout": {
            **long,
            "definition": (
                f"{len(long['blowup_times'])} test trajectories rolled out {setup.long_frames} "
                f"steps ({long['horizon']:g} time units, {long['horizon'] / train_horizon:g}x the "
                f"training unroll of {train_horizon:g}); bounded = {long['bound_definition']}; "
                f"spectrum error = max over shells 1..{long['max_shell']} of |E_learned - E_ref| "
                f"/ E_ref, time-averaged after {setup.long_burn_in} frames over the bounded "
                "trajectories"
                + (
                    ", over the frames that are not steady up to a translation (settled "
                    "frames: trapped in a steady or travelling-wave state; their share is "
                    "reported as settled_fraction*)"
                    if setup.long_exclude_settled
                    else ""
                )
                + "; noise floor = the same error between two halves of the reference"
            ),
        },
        "candidates": candidates,
    }
