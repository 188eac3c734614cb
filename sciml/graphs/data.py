"""Training data for graph steppers: windows of mesh trajectories and normalisation statistics.

Trajectories are ``(S, T, N, C)`` arrays (samples, frames, nodes, variables), e.g. the fields of
a file written by ``sciml simulate fem-heat`` (``sciml.solvers.fem.trajectory.read_trajectory``).
Consecutive frames are one stepper step apart.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _check(traj: np.ndarray) -> np.ndarray:
    traj = np.asarray(traj)
    if traj.ndim != 4:
        raise ValueError(
            f"trajectories: expected (samples, frames, nodes, variables), found shape {traj.shape}"
        )
    return traj


def make_windows(traj: np.ndarray, *, n_target: int = 1, stride: int = 1) -> dict[str, np.ndarray]:
    """``{"inputs": (n, 1, N, C), "targets": (n, n_target, N, C)}`` float32 windows (the items of
    :class:`sciml.train.RolloutTask`), every ``stride`` frames of every sample."""
    traj = _check(traj)
    s, t = traj.shape[:2]
    if n_target < 1 or t < n_target + 1:
        raise ValueError(
            f"make_windows: {t} frames cannot hold 1 input + n_target={n_target} target frames"
        )
    starts = np.arange(0, t - n_target, stride)
    idx = starts[:, None] + np.arange(n_target + 1)[None]
    win = traj[:, idx].reshape(s * len(starts), n_target + 1, *traj.shape[2:])
    win = win.astype(np.float32)
    return {"inputs": win[:, :1], "targets": win[:, 1:]}


def normalisation_stats(traj: np.ndarray, dt: float) -> dict[str, list[float]]:
    """Per-channel mean and std of the states and of the finite-difference tendencies
    ``(z[t+1] - z[t]) / dt`` (std floored at 1e-6 of the state std, so no division by zero)."""
    traj = _check(traj).astype(np.float64)
    c = traj.shape[-1]
    z = traj.reshape(-1, c)
    dz = (np.diff(traj, axis=1) / dt).reshape(-1, c)
    s_std = np.maximum(z.std(0), 1e-12)
    return {
        "state_mean": z.mean(0).tolist(),
        "state_std": s_std.tolist(),
        "tendency_mean": dz.mean(0).tolist(),
        "tendency_std": np.maximum(dz.std(0), 1e-6 * s_std).tolist(),
    }


def data_hash(traj: np.ndarray) -> str:
    """``sha256:`` of the array bytes (provenance, exported with the weights)."""
    a = np.ascontiguousarray(traj)
    return "sha256:" + hashlib.sha256(a.tobytes()).hexdigest()[:16]
