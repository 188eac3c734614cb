"""Long rollouts of the graphs reproduction: what a learned diffusion stepper does over 1000 steps.

The problem, ``du/dt = kappa laplace(u)`` with ``u = 0`` on the boundary of the unit square, has
no attractor: every solution decays to zero, after a transient as ``exp(-kappa lambda_1 t)``
along the slowest eigenmode ``sin(pi x) sin(pi y)`` (``lambda_1 = 2 pi^2``). A time-averaged
spectrum or value histogram, as reported for chaotic systems, would only measure the transient.
What a physicist needs to know of a diffusion emulator run far past its training horizon is
instead (:mod:`sciml.metrics.dissipation`):

- does it stay bounded (``max|u| <= 10 max|u_reference|``, :func:`first_unbounded_frame`), and
  is it dissipative: does the discrete energy ``||u||_M`` (``M`` the FEM mass matrix) never grow?
  Crank-Nicolson keeps that exactly; a learned stepper need not;
- does it decay at the physical rate: the least-squares rate of ``log ||u||_M`` over the second
  half of the long horizon, against the reference's (and the analytic ``2 pi^2 kappa``; the FEM's
  own rate is ``kappa lambda_1,h``, ``lambda_1,h`` the smallest eigenvalue of ``K phi = lambda M
  phi``, an upper bound within ``O(h^2)`` of ``2 pi^2``);
- does it decay to the right shape: the late fields' energy outside the slowest discrete
  eigenmode (the eigenbasis of the FEM Laplacian, a cotangent-weighted graph Laplacian of the
  mesh), and the late energy per eigenmode shell ``floor(sqrt(lambda) / pi)``. A
  stepper whose tendency has a spurious zero ``G(u*) = 0`` stops decaying at ``u*``: its decay
  rate falls to zero and its shape error to that of ``u*``.

All learned models and the reference start from the held-out initial states and run
``max(long_min_frames, long_factor x unroll)`` frames (the training unroll being one frame).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

ENERGY_RTOL = 1e-5  # a frame "grows" if ||u||_M exceeds the previous frame's by more than this
BOUND_FACTOR = 10.0
WINDOW_START = 0.5  # the decay rate is fitted over the second half of the long horizon ...
WINDOW_FLOOR = 1e-10  # ... where the reference is above this fraction of its initial norm
COLORS = {"convnet": "tab:purple", "cheb": "tab:brown", "gcn": "tab:pink", "mpnn": "tab:gray"}


def long_frames(setup: Any) -> int:
    """Frames of the long rollouts: ``max(long_min_frames, long_factor x unroll)``."""
    return max(int(setup.long_min_frames), int(setup.long_factor) * int(setup.unroll))


def reference_long(mesh: Any, setup: Any, z0: np.ndarray, n_frames: int) -> tuple[np.ndarray, Any]:
    """The FEM reference (Crank-Nicolson, ``substeps`` per frame) from ``z0`` ``(S, N, 1)``:
    ``(S, n_frames + 1, N, 1)`` float64 and the solver (its ``M``, ``K``, boundary nodes)."""
    from sciml.solvers.fem import FEMHeat

    solver = FEMHeat(
        mesh,
        setup.frame_dt / setup.substeps,
        kappa=setup.kappa,
        dirichlet={t: 0.0 for t in mesh.tag_names},
    )
    traj, _ = solver.run(z0, n_frames * setup.substeps, save_every=setup.substeps)
    return traj, solver


def dirichlet_modes(solver: Any) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the FEM Laplacian on the free nodes, ``K_ff phi = lambda M_ff phi``:
    eigenvalues ``(m,)`` ascending (1 / length^2) and ``M``-orthonormal modes ``(N, m)``, zero
    on the Dirichlet nodes. Dense: a few thousand nodes at most."""
    from scipy.linalg import eigh

    lam, phi = eigh(solver.K_ff.toarray(), solver.M_ff.toarray())
    modes = np.zeros((solver.mesh.n_nodes, lam.size))
    modes[solver.bc.free_nodes] = phi
    return lam, modes


def long_statistics(
    traj: np.ndarray,
    reference: np.ndarray,
    *,
    solver: Any,
    modes: np.ndarray,
    eigenvalues: np.ndarray,
    kappa: float,
    dt: float,
    train_horizon: float,
) -> dict[str, Any]:
    """Boundedness, energy monotonicity, decay rate and late shape of ``traj`` against the long
    reference (both ``(S, T + 1, N, 1)`` from the same initial states, frames ``dt`` apart)."""
    from sciml.metrics.dissipation import (
        decay_rate,
        eigen_shell_spectrum,
        first_growth_frame,
        late_window,
        modal_energy_fractions,
        weighted_norm,
    )
    from sciml.metrics.long_rollout import first_unbounded_frame

    traj = np.asarray(traj, np.float64)
    bound = BOUND_FACTOR * float(np.max(np.abs(reference)))
    first = first_unbounded_frame(traj, bound)
    ok = first < 0
    blowup = np.where(ok, np.inf, first * dt)
    norms, ref_norms = weighted_norm(traj, solver.M), weighted_norm(reference, solver.M)
    growth = first_growth_frame(norms, rtol=ENERGY_RTOL)
    window = late_window(ref_norms, start=WINDOW_START, floor=WINDOW_FLOOR)
    rate, ref_rate = decay_rate(norms, dt, window=window), decay_rate(ref_norms, dt, window=window)
    rate = np.where(ok, rate, np.nan)
    frac = modal_energy_fractions(traj[:, window], modes, solver.M)
    frac = np.where(ok[:, None, None], frac, np.nan)
    k, shells = eigen_shell_spectrum(frac, eigenvalues, dk=np.pi)
    ref_frac = modal_energy_fractions(np.asarray(reference, np.float64)[:, window], modes, solver.M)
    _, ref_shells = eigen_shell_spectrum(ref_frac, eigenvalues, dk=np.pi)
    horizon = (traj.shape[1] - 1) * dt
    analytic = 2 * np.pi**2 * kappa
    with np.errstate(invalid="ignore", divide="ignore"):
        residual = norms[:, -1] / norms[:, 0]
    return {
        "long_horizon": horizon,
        "long_horizon_over_training_horizon": horizon / train_horizon,
        "bounded_fraction_long": float(np.mean(ok)),
        "blowup_time_learned": float(blowup.min()),
        "energy_monotone_fraction": float(np.mean(growth < 0)),
        "first_energy_growth_time": float(np.where(growth < 0, np.inf, growth * dt).min()),
        "decay_rate": _nanmean(rate),
        "decay_rate_rel_error": _nanmean(np.abs(rate - ref_rate) / ref_rate),
        "decay_rate_rel_error_analytic": abs(_nanmean(rate) - analytic) / analytic,
        "late_energy_outside_slowest_mode": _nanmean(np.maximum(1.0 - frac[..., 0], 0.0)),
        "late_shell_spectrum": shells[1:].tolist(),  # shells 1, 2, ... (k / pi)
        "spectrum_error_long": 0.5 * float(np.sum(np.abs(shells - ref_shells))),
        "final_norm_over_initial": _nanmedian(np.where(ok, residual, np.nan)),
        "reference_decay_rate": float(np.mean(ref_rate)),
        "window_times": [window.start * dt, (window.stop - 1) * dt],
        "norm_curve": _nanmedian(norms / norms[:, :1], axis=0),  # figure only
        "shell_k": k[1:].tolist(),
    }


def reference_summary(
    reference: np.ndarray,
    *,
    solver: Any,
    modes: np.ndarray,
    eigenvalues: np.ndarray,
    kappa: float,
    dt: float,
    train_horizon: float,
) -> dict[str, Any]:
    """The reference's own long-time statistics against the analytic and the FEM's discrete rate."""
    stats = long_statistics(
        reference,
        reference,
        solver=solver,
        modes=modes,
        eigenvalues=eigenvalues,
        kappa=kappa,
        dt=dt,
        train_horizon=train_horizon,
    )
    analytic = 2 * np.pi**2 * kappa
    discrete = kappa * float(eigenvalues[0])
    return {
        **{k: stats[k] for k in ("long_horizon", "energy_monotone_fraction", "window_times")},
        **{k: stats[k] for k in ("late_energy_outside_slowest_mode", "late_shell_spectrum")},
        "spectrum_error_long": stats["spectrum_error_long"],
        "decay_rate": stats["decay_rate"],
        "decay_rate_analytic": analytic,
        "decay_rate_fem_discrete": discrete,
        "decay_rate_rel_error_analytic": stats["decay_rate_rel_error_analytic"],
        "fem_eigenvalue_rel_error": (discrete - analytic) / analytic,
        "final_norm_over_initial": stats["final_norm_over_initial"],
        "norm_curve": stats["norm_curve"],
        "shell_k": stats["shell_k"],
    }


def reference_phase(
    mesh: Any, setup: Any, z0: np.ndarray, n_frames: int
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    """The long FEM reference from ``z0``, the context :func:`long_statistics` needs (solver,
    eigenpairs, rates) and the reference's own :func:`reference_summary` (with its wall time)."""
    t0 = time.perf_counter()
    ref, solver = reference_long(mesh, setup, z0, n_frames)
    lam, modes = dirichlet_modes(solver)
    context = {
        "solver": solver,
        "modes": modes,
        "eigenvalues": lam,
        "kappa": setup.kappa,
        "dt": setup.frame_dt,
        "train_horizon": setup.unroll * setup.frame_dt,
    }
    summary = reference_summary(ref, **context)
    summary["long_rollout_s"] = time.perf_counter() - t0
    return ref, context, summary


def definition(n_frames: int, dt: float, train_horizon: float, n_test: int) -> str:
    """The ``definition`` string of the long-rollout fields of ``summary.json``."""
    return (
        f"{n_test} held-out initial states rolled out {n_frames} frames ({n_frames * dt:g} time "
        f"units, {n_frames * dt / train_horizon:g}x the training unroll of {train_horizon:g}) by "
        "every learned model and by the FEM reference (Crank-Nicolson). bounded_fraction_long: "
        f"share of trajectories with every frame finite and max|u| <= {BOUND_FACTOR:g} x "
        "max|u_reference|; blowup_time_learned: earliest time that breaks it (null: never); "
        "energy_monotone_fraction: share whose ||u||_M (M the FEM mass matrix) never grows by "
        f"more than a factor 1 + {ENERGY_RTOL:g} from one frame to the next (the continuous "
        "problem is dissipative); decay_rate: least-squares rate r of log ||u||_M = a - r t over "
        f"the window [{WINDOW_START:g} T, last frame with the reference above {WINDOW_FLOOR:g} of "
        "its initial norm], mean over bounded trajectories; decay_rate_rel_error: mean "
        "|r - r_reference| / r_reference (the reference's r is within the FEM's O(h^2) "
        "eigenvalue error of 2 pi^2 kappa); late_energy_outside_slowest_mode: 1 - (phi_1^T M "
        "u)^2 / ||u||_M^2 averaged over the window, phi_1 the slowest eigenmode of K phi = "
        "lambda M phi (0 for the exact late solution); late_shell_spectrum: the window-averaged "
        "fraction of ||u||_M^2 in eigenmodes with floor(sqrt(lambda) / pi) = 1, 2, ...; "
        "spectrum_error_long: half the L1 distance between the learned and the reference "
        "late_shell_spectrum (0: same shape distribution over the shells, 1: disjoint; the "
        "reference's late energy is all in shell 1, so this is the energy in the wrong shells); "
        "final_norm_over_initial: median ||u(T)||_M / ||u(0)||_M"
    )


def timed_rollout(step: Any, z0: np.ndarray, n_frames: int) -> tuple[np.ndarray, float]:
    """``(S, n_frames + 1, *state)`` float32 rollout of a compiled ``step`` and its wall time."""
    from sciml.graphs import rollout

    t0 = time.perf_counter()
    traj = rollout(step, z0, n_frames)
    return traj, time.perf_counter() - t0


def norm_panel(ax: Any, curves: dict[str, np.ndarray], dt: float, kappa: float, title: str) -> None:
    """``||u||_M(t) / ||u(0)||_M`` (median over test runs) on a log scale, with the analytic
    slope ``exp(-2 pi^2 kappa t)`` ten times above the reference at mid-horizon."""
    for name, c in curves.items():
        t = np.arange(len(c)) * dt
        ref = "reference" in name
        kw = {"color": "k", "lw": 2.0} if ref else {"color": COLORS.get(name), "lw": 1.0}
        ax.semilogy(t, c, "-", label=name, **kw)
    ref = next((c for n, c in curves.items() if "reference" in n), None)
    if ref is not None:
        t = np.arange(len(ref)) * dt
        m = len(ref) // 2
        slope = 10 * ref[m] * np.exp(-2 * np.pi**2 * kappa * (t - t[m]))
        ax.semilogy(t[m // 2 :], slope[m // 2 :], "k:", lw=1, label="exp(-2 pi^2 kappa t), x10")
        ax.set_ylim(max(float(np.nanmin(ref)) / 10, 1e-14), 10)
    ax.set(title=title, xlabel="t", ylabel="||u||_M / ||u(0)||_M (median)")
    ax.legend(fontsize=6)


def long_panels(fig: Any, methods: dict, long_ref: dict, dt: float, kappa: float) -> None:
    """Row 2: ||u||_M(t) over the long horizon per discretisation; the late eigen-shell spectra."""
    ax_s = fig.add_subplot(2, 3, 6)
    for i, (disc, ref) in enumerate(long_ref.items()):
        curves = {"FEM reference": ref["norm_curve"]}
        curves |= {
            k.split("/", 1)[1]: m["norm_curve"]
            for k, m in methods.items()
            if k.startswith(disc + "/") and "norm_curve" in m
        }
        n_long = len(ref["norm_curve"]) - 1
        norm_panel(
            fig.add_subplot(2, 3, 4 + i),
            curves,
            dt,
            kappa,
            f"{disc}: energy norm over {n_long} steps",
        )
        style = "-" if disc == "grid" else "--"
        ax_s.semilogy(ref["shell_k"], ref["late_shell_spectrum"], "k" + style, lw=2,
                      label=f"{disc}/reference")  # fmt: skip
        for k, m in methods.items():
            if k.startswith(disc + "/") and "late_shell_spectrum" in m:
                name = k.split("/", 1)[1]
                ax_s.semilogy(m["shell_k"], m["late_shell_spectrum"], style, lw=1, label=k,
                              color=COLORS.get(name))  # fmt: skip
    ax_s.set(
        title="late fields: energy fraction per eigenmode shell",
        xlabel="k = sqrt(lambda) of the FEM Laplacian (shells pi wide)",
        ylabel="fraction of ||u||_M^2",
        ylim=(1e-16, 2),
    )
    ax_s.legend(fontsize=5, ncol=2)


def _nanmean(a: np.ndarray) -> float:
    a = np.asarray(a, np.float64)
    return float(np.mean(a[np.isfinite(a)])) if np.isfinite(a).any() else float("nan")


def _nanmedian(a: np.ndarray, axis: int | None = None) -> Any:
    with warnings.catch_warnings():  # all-NaN slices (every rollout blown up) give NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmedian(a, axis=axis)
    return float(out) if axis is None else out
