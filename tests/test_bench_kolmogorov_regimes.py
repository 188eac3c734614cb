"""The Kolmogorov regimes benchmark: its enstrophy split and its argument error (no solver runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench = pytest.importorskip("bench_kolmogorov_regimes")


def test_unresolved_enstrophy_fraction_of_two_modes():
    # omega = cos(2 x) + 3 cos(10 y) on 64^2: a 16^2 grid keeps |k| < 8, so the k = 10 mode,
    # with 9 / (1 + 9) of the enstrophy, is the unresolved part
    x = np.arange(64) * 2 * np.pi / 64
    w = np.cos(2 * x)[:, None] + 3 * np.cos(10 * x)[None, :]
    frac = bench._unresolved(w[None, :, :, None], 16)
    assert abs(frac - 0.9) < 1e-12
    assert bench._unresolved(w[None, :, :, None], 32) < 1e-20


def test_bad_regime_names_the_option_and_the_form():
    assert bench._regime("2:0.01") == (2, 0.01)
    for bad in ("2,0.01", "2:-0.01", "0:0.01", "2:x"):
        with pytest.raises(
            argparse.ArgumentTypeError, match=rf"--regimes: expected .*2:0\.01.*'{bad}'"
        ):
            bench._regime(bad)
