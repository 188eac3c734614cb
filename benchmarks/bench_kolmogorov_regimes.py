"""Which Kolmogorov flows leave room for a 4x learned closure on a 16^2 grid, measured without training.

For each flow regime (forcing mode ``k_f``, viscosity ``nu``), on 8 test trajectories of the
spectral truth on 128^2 coarse-grained to the learned grid 16^2, this prints the correlation time
(first saved frame whose mean vorticity correlation is below 0.95, Kochkov et al. 2021) of

- the finite-volume (FV) and the spectral solver at 16, 32, 64 and 128^2;
- the **information bound**: the spectral solver on 64^2 started from the 16^2 state (it grows
  the finer modes and carries them, a model with memory);
- **exact Markov**: the same run with the modes finer than 16^2 reset to zero after every model
  step (0.1): exact physics as a map of the 16^2 state alone, the way the hybrids use it;

and the resolution factor against FV (FV resolution of equal correlation time / 16, interpolated
in log2 N, as ``summary.json``'s) of both references: the ratio this benchmark reports. A
Markovian closure that guesses the finer modes no better than zero gets the exact-Markov factor;
the learned hybrids of ``sciml reproduce kolmogorov`` land near it in the turbulent regime (see
``docs/kolmogorov.md``, which also gives the hybrids trained on each regime).

    python benchmarks/bench_kolmogorov_regimes.py                 # 5 regimes, ~12 min on one core
    python benchmarks/bench_kolmogorov_regimes.py --regimes 4:0.005 2:0.02 --horizon 25
    python benchmarks/bench_kolmogorov_regimes.py --small         # seconds (smoke test)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from json_out import add_json_argument, write_json

from sciml.experiments.kolmogorov import (
    QUICK,
    _coarsen,
    _match,
    classical_runs,
    ground_truth,
    information_bound,
)

# (forcing mode, viscosity, horizon): the quick preset's flow first, then weaker turbulence and a
# larger forcing scale (8 cells of 16^2 on a forcing wavelength instead of 4; the paper: 16)
REGIMES = ((4, 0.005, 10.0), (4, 0.01, 15.0), (2, 0.005, 15.0), (2, 0.01, 20.0), (2, 0.02, 25.0))


def _regime(arg: str) -> tuple[int, float]:
    try:
        kf, nu = arg.split(":")
        kf, nu = int(kf), float(nu)
        if kf >= 1 and nu > 0:
            return kf, nu
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"--regimes: expected FORCING_MODE:VISCOSITY (an integer >= 1 and a viscosity > 0) such "
        f"as 2:0.01, found {arg!r}"
    )


def measure(kf: int, nu: float, horizon: float, *, small: bool, seed: int) -> dict:
    """Correlation times of the classical runs and both references for one regime."""
    from sciml.metrics.field import correlation_time_kochkov2021, correlation_vs_time

    s = replace(QUICK, forcing_wavenumber=kf, nu=nu, n_train=0, n_test=8, horizon=horizon)
    if small:
        s = replace(s, truth_n=32, truth_dt=0.04, spinup=2.0, spinup_n=None, settle=0.5)
        s = replace(s, n=8, factors=(1, 2, 4), n_test=2, horizon=1.0, timing_repeats=1)
    t0 = time.perf_counter()
    truth = ground_truth(s, seed=seed)["test"]
    ref = _coarsen(truth, s.n)
    times = np.arange(ref.shape[1]) * s.frame_dt

    def corr_time(pred):
        return correlation_time_kochkov2021(correlation_vs_time(pred, ref, ndim=2), times)

    runs = classical_runs(s, truth)
    for r in runs:
        r["correlation_time"] = corr_time(r["prediction"])
    fv = sorted((r for r in runs if r["kind"] == "finite_volume"), key=lambda r: r["n"])
    refs = information_bound(s, ref)
    out = {
        "forcing_wavenumber": kf,
        "nu": nu,
        "horizon": horizon,
        "cells_per_forcing_wavelength": s.n // kf,
        "enstrophy_fraction_unresolved": _unresolved(truth[:, -1], s.n),
        "classical": {r["name"]: r["correlation_time"] for r in runs},
    }
    for key, pred in (("information_bound", "prediction"), ("exact_markov", "markov_prediction")):
        t = corr_time(refs[pred])
        m = _match(t, fv, 1.0)
        out[key] = t
        out[f"ratio_{key}_resolution_factor_vs_fv"] = m["resolution_factor"]
        out[f"{key}_factor_bound"] = m["bound"]
    out["wall_s"] = time.perf_counter() - t0
    return out


def _unresolved(frames: np.ndarray, n: int) -> float:
    """Fraction of the enstrophy in modes the ``n^2`` grid does not keep (|k_x| or |k_y| >= n/2)."""
    m = frames.shape[-2]
    spec = np.abs(np.fft.fft2(np.asarray(frames, np.float64)[..., 0], axes=(-2, -1))) ** 2
    k = np.abs(np.fft.fftfreq(m, d=1.0 / m))
    outside = np.maximum(k[:, None], k[None, :]) >= n / 2
    return float(spec[..., outside].sum() / spec.sum())


def _factor(row: dict, key: str) -> str:
    sign = {"lower": ">= ", "upper": "<= "}.get(row[f"{key}_factor_bound"], "")
    return f"{sign}{row[f'ratio_{key}_resolution_factor_vs_fv']:.2f}x"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--regimes",
        nargs="+",
        type=_regime,
        default=None,
        help="FORCING_MODE:VISCOSITY pairs (default: the five of the docs)",
    )
    parser.add_argument(
        "--horizon", type=float, default=None, help="of every regime (default 15 for --regimes)"
    )
    parser.add_argument("--small", action="store_true", help="smoke test on 8^2 (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    regimes = REGIMES if args.regimes is None else [(kf, nu, 15.0) for kf, nu in args.regimes]
    if args.horizon is not None:
        regimes = [(kf, nu, args.horizon) for kf, nu, _ in regimes]
    if args.small:
        regimes = [(2, 0.02, 1.0)]
    rows = [measure(kf, nu, h, small=args.small, seed=args.seed) for kf, nu, h in regimes]
    print(
        f"{'k_f':>3s} {'nu':>6s} {'cells/λ_f':>9s} {'unresolved':>10s}  "
        f"{'FV 1x / 2x / 4x / 8x':>24s} {'spectral 1x / 2x / 4x / 8x':>26s} {'info bound':>11s} "
        f"{'exact Markov':>12s} {'factor vs FV (bound / Markov)':>30s}"
    )
    for r in rows:
        c = r["classical"]
        fv = " / ".join(f"{v:.1f}" for k, v in c.items() if k.startswith("finite"))
        sp = " / ".join(f"{v:.1f}" for k, v in c.items() if k.startswith("spectral"))
        print(
            f"{r['forcing_wavenumber']:3d} {r['nu']:6.3g} {r['cells_per_forcing_wavelength']:9d} "
            f"{r['enstrophy_fraction_unresolved']:10.4f}  {fv:>24s} {sp:>26s} "
            f"{r['information_bound']:11.1f} {r['exact_markov']:12.1f} "
            f"{_factor(r, 'information_bound'):>15s} / {_factor(r, 'exact_markov')}"
        )
    print("(>= : the reference outlasts FV on 8x the grid, <= : it is no better than FV on 1x)")
    write_json(args.json, {"benchmark": "kolmogorov_regimes", "regimes": rows})
    return rows


if __name__ == "__main__":
    main()
