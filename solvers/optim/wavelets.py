"""Orthonormal Daubechies wavelets in JAX (periodic boundaries) and the l1-wavelet penalty.

Why our own transform and not PyWavelets at run time: FISTA applies the transform and its
inverse twice per iteration inside ``jit``; a host library would need a device-to-host round
trip per iteration and could not be differentiated or batched. The transform here is one dense
orthogonal matrix per axis and level (:func:`analysis_matrix`) and is checked in the tests against PyWavelets (``periodization`` mode),
for orthonormality (``W^T W = I``) and perfect reconstruction.

Filters: ``db1`` (Haar) ... ``db10`` from the spectral factorisation of Daubechies'
polynomial ``P(y) = sum_{k<N} C(N-1+k, k) y^k`` (roots inside the unit circle: the extremal-phase
filters of Daubechies 1988, as tabulated). ``h`` has ``2N`` taps, ``sum h = sqrt(2)``,
``sum_k h_k h_{k+2m} = delta_m``; the high-pass filter is ``g_k = (-1)^k h_{2N-1-k}``.

One level along an axis of length ``n`` (even)::

    a_j = sum_k h_k x_{(2j + k) mod n},   d_j = sum_k g_k x_{(2j + k) mod n},   j < n / 2

is an orthogonal map; the inverse is its transpose. :func:`wavedec2` applies it along the last
two axes (rows, then columns), ``levels`` times on the low-low block, and stores the
coefficients in place: an array of the image's shape ``(..., H, W)`` with the coarse
approximation in the top-left ``(H / 2^levels, W / 2^levels)`` block. ``H`` and ``W`` must be
divisible by ``2^levels``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


@functools.cache
def daubechies(n_moments: int) -> np.ndarray:
    """Low-pass reconstruction filter ``h`` ``(2N,)`` float64 of ``dbN`` (``db1`` is Haar)."""
    N = int(n_moments)
    if not 1 <= N <= 10:
        raise ValueError(
            f"wavelet: expected db1 ... db10 (N vanishing moments, 1 <= N <= 10), found db{N}"
        )
    # P(y) with y = sin^2(w/2) = (2 - z - 1/z) / 4; each root y_j gives a pair z, 1/z; keep |z| < 1.
    p = [math.comb(N - 1 + k, k) for k in range(N)]
    y_roots = np.roots(p[::-1]) if N > 1 else np.array([])
    z_roots = []
    for yr in y_roots:
        b = 1.0 - 2.0 * yr
        s = np.sqrt(b * b - 1.0 + 0j)
        z1, z2 = b + s, b - s
        z_roots.append(z1 if abs(z1) < 1 else z2)
    poly = np.poly1d([1.0])
    for _ in range(N):
        poly = poly * np.poly1d([1.0, 1.0])
    for zr in z_roots:
        poly = poly * np.poly1d([1.0, -zr])
    h = np.real(poly.coeffs)
    return h * (math.sqrt(2.0) / h.sum())


def wavelet_filters(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(h, g)``: low- and high-pass filters of ``"haar"`` or ``"dbN"``."""
    key = name.lower()
    if key == "haar":
        key = "db1"
    if not (key.startswith("db") and key[2:].isdigit()):
        raise ValueError(f"wavelet: expected 'haar' or 'db1' ... 'db10', found {name!r}")
    h = daubechies(int(key[2:]))
    g = h[::-1] * (-1.0) ** np.arange(len(h))
    return h, g


@functools.lru_cache(maxsize=64)
def analysis_matrix(n: int, wavelet: str) -> np.ndarray:
    """The orthogonal ``(n, n)`` matrix of one level along an axis of even length ``n``: rows
    ``j < n/2`` hold ``h`` at columns ``(2j + k) mod n`` (approximation), rows ``n/2 + j`` hold
    ``g`` (detail). Applied as a dense product: a few matrix multiplications compile and run
    faster on CPU than a chain of shifted copies, and the inverse is the transpose."""
    h, g = wavelet_filters(wavelet)
    M = np.zeros((n, n))
    for j in range(n // 2):
        for k in range(len(h)):
            M[j, (2 * j + k) % n] += h[k]
            M[n // 2 + j, (2 * j + k) % n] += g[k]
    return M


def _apply(M: np.ndarray, x: jax.Array, axis: int) -> jax.Array:
    m = jnp.asarray(M, jnp.real(x).dtype)
    hi = jax.lax.Precision.HIGHEST
    if axis == -1:
        return jnp.matmul(x, m.T, precision=hi)
    return jnp.einsum("ij,...jk->...ik", m, x, precision=hi)


def check_levels(shape: tuple[int, ...], levels: int, where: str = "wavelet") -> None:
    """Refuse image sizes that ``levels`` halvings do not divide."""
    H, W = shape[-2], shape[-1]
    step = 2**levels
    if levels < 1 or H % step or W % step:
        raise ValueError(
            f"{where}: levels={levels} needs H and W divisible by 2^levels = {step}, found "
            f"image {(H, W)}; use levels <= {max_levels((H, W))} or pad the image"
        )


def max_levels(shape: tuple[int, ...]) -> int:
    """The most halvings that divide both of the last two axes."""
    H, W = shape[-2], shape[-1]
    n = 0
    while H % 2 == 0 and W % 2 == 0 and H > 1 and W > 1:
        H, W, n = H // 2, W // 2, n + 1
    return n


def wavedec2(x: jax.Array, wavelet: str = "db4", levels: int = 3) -> jax.Array:
    """Orthonormal 2-D wavelet transform of ``x`` ``(..., H, W)``, coefficients in place."""
    check_levels(jnp.shape(x), levels)
    wavelet_filters(wavelet)
    c = jnp.asarray(x)
    H, W = c.shape[-2:]
    for lev in range(levels):
        hh, ww = H >> lev, W >> lev
        block = c[..., :hh, :ww]
        block = _apply(analysis_matrix(hh, wavelet), block, -2)
        block = _apply(analysis_matrix(ww, wavelet), block, -1)
        c = c.at[..., :hh, :ww].set(block)
    return c


def waverec2(c: jax.Array, wavelet: str = "db4", levels: int = 3) -> jax.Array:
    """Inverse (= transpose) of :func:`wavedec2`."""
    check_levels(jnp.shape(c), levels)
    wavelet_filters(wavelet)
    x = jnp.asarray(c)
    H, W = x.shape[-2:]
    for lev in reversed(range(levels)):
        hh, ww = H >> lev, W >> lev
        block = x[..., :hh, :ww]
        block = _apply(analysis_matrix(ww, wavelet).T, block, -1)
        block = _apply(analysis_matrix(hh, wavelet).T, block, -2)
        x = x.at[..., :hh, :ww].set(block)
    return x


def detail_weights(shape: tuple[int, ...], levels: int, dtype: Any = jnp.float32) -> jax.Array:
    """``(H, W)`` weights: 0 on the coarse approximation block, 1 on every detail coefficient
    (the coarse block carries the image's mean contrast and is not penalised)."""
    H, W = shape[-2], shape[-1]
    w = np.ones((H, W))
    w[: H >> levels, : W >> levels] = 0.0
    return jnp.asarray(w, dtype)


def _wl1_prox(v: jax.Array, t: Any, *, wavelet: str, levels: int) -> jax.Array:
    from sciml.solvers.optim.lasso import soft_threshold

    c = wavedec2(v, wavelet, levels)
    w = detail_weights(v.shape, levels, jnp.real(v).dtype)
    return waverec2(soft_threshold(c, t * w), wavelet, levels)


def _wl1_penalty(x: jax.Array, lam: Any, *, wavelet: str, levels: int) -> jax.Array:
    c = wavedec2(x, wavelet, levels)
    w = detail_weights(x.shape, levels, jnp.real(x).dtype)
    return jnp.sum(lam * w * jnp.abs(c))


@functools.cache
def wavelet_l1(wavelet: str = "db4", levels: int = 3) -> tuple[Any, Any]:
    """``(prox, penalty)`` of ``R(x) = ||W x||_1`` over the detail coefficients, for
    :func:`~sciml.solvers.optim.fista`.

    For an orthonormal ``W`` the proximal map is exact: ``prox(v, t) = W^T S_t(W v)`` with the
    soft threshold ``S_t``. Cached per ``(wavelet, levels)`` so that repeated solves reuse one
    compilation.
    """
    wavelet_filters(wavelet)  # validates the name
    prox = jax.tree_util.Partial(functools.partial(_wl1_prox, wavelet=wavelet, levels=int(levels)))
    penalty = jax.tree_util.Partial(
        functools.partial(_wl1_penalty, wavelet=wavelet, levels=int(levels))
    )
    return prox, penalty
