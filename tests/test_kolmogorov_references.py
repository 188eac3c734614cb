"""The exact-physics references of the Kolmogorov comparison
(:func:`sciml.experiments.kolmogorov.information_bound`): the free spectral run from the learned
grid's state, and the same run reset to the learned grid's modes after every model step."""

from dataclasses import replace

import numpy as np
from sciml.solvers import Grid

from sciml.experiments.kolmogorov import QUICK, information_bound


def test_markov_reference_equals_the_free_run_when_the_grid_resolves_the_flow():
    """Resetting the modes finer than the learned grid after every step changes nothing when the
    flow has (almost) no energy there: a strongly viscous flow forced at k = 1 on a 16^2 grid.
    On the Kolmogorov setting it does (the Markov reference decorrelates first)."""
    s = replace(QUICK, nu=0.5, forcing_wavenumber=1, n=16, truth_n=64, frame_dt=0.1)
    x, y = Grid((16, 16), (2 * np.pi, 2 * np.pi)).mesh()
    w0 = (np.sin(x) * np.cos(y) + 0.3 * np.cos(2 * x + y))[None, :, :, None]
    frames = np.repeat(w0, 6, axis=0)[None].astype(np.float32)  # (1, 6, 16, 16, 1)
    b = information_bound(s, frames)
    assert b["n"] == 64 and b["markov_prediction"].shape == frames.shape
    np.testing.assert_allclose(b["markov_prediction"][:, 0], frames[:, 0], atol=1e-5)
    scale = np.abs(b["prediction"]).max()
    np.testing.assert_allclose(b["markov_prediction"], b["prediction"], atol=1e-4 * scale)
    # a nearly inviscid, strong flow cascades into the finer modes within 0.5: the reset matters
    b = information_bound(replace(s, nu=0.002), 8 * frames)
    diff = np.abs(b["markov_prediction"][:, -1] - b["prediction"][:, -1]).max()
    assert diff > 1e-3 * 8 * scale, diff
    # same grid as the truth: no reference
    assert information_bound(replace(s, truth_n=16), frames) is None
