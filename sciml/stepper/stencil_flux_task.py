"""Supervised face-flux training of :class:`~sciml.stepper.stencil.StencilFluxModel` (Bar-Sinai 2019).

Coarse faces are fine faces. For a fine finite-volume solution ``v`` on ``M = r N`` cells, the
cell average over coarse cell ``i`` (fine cells ``r i .. r i + r - 1``) evolves as

    dZ_i/dt = (1/r) sum_k dv_k/dt = -(F_{r i + r - 1/2} - F_{r i - 1/2}) / (r dx_f) + <f>_i
            = -(Fhat_{i+1/2} - Fhat_{i-1/2}) / dx_c + <f>_i,

the fine solver's fluxes telescope: the exact coarse flux ``Fhat_{i+1/2}`` is the fine flux at the
fine face that coincides with coarse face ``i + 1/2`` (:func:`exact_face_flux`), and the forcing
term is the coarse cell average of the forcing. This is the paper's training signal (the time
derivative of the coarse-grained high-resolution solution): dense (one target per face), and
cheap (no time integration). :class:`StencilFluxTask` fits the model's flux
``G(u^-, u^+) - nu u_x`` (``model.fluxes``) to it by

    loss = mean(((F_model(Z) - Fhat) / s)^2),    s = flux scale (e.g. the std of ``Fhat``),

or ``mean(|F_model(Z) - Fhat| / s)`` with ``norm="l1"`` (closer to the MAE the model is judged
by; it lowered the Burgers error, docs/burgers.md),

as a first stage before unrolled training (:class:`~sciml.stepper.stencil_task.StencilRolloutTask`),
which then absorbs the time-stepping error of the model's large steps.

Batch items: ``u`` ``(N, 1)`` coarse cell averages, ``flux`` ``(N, 1)`` the exact flux at the
faces ``i + 1/2`` (index ``i``); :func:`make_flux_samples` builds them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.solvers.fv import FVBurgers
from sciml.solvers.grid import Grid


def exact_face_flux(
    fine: jax.Array | np.ndarray,
    factor: int,
    *,
    nu: float,
    length: float = 2 * np.pi,
    scheme: str = "weno5",
) -> jax.Array:
    """Flux of the fine solver at the coarse faces.

    Args:
      fine: ``(batch, M, 1)`` fine cell averages (periodic, ``M`` a multiple of ``factor``).
      factor: fine cells per coarse cell ``r``.
      nu: viscosity of the fine solver (length^2 / time); ``length``: the domain length.
      scheme: the fine solver's reconstruction (:class:`~sciml.solvers.fv.FVBurgers`).
    Returns:
      ``(batch, M / r, 1)``: entry ``i`` is the fine flux ``F_{r i + r - 1/2}``, i.e. at the
      coarse face ``i + 1/2`` (velocity^2 units), in the dtype of ``fine``.
    """
    fine = jnp.asarray(fine)
    m, r = fine.shape[1], int(factor)
    if fine.ndim != 3 or fine.shape[-1] != 1 or r < 1 or m % r:
        raise ValueError(
            f"fine: expected shape (batch, M, 1) with M a multiple of factor={factor}, found "
            f"{tuple(fine.shape)}; pass the fine solution and the coarsening factor"
        )
    return _coarse_face_flux(m, r, float(nu), float(length), scheme)(fine)


@functools.lru_cache(maxsize=8)
def _coarse_face_flux(m: int, r: int, nu: float, length: float, scheme: str):
    solver = FVBurgers(Grid((m,), (length,)), 1.0, nu=nu, scheme=scheme)
    return jax.jit(lambda fine: solver.fluxes(fine)[:, r - 1 :: r])


def make_flux_samples(
    fine: np.ndarray,
    factor: int,
    *,
    nu: float,
    length: float = 2 * np.pi,
    scheme: str = "weno5",
    chunk: int = 1024,
) -> dict[str, np.ndarray]:
    """``{"u": (S, N, 1), "flux": (S, N, 1)}`` float32 samples for :class:`StencilFluxTask`.

    ``fine``: ``(..., M, 1)`` fine frames (e.g. ``(batch, T, M, 1)``); every frame is one sample,
    its coarse cell averages and :func:`exact_face_flux`.
    """
    fine = np.asarray(fine)
    flat = fine.reshape(-1, *fine.shape[-2:])
    m, r = flat.shape[1], int(factor)
    u = flat.reshape(flat.shape[0], m // r, r, 1).mean(axis=2)
    flux = np.concatenate(
        [
            np.asarray(exact_face_flux(flat[i : i + chunk], r, nu=nu, length=length, scheme=scheme))
            for i in range(0, flat.shape[0], chunk)
        ]
    )
    return {"u": u.astype(np.float32), "flux": flux.astype(np.float32)}


class StencilFluxTask:
    """Supervised flux loss ``mean(((model.fluxes(u) - flux) / flux_scale)^2)``, or the mean
    absolute value of the same scaled error with ``norm="l1"`` (module docstring).

    Args:
      flux_scale: the flux unit the error is measured in (velocity^2), e.g. the std of the
        targets, so the loss is dimensionless.
      norm: ``"l2"`` (mean squared error, the default) or ``"l1"`` (mean absolute error).
    """

    def __init__(self, flux_scale: float = 1.0, *, norm: str = "l2"):
        if not float(flux_scale) > 0:
            raise ValueError(
                f"flux_scale: expected > 0, found {flux_scale}; e.g. the std of the target fluxes"
            )
        self.flux_scale = float(flux_scale)
        self.norm = check_norm(norm)

    def loss(self, model: nnx.Module, batch: dict[str, jax.Array], *, key: jax.Array, step):
        missing = [k for k in ("u", "flux") if k not in batch]
        if missing:
            raise ValueError(
                f"stencil flux task: batch is missing {missing} (found {sorted(batch)}); build it "
                "with sciml.stepper.stencil_flux_task.make_flux_samples"
            )
        pred = model.fluxes(batch["u"].astype(jnp.float32))
        err = (pred - batch["flux"].astype(jnp.float32)) / self.flux_scale
        mse = jnp.mean(err**2)
        loss = jnp.mean(jnp.abs(err)) if self.norm == "l1" else mse
        return loss, {"flux_rmse": jnp.sqrt(mse)}


NORMS = ("l2", "l1")
"""Error norms of the Burgers training losses: mean squared (``l2``) or mean absolute (``l1``)."""


def check_norm(norm: str) -> str:
    """``norm`` if it is one of :data:`NORMS`, else a one-line ``ValueError``."""
    if norm not in NORMS:
        raise ValueError(f"norm: expected one of {list(NORMS)}, found {norm!r}; e.g. norm='l1'")
    return norm
