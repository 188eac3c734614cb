"""Field metrics of a predicted trajectory against a reference: nRMSE, correlation, their times.

Trajectories are ``(batch, time, *spatial, channels)`` (channels last), frame 0 the common initial
state. Metrics are computed per sample and frame, then averaged over samples:

- nRMSE, PDEBench's definition (Takamoto et al. 2022), the default::

      nRMSE(t) = mean_c  ||u_pred[..., c](t) - u_ref[..., c](t)||_2 / ||u_ref[..., c](t)||_2

  per channel over space, then averaged over channels (:func:`nrmse_vs_time`);
- pooled nRMSE, one norm over space and channels together (:func:`nrmse_pooled_vs_time`); for
  one channel both are the same number;
- correlation(t): Pearson correlation of ``u_pred(t)`` and ``u_ref(t)`` over space and channels
  (the "vorticity correlation" of Kochkov et al. 2021 for a vorticity field);
- correlation time: the first time the sample-mean correlation drops below a threshold, either
  linearly interpolated between frames (:func:`correlation_time`, threshold a parameter) or,
  Kochkov et al. 2021's convention, the first *saved frame* below 0.95
  (:func:`correlation_time_kochkov2021`); :func:`correlation_time_definition` names either one
  for a ``summary.json``;
- blow-up horizon: the first time a sample leaves the finite range (NaN/Inf or above a bound).

A sample that blows up keeps an infinite nRMSE and a correlation of 0 from that frame on, so a
blown-up rollout never looks accurate. NumPy only, float64 internally; imports no area.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sciml.choices import check_choice

NRMSE_DEFINITION = (
    "PDEBench nRMSE: per sample, frame and channel ||pred - ref||_2 / ||ref||_2 over space, "
    "averaged over channels, then over samples"
)
NRMSE_POOLED_DEFINITION = (
    "pooled nRMSE: per sample and frame ||pred - ref||_2 / ||ref||_2 over space and channels "
    "together, averaged over samples"
)
KOCHKOV2021_THRESHOLD = 0.95


def _check_pair(pred: np.ndarray, ref: np.ndarray, ndim: int) -> None:
    if pred.shape != ref.shape:
        raise ValueError(
            f"trajectories: prediction shape {pred.shape} differs from reference shape {ref.shape}; "
            "coarse-grain both to the same grid and the same saved frames"
        )
    if pred.ndim != ndim + 3:
        raise ValueError(
            f"trajectories: expected (batch, time, <{ndim} spatial axes>, channels), found shape "
            f"{pred.shape}"
        )


def _flat(a: np.ndarray) -> np.ndarray:
    """``(batch, time, space * channels)`` in float64."""
    return np.asarray(a, np.float64).reshape(a.shape[0], a.shape[1], -1)


def _per_channel(a: np.ndarray) -> np.ndarray:
    """``(batch, time, space, channels)`` in float64."""
    a = np.asarray(a, np.float64)
    return a.reshape(a.shape[0], a.shape[1], -1, a.shape[-1])


def finite_mask(pred: np.ndarray, bound: float | None = None) -> np.ndarray:
    """``(batch, time)`` True while a sample is finite (and ``|u| <= bound``) up to that frame."""
    p = _flat(pred)
    with np.errstate(invalid="ignore"):
        ok = np.all(np.isfinite(p), axis=-1)
        if bound is not None:
            ok &= np.nan_to_num(np.max(np.abs(p), axis=-1), nan=np.inf) <= bound
    return np.logical_and.accumulate(ok, axis=1)


def _relative_l2(p: np.ndarray, r: np.ndarray, ok: np.ndarray, axis: int) -> np.ndarray:
    shape = ok.shape + (1,) * (p.ndim - ok.ndim)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        num = np.sqrt(np.mean((np.where(ok.reshape(shape), p, 0.0) - r) ** 2, axis=axis))
        den = np.sqrt(np.mean(r**2, axis=axis))
        return num / np.maximum(den, np.finfo(np.float64).tiny)


def nrmse_per_sample(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """PDEBench nRMSE per sample and frame, ``(batch, time)``: per channel, then the channel mean.

    ``inf`` from a sample's blow-up on.
    """
    _check_pair(pred, ref, ndim)
    ok = finite_mask(pred)
    per_channel = _relative_l2(_per_channel(pred), _per_channel(ref), ok, axis=2)
    return np.where(ok, per_channel.mean(axis=-1), np.inf)


def nrmse_pooled_per_sample(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """Pooled nRMSE per sample and frame, ``(batch, time)``: one norm over space and channels."""
    _check_pair(pred, ref, ndim)
    ok = finite_mask(pred)
    return np.where(ok, _relative_l2(_flat(pred), _flat(ref), ok, axis=-1), np.inf)


def nrmse_vs_time(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """Sample-mean PDEBench nRMSE against time, ``(time,)`` (see :data:`NRMSE_DEFINITION`)."""
    return np.mean(nrmse_per_sample(pred, ref, ndim=ndim), axis=0)


def nrmse_pooled_vs_time(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """Sample-mean pooled nRMSE against time, ``(time,)`` (see :data:`NRMSE_POOLED_DEFINITION`)."""
    return np.mean(nrmse_pooled_per_sample(pred, ref, ndim=ndim), axis=0)


def correlation_vs_time(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """Sample-mean Pearson correlation against time, ``(time,)``; 0 for blown-up samples."""
    _check_pair(pred, ref, ndim)
    ok = finite_mask(pred)
    p = np.where(ok[..., None], _flat(pred), 0.0)
    r = _flat(ref)
    p = p - p.mean(-1, keepdims=True)
    r = r - r.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt(np.sum(p**2, -1) * np.sum(r**2, -1))
        c = np.where(den > 0, np.sum(p * r, -1) / np.where(den > 0, den, 1.0), 0.0)
    return np.mean(np.where(ok, c, 0.0), axis=0)


def _curve(corr: Any, times: Any) -> tuple[np.ndarray, np.ndarray]:
    corr = np.asarray(corr, np.float64)
    times = np.asarray(times, np.float64)
    if corr.shape != times.shape or corr.ndim != 1 or corr.size == 0:
        raise ValueError(
            f"correlation_time: corr {corr.shape} and times {times.shape} must be the same "
            "non-empty 1-D shape (one value per saved frame)"
        )
    return corr, times


def correlation_time(corr: Any, times: Any, threshold: float = 0.8) -> float:
    """First time the correlation curve drops below ``threshold``, linearly interpolated.

    Returns the last time in ``times`` if it never drops below (a lower bound).
    """
    corr, times = _curve(corr, times)
    below = np.flatnonzero(~(corr >= threshold))
    if below.size == 0:
        return float(times[-1])
    i = int(below[0])
    if i == 0:
        return float(times[0])
    c0, c1 = corr[i - 1], corr[i]
    frac = (c0 - threshold) / (c0 - c1) if np.isfinite(c1) and c0 != c1 else 0.0
    return float(times[i - 1] + frac * (times[i] - times[i - 1]))


def correlation_time_kochkov2021(
    corr: Any, times: Any, threshold: float = KOCHKOV2021_THRESHOLD
) -> float:
    """Kochkov et al. 2021's "time until the vorticity correlation drops below 0.95".

    The time of the first *saved frame* whose correlation is below ``threshold`` (no
    interpolation: what a table of saved frames shows); the last time if it never drops below.
    """
    corr, times = _curve(corr, times)
    below = np.flatnonzero(~(corr >= threshold))
    return float(times[below[0]] if below.size else times[-1])


def correlation_time_definition(kind: str = "interpolated", threshold: float = 0.8) -> dict:
    """What a ``summary.json`` states about its correlation times.

    Args:
      kind: ``"interpolated"`` (:func:`correlation_time`) or ``"kochkov2021"``
        (:func:`correlation_time_kochkov2021`).
      threshold: the correlation threshold used.
    """
    texts = {
        "interpolated": "first time the sample-mean Pearson correlation with the reference drops "
        "below the threshold, linearly interpolated between saved frames",
        "kochkov2021": "Kochkov et al. 2021: time of the first saved frame whose sample-mean "
        "(vorticity) correlation with the reference is below the threshold",
    }
    check_choice(kind, texts, name="correlation time kind")
    return {"definition": kind, "threshold": float(threshold), "description": texts[kind]}


def blowup_time(pred: np.ndarray, times: Any, *, bound: float | None = None) -> float:
    """First saved time at which any sample is non-finite (or above ``bound``); ``inf`` if never."""
    ok = finite_mask(pred, bound)
    bad = np.flatnonzero(~ok.all(axis=0))
    return float(np.asarray(times)[bad[0]]) if bad.size else math.inf
