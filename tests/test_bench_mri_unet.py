"""The fastMRI U-Net benchmark runs end to end and reports its ratios (tiny shapes).

Figures themselves are not tested here (speed targets live in the benchmarks); this guards the
report, which once crashed after the timings when the PyTorch reference was present."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench = pytest.importorskip("bench_mri_unet")


def _fake_reference(batch, size, chans, repeats):
    """A stand-in for the PyTorch U-Net: a step of known duration (torch is optional)."""

    def step():
        time.sleep(0.002)

    result = {
        "step_cpu_s": 0.001,
        "params": 1,
        "version": "fake",
        "threads": 1,
        "first_step_s": 0.002,
        "step_s": 0.002,
        "forward_s": 0.001,
    }
    return result, step


def _fake_ours(batch, size, chans, repeats):
    """The sciml side with its real profiler on a tiny jitted function (the U-Net's compile
    takes 10 s on one core; its timings are the benchmark's business, the report is ours)."""
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda a: jnp.sum(jnp.tanh(a) ** 2))
    a = jnp.ones((8, 8))
    ours = {"params": 3, "forward_s": 0.001, "forward_backward_s": 0.003, "step_s": 0.003}
    for key in ("forward", "grad", "step"):
        ours[f"{key}_compile_s"] = 0.1
    ours["cpu_s"] = {"forward": 0.001, "forward_backward": 0.003, "step": 0.003}
    ours["profile"] = bench.profile_ops(f, a, runs=1)
    return ours, lambda: jax.block_until_ready(f(a))


def test_run_one_reports_every_ratio(monkeypatch, capsys):
    monkeypatch.setattr(bench, "bench_torch", _fake_reference)
    monkeypatch.setattr(bench, "bench_ours", _fake_ours)
    args = argparse.Namespace(
        size=16, chans=2, repeats=1, conv_table=False, no_torch=False, interleave=3
    )
    result = bench.run_one(1, args)
    out = capsys.readouterr().out
    assert result["ours"]["params"] > 0
    for key in ("ratio_step", "ratio_step_cpu", "ratio_forward"):
        assert result[key] > 0, key
    pair = result["interleaved"]
    assert pair["rounds"] == 3 and len(pair["round_ratios"]) == 3
    assert pair["ref_step_s"] >= 0.002
    assert pair["ratio_best"] == pytest.approx(pair["ours_step_s"] / pair["ref_step_s"])
    assert "interleaved, 3 alternating rounds" in out
    assert "ratio sciml / PyTorch train step" in out
