"""Per-channel normalisation statistics in one streaming pass, and their JSON file next to a run.

For channel ``c`` (the last axis) over every sample and every spatial point::

    mean_c = (1/N) sum x_c,    std_c = sqrt((1/N) sum (x_c - mean_c)^2)      (population std)

accumulated in float64 batch by batch with Chan et al.'s pairwise merge of ``(count, mean, M2)``
(numerically stable, memory independent of the data size). The statistics are computed once,
stored with the run (``save_stats``) and carried by the exported model.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from sciml.atomic import write_text

__all__ = ["compute_stats", "load_stats", "save_stats"]


def _merge(
    count: int, mean: np.ndarray, m2: np.ndarray, x: np.ndarray
) -> tuple[int, np.ndarray, np.ndarray]:
    """Merge the rows of ``x`` (shape ``(n, C)``, float64) into ``(count, mean, M2)``."""
    n = x.shape[0]
    if n == 0:
        return count, mean, m2
    batch_mean = x.mean(axis=0)
    batch_m2 = ((x - batch_mean) ** 2).sum(axis=0)
    total = count + n
    delta = batch_mean - mean
    mean = mean + delta * (n / total)
    m2 = m2 + batch_m2 + delta**2 * (count * n / total)
    return total, mean, m2


def compute_stats(source: Any, key: str, *, batch: int = 64) -> dict:
    """Per-channel mean and std of ``source[i][key]`` over all samples and points.

    Args:
        source: a random-access source (``len``, ``[i] -> dict``, ``element_spec``).
        key: the array to summarise; its last axis is the channel axis.
        batch: samples read per accumulation step (memory ~ ``batch`` samples).

    Returns:
        ``{"mean": [C floats], "std": [C floats], "count": int}`` where ``count`` is the number
        of values per channel (samples x spatial points). ``std`` is the population standard
        deviation. Plain Python types, ready for JSON.
    """
    spec = source.element_spec
    if key not in spec:
        raise ValueError(
            f"compute_stats: key: expected one of {sorted(spec)}, found '{key}'; pass key="
            f"'{sorted(spec)[0]}'"
        )
    shape, dtype = spec[key]
    if np.dtype(dtype).kind not in "biuf":
        raise ValueError(
            f"compute_stats: '{key}': expected real numeric data, found dtype {np.dtype(dtype)}; "
            "split complex data into real channels first"
        )
    if len(shape) < 1:
        raise ValueError(
            f"compute_stats: '{key}': expected samples with a channel axis (rank >= 1), found "
            f"shape {tuple(shape)}; add a trailing channel axis"
        )
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"compute_stats: batch: expected an integer >= 1, found {batch!r}")
    n = len(source)
    if n == 0:
        raise ValueError(
            f"compute_stats: source: expected at least one sample, found 0 in {source!r}"
        )
    channels = shape[-1]
    count, mean, m2 = 0, np.zeros(channels), np.zeros(channels)
    with tqdm(
        total=n, desc=f"stats of '{key}'", unit="sample", disable=not sys.stderr.isatty()
    ) as bar:
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            rows = np.stack([np.asarray(source[i][key]) for i in range(start, stop)])
            count, mean, m2 = _merge(count, mean, m2, rows.reshape(-1, channels).astype(np.float64))
            bar.update(stop - start)
    std = np.sqrt(m2 / count)
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in std], "count": int(count)}


def _validate(stats: Any, where: str) -> dict:
    if not isinstance(stats, dict) or not {"mean", "std", "count"} <= set(stats):
        found = sorted(stats) if isinstance(stats, dict) else type(stats).__name__
        raise ValueError(
            f"{where}: expected a dict with 'mean', 'std' and 'count', found {found}; "
            "use the output of compute_stats"
        )
    mean, std = stats["mean"], stats["std"]
    if not isinstance(mean, list) or not isinstance(std, list) or len(mean) != len(std):
        raise ValueError(
            f"{where}: expected lists 'mean' and 'std' of equal length, found {mean!r} and "
            f"{std!r}; use the output of compute_stats"
        )
    values = [*mean, *std]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise ValueError(
            f"{where}: expected finite numbers in 'mean' and 'std', found {values}; recompute "
            "the statistics"
        )
    return stats


def save_stats(path: str | os.PathLike, stats: dict) -> None:
    """Write ``stats`` (from :func:`compute_stats`) as JSON, atomically (temp file + rename)."""
    path = os.fspath(path)
    stats = _validate(stats, f"save_stats: '{path}'")
    write_text(path, json.dumps(stats, indent=2) + "\n")


def load_stats(path: str | os.PathLike) -> dict:
    """Read statistics written by :func:`save_stats`, checking their structure."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"load_stats: file '{path}' not found; compute it with compute_stats + save_stats"
        )
    try:
        with open(path) as f:
            stats = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"load_stats: '{path}': expected JSON, found invalid content ({err}); recompute it"
        ) from None
    return _validate(stats, f"load_stats: '{path}'")
