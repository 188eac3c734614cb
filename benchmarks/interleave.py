"""Two training steps timed in alternation, in one process (the ratio a benchmark reports).

Sequential best-of-N timings of two programs see different states of a shared machine: on the
project's 2-core VM the PyTorch U-Net step alone moved between 585 and 800 ms across quiet runs,
and the sequential ratio by 20-30 %. Alternating the two steps makes every round a pair measured
under the same conditions; the ratio of the best times and the median of the rounds' ratios are
then the steadier figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def interleaved(
    ours_step: Callable[[], object], ref_step: Callable[[], object], rounds: int
) -> dict:
    """Call ``ours_step`` and ``ref_step`` (each blocking until its step is done) ``rounds``
    times each, alternating which goes first.

    Returns the best wall time of each (s), the ratio of the bests, the median of the rounds'
    ratios, the ratio of the best process CPU times (all threads), and the rounds' ratios."""
    walls: dict[str, list[float]] = {"ours": [], "ref": []}
    cpus: dict[str, list[float]] = {"ours": [], "ref": []}
    for r in range(rounds):
        order = (("ours", ours_step), ("ref", ref_step))
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            walls[name].append(time.perf_counter() - t0)
            cpus[name].append(time.process_time() - c0)
    pair = [o / r for o, r in zip(walls["ours"], walls["ref"], strict=True)]
    return {
        "rounds": rounds,
        "ours_step_s": min(walls["ours"]),
        "ref_step_s": min(walls["ref"]),
        "ratio_best": min(walls["ours"]) / min(walls["ref"]),
        "ratio_median_of_rounds": float(np.median(pair)),
        "ratio_cpu_best": min(cpus["ours"]) / min(cpus["ref"]),
        "round_ratios": pair,
    }


def describe(pair: dict) -> str:
    """One line for a benchmark's output: the result of :func:`interleaved`."""
    return (
        f"interleaved, {pair['rounds']} alternating rounds: sciml best "
        f"{pair['ours_step_s'] * 1e3:.1f} ms, PyTorch best {pair['ref_step_s'] * 1e3:.1f} ms; "
        f"ratio of bests {pair['ratio_best']:.2f} (CPU time {pair['ratio_cpu_best']:.2f}), "
        f"median of the rounds' ratios {pair['ratio_median_of_rounds']:.2f}"
    )
