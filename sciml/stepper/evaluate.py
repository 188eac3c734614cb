"""Rollout metrics for learned and classical steppers against a reference trajectory.

All trajectories are ``(batch, time, *spatial, channels)`` with frame 0 the common initial state.
Metrics are computed per sample and per frame over the spatial axes and channels, then averaged
over samples:

- nRMSE(t) = ||u_pred(t) - u_ref(t)||_2 / ||u_ref(t)||_2  (dimensionless; 0 is perfect, ~sqrt(2)
  for two uncorrelated fields of equal energy),
- correlation(t): the Pearson correlation of ``u_pred(t)`` and ``u_ref(t)`` over space and
  channels (the "vorticity correlation" of Kochkov et al. 2021 for a vorticity field),
- correlation time: the first time the sample-mean correlation drops below a threshold (0.8),
  linearly interpolated between frames,
- energy spectra: ``E(k) = 1/2 |u_hat(k)|^2`` (1-D) or summed over shells ``|k|`` (2-D/3-D),
- blow-up horizon: the first time a sample leaves the finite range (NaN/Inf or above a bound).

A sample that blows up keeps an infinite nRMSE and a correlation of 0 from that frame on, so a
blown-up rollout never looks accurate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from sciml.solvers.rollout import rollout


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
    return np.asarray(a, np.float64).reshape(a.shape[0], a.shape[1], -1)


def finite_mask(pred: np.ndarray, bound: float | None = None) -> np.ndarray:
    """``(batch, time)`` True while a sample is finite (and ``|u| <= bound``) up to that frame."""
    p = _flat(pred)
    with np.errstate(invalid="ignore"):
        ok = np.all(np.isfinite(p), axis=-1)
        if bound is not None:
            ok &= np.nan_to_num(np.max(np.abs(p), axis=-1), nan=np.inf) <= bound
    return np.logical_and.accumulate(ok, axis=1)


def nrmse_per_sample(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """nRMSE per sample and frame, ``(batch, time)``; ``inf`` from a sample's blow-up on."""
    _check_pair(pred, ref, ndim)
    p, r = _flat(pred), _flat(ref)
    ok = finite_mask(pred)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        num = np.sqrt(np.mean((np.where(ok[..., None], p, 0.0) - r) ** 2, axis=-1))
        den = np.sqrt(np.mean(r**2, axis=-1))
        out = num / np.maximum(den, np.finfo(np.float64).tiny)
    return np.where(ok, out, np.inf)


def nrmse_vs_time(pred: np.ndarray, ref: np.ndarray, *, ndim: int) -> np.ndarray:
    """Sample-mean nRMSE against time, ``(time,)``."""
    return np.mean(nrmse_per_sample(pred, ref, ndim=ndim), axis=0)


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


def correlation_time(corr: np.ndarray, times: np.ndarray, threshold: float = 0.8) -> float:
    """First time the correlation curve drops below ``threshold`` (linear interpolation).

    Returns the last time in ``times`` if it never drops below (a lower bound).
    """
    corr = np.asarray(corr, np.float64)
    times = np.asarray(times, np.float64)
    if corr.shape != times.shape:
        raise ValueError(f"correlation_time: corr {corr.shape} and times {times.shape} differ")
    below = np.flatnonzero(~(corr >= threshold))
    if below.size == 0:
        return float(times[-1])
    i = int(below[0])
    if i == 0:
        return float(times[0])
    c0, c1 = corr[i - 1], corr[i]
    frac = (c0 - threshold) / (c0 - c1) if np.isfinite(c1) and c0 != c1 else 0.0
    return float(times[i - 1] + frac * (times[i] - times[i - 1]))


def blowup_time(pred: np.ndarray, times: np.ndarray, *, bound: float | None = None) -> float:
    """First saved time at which any sample is non-finite (or above ``bound``); ``inf`` if never."""
    ok = finite_mask(pred, bound)
    bad = np.flatnonzero(~ok.all(axis=0))
    return float(np.asarray(times)[bad[0]]) if bad.size else math.inf


def energy_spectrum(
    u: np.ndarray, *, ndim: int, length: float | Sequence[float] = 2 * np.pi
) -> tuple[np.ndarray, np.ndarray]:
    """Energy spectrum of fields ``(..., *spatial, C)`` averaged over leading axes.

    1-D: ``E(k_m) = sum_c 1/2 |u_hat_m|^2`` over ``m = 0..N/2`` (both signs folded), with
    ``u_hat = fft(u) / N`` so that ``sum_k E(k) = 1/2 <u^2>`` (Parseval). 2-D/3-D: the same
    energies summed over shells ``m - 1/2 <= |m| < m + 1/2`` of the integer wavenumber vector.

    Returns:
      ``(k, E)``: angular wavenumbers ``2 pi m / L`` (units 1/length, L from ``length``; the first
      axis's length for shells) and energies, both ``(n_shells,)``.
    """
    u = np.asarray(u, np.float64)
    spatial = u.shape[-1 - ndim : -1]
    lengths = np.broadcast_to(np.asarray(length, np.float64), (ndim,))
    axes = tuple(range(u.ndim - 1 - ndim, u.ndim - 1))
    uh = np.fft.fftn(u, axes=axes) / np.prod(spatial)
    e = 0.5 * np.sum(np.abs(uh) ** 2, axis=-1)
    e = e.reshape(-1, *spatial).mean(axis=0)
    ms = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in spatial], indexing="ij")
    mag = np.sqrt(sum(m**2 for m in ms))
    shells = np.rint(mag).astype(int)
    n_shells = min(spatial) // 2 + 1
    energy = np.bincount(shells.ravel(), weights=e.ravel(), minlength=n_shells)[:n_shells]
    k = 2 * np.pi * np.arange(n_shells) / lengths[0]
    return k, energy


def evaluate_rollout(
    step: Callable[[jax.Array], jax.Array],
    reference: np.ndarray,
    *,
    ndim: int,
    dt: float,
    save_every: int = 1,
    threshold: float = 0.8,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    initial: np.ndarray | None = None,
    blowup_factor: float = 100.0,
    trajectory: np.ndarray | None = None,
) -> dict[str, Any]:
    """Roll ``step`` out from ``reference[:, 0]`` and compare with ``reference``.

    Args:
      step: ``(batch, *spatial, C) -> same`` with time step ``dt``.
      reference: ``(batch, T + 1, *spatial, C)`` frames ``save_every * dt`` apart.
      ndim: spatial axes.
      project: maps the rolled-out trajectory (on the step's grid) to the reference grid (for
        classical solvers at other resolutions); identity by default.
      initial: initial state on the step's grid (default ``reference[:, 0]``).
      trajectory: an already computed rollout ``(batch, T + 1, *spatial_step, C)`` to score
        instead of rolling ``step`` out (``step`` may then be None).
      blowup_factor: a sample counts as blown up once ``max|u|`` exceeds this multiple of the
        reference's ``max|u|``.

    Returns:
      ``{"times", "prediction", "nrmse", "correlation", "nrmse_mean", "correlation_time",
      "blowup_time"}``: curves ``(T + 1,)``, scalar summaries over the whole horizon.
    """
    reference = np.asarray(reference)
    n_frames = reference.shape[1] - 1
    if trajectory is None:
        z0 = reference[:, 0] if initial is None else initial
        trajectory = rollout(
            step,
            jax.numpy.asarray(z0),
            n_frames * save_every,
            save_every=save_every,
            check_finite=False,
        )
    pred = np.asarray(trajectory)
    if project is not None:
        pred = project(pred)
    times = np.arange(n_frames + 1) * save_every * dt
    bound = blowup_factor * float(np.max(np.abs(reference)))
    ok = finite_mask(pred, bound)
    pred = np.where(ok.reshape(ok.shape + (1,) * (pred.ndim - 2)), pred, np.nan)
    err = nrmse_vs_time(pred, reference, ndim=ndim)
    corr = correlation_vs_time(pred, reference, ndim=ndim)
    return {
        "times": times,
        "prediction": pred,
        "nrmse": err,
        "correlation": corr,
        "nrmse_mean": float(np.mean(err[1:])) if n_frames else 0.0,
        "correlation_time": correlation_time(corr, times, threshold),
        "blowup_time": blowup_time(pred, times),
    }
