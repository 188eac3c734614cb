"""Long rollouts: does an emulator stay bounded, and does it keep the attractor's statistics?

A stepper imported into a production code runs for thousands of steps, far beyond the horizon it
was trained on, where point-wise errors have long saturated (chaotic systems decorrelate). What
still matters there is whether the rollout stays bounded and whether its *statistics* match the
reference's, averaged over the attractor (APEBench; Stachenfeld et al. 2022; Lippe et al. 2023):

- bounded fraction: the share of trajectories whose every frame is finite with
  ``max|u| <= bound_factor * max|u_reference|``;
- time to blow-up: per trajectory, the first saved time that breaks that bound (``inf`` if none);
- time-averaged energy spectrum of the bounded trajectories after a burn-in, against the
  reference's, as the relative error per wavenumber shell over the resolved shells
  ``1 <= s <= s_max`` (default ``s_max = N // 3``: the modes a grid of N points represents
  without aliasing a quadratic nonlinearity, the 2/3 rule);
- the distribution of field values: the Wasserstein-1 distance between the pooled values of
  prediction and reference, in units of the reference's standard deviation, and the ratio of the
  standard deviations;
- optionally (``exclude_settled``), the averages are taken over the *unsettled* frames only, and
  the share of settled frames is reported for both. A frame is settled when its power spectrum
  ``|u_hat(k)|^2`` (translation-invariant) changed by less than ``settle_tol`` (relative, summed
  over modes) since the previous frame: the field is steady up to a translation. Chaotic systems
  can hold stable steady or travelling-wave states beside their chaotic attractor; 1-D
  Kuramoto-Sivashinsky at L = 64 does (a stable 8-cell state that about 1 in 6 reference
  trajectories falls into within 3000 time units, measured). A trajectory trapped there has a
  spectrum an order of magnitude off the chaotic one's, so one trapped trajectory more or less
  dominates the time-averaged spectrum: compare the chaotic statistics, and report the trapping
  separately. The default tolerance, 1e-2 per saved frame, suits frames about one time unit
  apart: on KS (L = 64, frames 1 apart) chaotic frames change by 0.075 or more (1 % quantile,
  measured) and trapped ones by less than 1e-3, and 1e-2 also catches the last frames of the
  approach to the trapped state.

Arrays are channels last: trajectories ``(batch, T + 1, *spatial, C)``. NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sciml.metrics.spectra import shell_spectrum


def first_unbounded_frame(traj: np.ndarray, bound: float) -> np.ndarray:
    """Per trajectory, the first frame index that is non-finite or exceeds ``bound``; -1 if none.

    Args:
      traj: ``(batch, T + 1, *spatial, C)``.
      bound: the largest admissible ``|u|``.

    Returns:
      ``(batch,)`` int64.
    """
    a = np.asarray(traj)
    flat = a.reshape(a.shape[0], a.shape[1], -1)
    bad = ~np.all(np.isfinite(flat), axis=-1)
    with np.errstate(invalid="ignore"):
        bad |= np.nanmax(np.abs(np.where(np.isfinite(flat), flat, 0.0)), axis=-1) > bound
    return np.where(bad.any(axis=1), np.argmax(bad, axis=1), -1).astype(np.int64)


def settled_frames(traj: np.ndarray, *, ndim: int, tol: float = 1e-2) -> np.ndarray:
    """Frames in which the field is steady up to a translation (see the module docstring).

    Args:
      traj: ``(batch, T + 1, *spatial, C)``, ``ndim`` spatial axes, ``T >= 1``.
      tol: largest relative change of the power spectrum between consecutive frames,
        ``sum_k |P_t(k) - P_{t-1}(k)| / sum_k P_t(k)``, ``P = sum over channels of |u_hat|^2``.

    Returns:
      ``(batch, T + 1)`` bool; frame 0 takes frame 1's value. Non-finite frames are not settled.
    """
    a = np.asarray(traj, np.float64)
    if a.ndim != ndim + 3 or a.shape[1] < 2:
        raise ValueError(
            f"settled_frames: expected (batch, T + 1 >= 2, <{ndim} spatial axes>, channels), "
            f"found shape {a.shape}"
        )
    axes = tuple(range(2, 2 + ndim))
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.sum(np.abs(np.fft.rfftn(np.nan_to_num(a, nan=np.inf), axes=axes)) ** 2, axis=-1)
        p = p.reshape(*p.shape[:2], -1)
        change = np.sum(np.abs(np.diff(p, axis=1)), axis=-1) / np.sum(p[:, 1:], axis=-1)
    change = np.where(np.isfinite(change), change, np.inf)
    flag = change < tol
    return np.concatenate([flag[:, :1], flag], axis=1)


def _wasserstein1(a: np.ndarray, b: np.ndarray, n: int = 4096) -> float:
    """W1 between two 1-D empirical distributions via their quantile functions (``n`` levels)."""
    q = (np.arange(n) + 0.5) / n
    return float(np.mean(np.abs(np.quantile(a, q) - np.quantile(b, q))))


def long_rollout_statistics(
    traj: np.ndarray,
    reference: np.ndarray,
    *,
    ndim: int,
    length: float | Sequence[float],
    dt: float,
    bound_factor: float = 10.0,
    burn_in: int = 0,
    max_shell: int | None = None,
    exclude_settled: bool = False,
    settle_tol: float = 1e-2,
) -> dict[str, Any]:
    """Boundedness and long-time statistics of a rollout against a reference of the same system.

    Args:
      traj: the emulator's rollout ``(batch, T + 1, *spatial, C)``, frames ``dt`` apart.
      reference: reference frames of the same system on the same grid ``(batch', T' + 1,
        *spatial, C)``; only its statistics are used, so it need not start from the same states.
      ndim: number of spatial axes; length: box side(s), for the wavenumbers.
      dt: time between saved frames (time units).
      bound_factor: a frame is unbounded once ``max|u|`` exceeds ``bound_factor`` times the
        reference's ``max|u|``.
      burn_in: frames discarded at the start of both before averaging statistics.
      max_shell: last shell of the spectrum comparison (default ``min(spatial) // 3``).
      exclude_settled: average the statistics over frames that are not settled
        (:func:`settled_frames` with ``settle_tol``) only, in both.

    Returns:
      ``bounded_fraction``, ``blowup_times`` (per trajectory, ``inf`` if bounded),
      ``blowup_time`` (the earliest; ``inf`` if all bounded), ``horizon`` (time of the last frame),
      ``bound``; over the bounded trajectories (``None`` if there are none):
      ``spectrum_k``, ``spectrum_reference``, ``spectrum_learned``, ``spectrum_rel_error``
      (per shell ``1..max_shell``), ``spectrum_max_rel_error``, ``spectrum_mean_rel_error``,
      ``value_w1_over_std``, ``std_ratio``; and ``max_shell``. With ``exclude_settled`` also
      ``settled_fraction`` and ``settled_fraction_reference``: the share of frames after the
      burn-in that are settled (of the bounded trajectories, and of the reference).
    """
    traj = np.asarray(traj)
    reference = np.asarray(reference)
    if traj.shape[2:] != reference.shape[2:]:
        raise ValueError(
            f"long rollout: prediction frames {traj.shape[2:]} and reference frames "
            f"{reference.shape[2:]} differ; compare on the same grid"
        )
    if not 0 <= burn_in < min(traj.shape[1], reference.shape[1]):
        raise ValueError(
            f"long rollout: burn_in must be in [0, {min(traj.shape[1], reference.shape[1])}), "
            f"found {burn_in}"
        )
    spatial = traj.shape[2 : 2 + ndim]
    s_max = min(spatial) // 3 if max_shell is None else int(max_shell)
    bound = bound_factor * float(np.max(np.abs(reference)))
    first = first_unbounded_frame(traj, bound)
    times = np.where(first >= 0, first * dt, math.inf)
    ok = first < 0
    out: dict[str, Any] = {
        "bounded_fraction": float(np.mean(ok)),
        "blowup_times": times.tolist(),
        "blowup_time": float(times.min()),
        "horizon": (traj.shape[1] - 1) * dt,
        "bound": bound,
        "bound_definition": f"finite and max|u| <= {bound_factor} x max|u_reference|",
        "max_shell": s_max,
    }
    keys = (
        "spectrum_k",
        "spectrum_reference",
        "spectrum_learned",
        "spectrum_rel_error",
        "spectrum_max_rel_error",
        "spectrum_mean_rel_error",
        "value_w1_over_std",
        "std_ratio",
    )
    if not ok.any():
        return out | dict.fromkeys(keys)
    pred = traj[ok, burn_in:]
    ref = reference[:, burn_in:]
    if exclude_settled:
        s_pred = settled_frames(traj[ok], ndim=ndim, tol=settle_tol)[:, burn_in:]
        s_ref = settled_frames(reference, ndim=ndim, tol=settle_tol)[:, burn_in:]
        out["settled_fraction"] = float(s_pred.mean())
        out["settled_fraction_reference"] = float(s_ref.mean())
        if s_pred.all() or s_ref.all():
            return out | dict.fromkeys(keys)
        pred, ref = pred[~s_pred][None], ref[~s_ref][None]  # (1, frames, *spatial, C)
    k, e_ref = shell_spectrum(ref, ndim=ndim, length=length)
    _, e_pred = shell_spectrum(pred, ndim=ndim, length=length)
    shells = slice(1, s_max + 1)
    rel = np.abs(e_pred[shells] - e_ref[shells]) / e_ref[shells]
    std = float(np.std(ref))
    return out | {
        "spectrum_k": k[shells].tolist(),
        "spectrum_reference": e_ref[shells].tolist(),
        "spectrum_learned": e_pred[shells].tolist(),
        "spectrum_rel_error": rel.tolist(),
        "spectrum_max_rel_error": float(rel.max()),
        "spectrum_mean_rel_error": float(rel.mean()),
        "value_w1_over_std": _wasserstein1(pred.ravel(), ref.ravel()) / std,
        "std_ratio": float(np.std(pred)) / std,
    }
