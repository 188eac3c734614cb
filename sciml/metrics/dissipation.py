"""Long rollouts of dissipative problems without an attractor: energy, decay rate, decay shape.

For diffusion-like problems with homogeneous Dirichlet data, ``du/dt = -A u`` with ``A``
symmetric positive definite, every solution decays to zero. The attractor statistics of
:mod:`sciml.metrics.long_rollout` (time-averaged spectra) are then meaningless; what a long
rollout of an emulator must reproduce is:

- energy stability: the norm ``||u||_M = sqrt(u^T M u)`` never grows (the continuous problem
  has ``d/dt ||u||^2 = -2 (u, A u) <= 0``; a Galerkin discretisation with the mass matrix ``M``
  and a Crank-Nicolson or implicit-Euler step keeps it exactly);
- the asymptotic decay rate: ``||u(t)|| ~ c exp(-r t)`` once the higher eigenmodes have died,
  with ``r = kappa lambda_1`` the smallest eigenvalue of the (discrete) operator;
- the asymptotic shape: the field aligns with the slowest eigenmode ``phi_1``; the energy left
  in the other modes (fractions of ``||u||_M^2`` in the ``M``-orthonormal eigenbasis ``K phi =
  lambda M phi``) measures how far an emulator's late states are from that shape. An emulator
  whose tendency has a spurious zero ``G(u*) = 0, u* != 0`` stops decaying and keeps the shape
  of ``u*``.

Arrays are channels last: trajectories ``(batch, T + 1, *spatial, C)``, norms ``(batch, T + 1)``.
NumPy only; ``mass`` may be anything with ``mass @ x`` (a NumPy or SciPy sparse matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _nodes(traj: np.ndarray, n: int, what: str) -> np.ndarray:
    a = np.asarray(traj, np.float64)
    if a.ndim != 4 or a.shape[2] != n:
        raise ValueError(
            f"{what}: expected trajectories (batch, frames, {n}, C) on the {n} nodes of the mass "
            f"matrix, found shape {a.shape}"
        )
    return a


def weighted_norm(traj: np.ndarray, mass: Any = None) -> np.ndarray:
    """``||u||_M = sqrt(sum_c u_c^T M u_c)`` per trajectory and frame.

    Args:
      traj: ``(batch, T + 1, *spatial, C)``; with ``mass``: ``(batch, T + 1, N, C)``.
      mass: ``None`` (Euclidean norm over points and channels), a vector of ``N`` nodal weights
        (lumped mass) or an ``(N, N)`` matrix (consistent mass, dense or SciPy sparse).

    Returns:
      ``(batch, T + 1)`` float64; NaN where the frame is not finite.
    """
    if mass is None:
        a = np.asarray(traj, np.float64)
        return np.sqrt(np.sum(a.reshape(a.shape[0], a.shape[1], -1) ** 2, axis=-1))
    n = mass.shape[0]
    a = _nodes(traj, n, "weighted_norm")
    b, t, _, c = a.shape
    flat = np.moveaxis(a, 2, 0).reshape(n, -1)  # (N, B T C)
    if getattr(mass, "ndim", 2) == 1:
        mu = np.asarray(mass, np.float64)[:, None] * flat
    else:
        mu = np.asarray(mass @ flat)
    with np.errstate(invalid="ignore", over="ignore"):
        sq = np.sum(flat * mu, axis=0).reshape(b, t, c).sum(-1)
        return np.sqrt(np.where(np.isfinite(sq), np.maximum(sq, 0.0), np.nan))


def first_growth_frame(norms: np.ndarray, *, rtol: float = 1e-5, atol: float = 0.0) -> np.ndarray:
    """Per trajectory, the first frame whose norm exceeds the previous one's; -1 if none.

    Frame ``t >= 1`` grows if ``norms[t] > norms[t - 1] (1 + rtol) + atol`` or is not finite.

    Args:
      norms: ``(batch, T + 1)``, e.g. from :func:`weighted_norm`.
      rtol, atol: tolerance of the comparison (round-off of the stepper's arithmetic).

    Returns:
      ``(batch,)`` int64.
    """
    n = np.asarray(norms, np.float64)
    if n.ndim != 2:
        raise ValueError(f"norms: expected (batch, frames), found shape {n.shape}")
    with np.errstate(invalid="ignore"):
        grow = ~np.isfinite(n[:, 1:]) | (n[:, 1:] > n[:, :-1] * (1.0 + rtol) + atol)
    return np.where(grow.any(axis=1), np.argmax(grow, axis=1) + 1, -1).astype(np.int64)


def late_window(reference_norms: np.ndarray, *, start: float = 0.5, floor: float = 1e-10) -> slice:
    """The frames of the last part of the horizon where the reference is above round-off.

    From frame ``ceil(start T)`` to the last frame at which every reference trajectory still has
    ``norm >= floor * norm(0)``.

    Args:
      reference_norms: ``(batch, T + 1)``.
      start: fraction of the horizon before the window (lets the faster modes die).
      floor: smallest admissible ``norm / norm(0)``.

    Returns:
      A slice of frames, at least two long.
    """
    n = np.asarray(reference_norms, np.float64)
    if n.ndim != 2:
        raise ValueError(f"reference_norms: expected (batch, frames), found shape {n.shape}")
    t = n.shape[1] - 1
    first = int(np.ceil(start * t))
    above = np.all(n >= floor * n[:, :1], axis=0)
    below = np.flatnonzero(~above)
    last = t if below.size == 0 else int(below[0]) - 1
    if last - first < 1:
        raise ValueError(
            f"late_window: the reference falls below floor={floor:g} of its initial norm at frame "
            f"{last + 1}, before the window starts at frame {first} of {t}; lower start or floor"
        )
    return slice(first, last + 1)


def decay_rate(norms: np.ndarray, dt: float, *, window: slice = slice(None)) -> np.ndarray:
    """Per trajectory, the rate ``r`` of the least-squares fit ``log norm = a - r t`` over
    ``window`` (frames ``dt`` apart); NaN where a norm in the window is not finite and positive.

    Returns:
      ``(batch,)`` float64 in 1 / time units (positive for decay, negative for growth).
    """
    n = np.asarray(norms, np.float64)
    if n.ndim != 2:
        raise ValueError(f"norms: expected (batch, frames), found shape {n.shape}")
    seg = n[:, window]
    if seg.shape[1] < 2:
        raise ValueError(f"decay_rate: the window holds {seg.shape[1]} frames, need >= 2")
    t = np.arange(n.shape[1], dtype=np.float64)[window] * dt
    ok = np.all(np.isfinite(seg) & (seg > 0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(np.where(ok[:, None], seg, 1.0))
    tc = t - t.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ tc / (tc @ tc)
    return np.where(ok, -slope, np.nan)


def modal_energy_fractions(traj: np.ndarray, modes: np.ndarray, mass: Any) -> np.ndarray:
    """Fractions of ``||u||_M^2`` in each eigenmode: ``(phi_k^T M u)^2 / ||u||_M^2``.

    Args:
      traj: ``(batch, T + 1, N, C)``.
      modes: ``(N, m)``, ``M``-orthonormal (``modes^T M modes = I``), e.g. the generalised
        eigenvectors of ``K phi = lambda M phi``.
      mass: ``(N, N)`` or ``(N,)``, as in :func:`weighted_norm`.

    Returns:
      ``(batch, T + 1, m)`` summed over channels; they sum to 1 over a complete basis.
    """
    a = _nodes(traj, modes.shape[0], "modal_energy_fractions")
    b, t, n, c = a.shape
    flat = np.moveaxis(a, 2, 0).reshape(n, -1)
    mu = (
        np.asarray(mass, np.float64)[:, None] * flat
        if getattr(mass, "ndim", 2) == 1
        else np.asarray(mass @ flat)
    )
    coef = (np.asarray(modes, np.float64).T @ mu).reshape(-1, b, t, c)  # (m, B, T, C)
    energy = np.moveaxis(np.sum(coef**2, axis=-1), 0, -1)  # (B, T, m)
    total = np.sum(flat * mu, axis=0).reshape(b, t, c).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return energy / total[..., None]


def eigen_shell_spectrum(
    fractions: np.ndarray, eigenvalues: np.ndarray, *, dk: float
) -> tuple[np.ndarray, np.ndarray]:
    """Energy fractions per shell of wavenumber ``k = sqrt(lambda)``, shells ``dk`` wide.

    The analogue of a Fourier shell spectrum on a bounded domain or a graph: mode ``j`` falls into
    shell ``s = floor(sqrt(lambda_j) / dk)`` (for the Dirichlet unit square, ``lambda = pi^2 (m^2
    + n^2)``, ``dk = pi`` puts mode ``(m, n)`` into shell ``floor(|(m, n)|)``: the slowest mode
    ``(1, 1)`` alone into shell 1, even for the eigenvalues of a coarse mesh, which lie above the
    exact ones). ``fractions`` ``(..., m)`` are averaged over every leading axis (frames with a
    non-finite entry, e.g. blown-up ones, are left out).

    Returns:
      ``(k, E)``: shell centres ``s dk`` for ``s = 0..max`` and the mean fraction per shell.
    """
    lam = np.asarray(eigenvalues, np.float64)
    f = np.asarray(fractions, np.float64).reshape(-1, lam.size)
    f = f[np.all(np.isfinite(f), axis=1)]
    shell = np.floor(np.sqrt(np.maximum(lam, 0.0)) / dk).astype(np.int64)
    e = np.zeros(int(shell.max()) + 1)
    if f.shape[0]:
        np.add.at(e, shell, f.mean(axis=0))
    else:
        e[:] = np.nan
    return np.arange(e.size) * dk, e
