"""Gaussian initial conditions and Lagrangian perturbation theory (ZA, 2LPT) on the particle grid.

Grid: n^3 particles on the Lagrangian lattice q_ijk = (i, j, k) box/n in a periodic cube of side
``box`` Mpc/h; displacements and momenta are channels last, (n, n, n, 3), in Mpc/h (momenta in
units H0 = 1).

Linear field: delta(k) = sqrt(P(k) / dV) w(k), w the unnormalised FFT of unit real white noise
(so Hermitian by construction), dV = (box/n)^3, P the linear power at the requested a; the
continuous-convention power is <|delta(k)|^2> V^-1 = P(k). The k = 0 mode is zero.

LPT (sign convention of ``background.py``, D2 > 0):

    Lap phi1 = delta_lin,  Lap phi2 = sum_{i<j} (phi1_ii phi1_jj - phi1_ij^2),
    s1 = -grad phi1,  s2 = -grad phi2   (so div s1 = -delta_lin),
    x = q + D1(a) s1 + D2(a) s2,  p = a^3 E dx/da = a^2 E (f1 D1 s1 + f2 D2 s2).

delta_lin here is the linear density at a = 1 (D1 normalised to 1 today). Derivatives are
spectral (i k, zero on Nyquist planes).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.pm.background import Cosmology, E, check_scale_factor, growth_factor, growth_rate
from sciml.solvers.pm.mesh import check_box, check_mesh_size, fft_wavenumbers
from sciml.solvers.pm.power import linear_power

__all__ = ["linear_field", "lpt", "lpt_terms"]


def _k_grid(n: int, box: float) -> np.ndarray:
    ks = fft_wavenumbers(n, box)
    return np.sqrt(sum(k**2 for k in ks))


def linear_field(
    cosmo: Cosmology,
    n: int,
    box: float,
    *,
    key: jax.Array,
    a: float = 1.0,
    wiggles: bool = True,
    dtype=jnp.float32,
) -> jax.Array:
    """Gaussian linear density contrast delta_lin on an n^3 grid, shape (n, n, n), ``dtype``.

    The spectrum is ``linear_power(cosmo, k, wiggles=wiggles, a=a)``; the same ``key`` gives the
    same field (and the same phases for every cosmology, box and a).
    """
    n = check_mesh_size(n, "n")
    box = check_box(box)
    check_scale_factor(a)
    kmag = _k_grid(n, box)
    amp = np.sqrt(linear_power(cosmo, kmag, wiggles=wiggles, a=a) / (box / n) ** 3)
    amp[0, 0, 0] = 0.0
    return _colour(key, jnp.asarray(amp, dtype=dtype), n)


@functools.partial(jax.jit, static_argnums=2)
def _colour(key, amp, n):
    noise = jax.random.normal(key, (n, n, n), dtype=amp.dtype)
    return jnp.fft.irfftn(jnp.fft.rfftn(noise) * amp, s=(n, n, n)).astype(amp.dtype)


def _spectral_ops(n: int, box: float, dtype):
    ks = fft_wavenumbers(n, box)
    k2 = sum(k**2 for k in ks)
    inv = np.where(k2 > 0, 1.0 / np.where(k2 > 0, k2, 1.0), 0.0)
    kd = []  # derivative wavenumbers with the Nyquist planes zeroed
    for d, k in enumerate(ks):
        g = k.copy()
        if n % 2 == 0:
            idx = [slice(None)] * 3
            idx[d] = n // 2
            g[tuple(idx)] = 0.0
        kd.append(g)
    full = [np.broadcast_to(k, inv.shape) for k in ks]
    kdv = [np.broadcast_to(k, inv.shape) for k in kd]
    return (
        jnp.asarray(inv, dtype),
        jnp.asarray(np.stack(full), dtype),
        jnp.asarray(np.stack(kdv), dtype),
    )


@jax.jit
def _lpt_terms(delta, inv, kfull, kd):
    n = delta.shape[0]
    shape = (n, n, n)
    dk = jnp.fft.rfftn(delta)
    # s = -grad phi with phi_k = -delta_k / k^2  ->  s_k = i k delta_k / k^2
    s1 = jnp.stack([jnp.fft.irfftn(1j * kd[d] * inv * dk, s=shape) for d in range(3)], -1)

    # phi1_ij = F^-1[k_i k_j delta_k / k^2]
    def phi(i, j):
        ki = kfull[i] if i == j else kd[i]
        kj = kfull[j] if i == j else kd[j]
        return jnp.fft.irfftn(ki * kj * inv * dk, s=shape)

    p00, p11, p22 = phi(0, 0), phi(1, 1), phi(2, 2)
    p01, p02, p12 = phi(0, 1), phi(0, 2), phi(1, 2)
    delta2 = p00 * p11 + p00 * p22 + p11 * p22 - p01**2 - p02**2 - p12**2
    d2k = jnp.fft.rfftn(delta2)
    s2 = jnp.stack([jnp.fft.irfftn(1j * kd[d] * inv * d2k, s=shape) for d in range(3)], -1)
    return s1.astype(delta.dtype), s2.astype(delta.dtype)


def _check_delta(delta_lin) -> int:
    shape = getattr(delta_lin, "shape", None)
    if shape is None or len(shape) != 3 or len(set(shape)) != 1:
        raise ValueError(
            f"delta_lin: expected a cubic grid (n, n, n), found shape {shape}; "
            "make it with linear_field(cosmo, n, box, key=...)"
        )
    if not isinstance(delta_lin, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(delta_lin))):
        raise ValueError(
            "delta_lin: expected finite values, found NaN or Inf; regenerate the field"
        )
    return int(shape[0])


def lpt_terms(delta_lin: jax.Array, box: float) -> tuple[jax.Array, jax.Array]:
    """First- and second-order displacement fields s1, s2, each (n, n, n, 3) in Mpc/h.

    ``delta_lin`` (n, n, n) is the linear density at a = 1; x = q + D1 s1 + D2 s2.
    """
    n = _check_delta(delta_lin)
    box = check_box(box)
    ops = _spectral_ops(n, box, delta_lin.dtype)
    return _lpt_terms(delta_lin, *ops)


def lpt(
    cosmo: Cosmology, delta_lin: jax.Array, box: float, a: float, *, order: int = 2
) -> tuple[jax.Array, jax.Array]:
    """ZA (``order=1``) or 2LPT (``order=2``) displacement and momentum at scale factor ``a``.

    Args:
      delta_lin: linear density contrast at a = 1, (n, n, n).
      box: side in Mpc/h.
      a: scale factor of the output.
    Returns:
      (displacement, momentum), each (n, n, n, 3) in delta_lin's dtype; displacement
      x - q = D1 s1 [+ D2 s2] in Mpc/h, momentum p = a^2 E (f1 D1 s1 [+ f2 D2 s2]) (H0 = 1).
    """
    if order not in (1, 2):
        raise ValueError(f"lpt: order expected 1 (ZA) or 2 (2LPT), found {order!r}")
    a = float(check_scale_factor(a))
    s1, s2 = lpt_terms(delta_lin, box)
    d1 = float(growth_factor(cosmo, a))
    f1 = float(growth_rate(cosmo, a))
    pref = a * a * float(E(cosmo, a))
    disp = d1 * s1
    mom = (pref * f1 * d1) * s1
    if order == 2:
        d2 = float(growth_factor(cosmo, a, order=2))
        f2 = float(growth_rate(cosmo, a, order=2))
        disp = disp + d2 * s2
        mom = mom + (pref * f2 * d2) * s2
    return disp.astype(delta_lin.dtype), mom.astype(delta_lin.dtype)
