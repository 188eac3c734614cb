"""Power spectra of 3-D periodic fields: auto, cross, transfer function and correlation coefficient.

The evaluation cosmologists use for structure-formation emulators (He et al., PNAS 2019): the
density (CIC-painted from particle displacements) or the displacement field itself is compared
with the N-body truth shell by shell in Fourier space.

Conventions (NumPy, float64 internally). A field ``f`` sampled on ``n^3`` cells of a periodic
cube of side ``L`` (Mpc/h), volume ``V = L^3``, ``N = n^3`` cells::

    f(k) = (V / N) sum_x f(x) exp(-i k.x)           (discrete approximation of the Fourier integral)
    P(k) = < |f(k)|^2 > / V                          ((Mpc/h)^3 for a density contrast)
    P_ab(k) = < Re f_a(k) conj f_b(k) > / V
    T(k) = sqrt(P_pred / P_true),   r(k) = P_x / sqrt(P_pred P_true)

``< >`` averages over the modes of a spherical shell ``|k|`` in ``[k_lo, k_hi)``; the reported
``k`` is the mean ``|k|`` of the modes in the shell. Default shells: width ``k_F = 2 pi / L``
centred on ``k_F, 2 k_F, ...`` up to the Nyquist frequency ``k_Ny = pi n / L``; the ``k = 0`` mode
is never counted. A displacement field ``(n, n, n, 3)`` is treated as three fields whose spectra
are summed over components (``P = sum_i P_ii``). White noise of variance ``s^2`` per cell has
``P = s^2 V / N``. With ``deconvolve="cic"`` every ``f(k)`` is divided by the CIC window
``W(k) = prod_i sinc^2(k_i dx / 2)``, ``sinc(x) = sin(x) / x``, ``dx = L / n``.

Also here: :func:`cic_paint` (the density contrast of particles, mean 1 -> ``delta = rho - 1``),
:func:`displacement_density` (particles at ``q + Psi`` on their Lagrangian grid, painted) and
:func:`displacement_error` (mean relative point-wise displacement error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOWS = ("none", "cic")


@dataclass(frozen=True)
class Spectra:
    """Binned spectra of a prediction against a truth, all of shape ``(n_bins,)``.

    Attributes:
      k: mean ``|k|`` of the modes in each shell (h/Mpc).
      modes: number of Fourier modes in each shell (both ``k`` and ``-k`` counted).
      p_pred, p_true, p_cross: auto spectra and cross spectrum ((Mpc/h)^3 for densities,
        (Mpc/h)^5 for displacements).
      transfer: ``T(k) = sqrt(p_pred / p_true)``.
      correlation: ``r(k) = p_cross / sqrt(p_pred p_true)``.
    """

    k: np.ndarray
    modes: np.ndarray
    p_pred: np.ndarray
    p_true: np.ndarray
    p_cross: np.ndarray
    transfer: np.ndarray
    correlation: np.ndarray

    def at(self, k: float | np.ndarray, name: str) -> np.ndarray:
        """``name`` (an attribute) interpolated linearly in ``k`` at the wavenumbers ``k``."""
        values = getattr(self, name)
        k = np.asarray(k, dtype=np.float64)
        if np.any(k < self.k[0]) or np.any(k > self.k[-1]):
            raise ValueError(
                f"k: expected wavenumbers within the binned range [{self.k[0]:.4g}, "
                f"{self.k[-1]:.4g}] h/Mpc, found {k}; use a larger box or a finer grid"
            )
        return np.interp(k, self.k, values)


def _as_components(field, name: str) -> np.ndarray:
    """``(n, n, n)`` -> ``(1, n, n, n)``; ``(n, n, n, C)`` -> ``(C, n, n, n)``; float64."""
    a = np.asarray(field, dtype=np.float64)
    if a.ndim == 3:
        a = a[None]
    elif a.ndim == 4:
        a = np.moveaxis(a, -1, 0)
    else:
        raise ValueError(
            f"{name}: expected a scalar field (n, n, n) or a vector field (n, n, n, C), found "
            f"shape {a.shape}"
        )
    n = a.shape[1]
    if a.shape[1:] != (n, n, n):
        raise ValueError(
            f"{name}: expected a cubic grid (n, n, n), found spatial shape {a.shape[1:]}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: found NaN or Inf values; check the data that produced it")
    return a


def wavenumbers(n: int, box: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Angular wavenumbers ``k_i = 2 pi m_i / L`` (h/Mpc) of an ``n^3`` FFT grid, broadcastable."""
    k1 = 2 * np.pi * np.fft.fftfreq(n, d=box / n)
    return k1[:, None, None], k1[None, :, None], k1[None, None, :]


def cic_window(n: int, box: float) -> np.ndarray:
    """The CIC assignment window ``W(k) = prod_i sinc^2(k_i dx / 2)`` on the ``n^3`` FFT grid."""
    dx = box / n
    w = np.ones((n, n, n))
    for ki in wavenumbers(n, box):
        w = w * np.sinc(ki * dx / (2 * np.pi)) ** 2  # np.sinc(x) = sin(pi x) / (pi x)
    return w


def default_edges(n: int, box: float, *, dk: float | None = None, k_max: float | None = None):
    """Shell edges: width ``dk`` (default ``k_F``) centred on ``dk, 2 dk, ...`` up to ``k_max``
    (default Nyquist ``pi n / L``)."""
    k_f = 2 * np.pi / box
    dk = k_f if dk is None else float(dk)
    k_max = np.pi * n / box if k_max is None else float(k_max)
    if dk <= 0 or k_max <= dk / 2:
        raise ValueError(f"dk, k_max: expected 0 < dk < 2 k_max, found dk={dk}, k_max={k_max}")
    count = int(np.floor(k_max / dk - 0.5 + 1e-9)) + 1
    return dk * (np.arange(count + 1) + 0.5)


def _fourier(a: np.ndarray, box: float, deconvolve: str) -> np.ndarray:
    if deconvolve not in WINDOWS:
        raise ValueError(f"deconvolve: expected one of {list(WINDOWS)}, found {deconvolve!r}")
    n = a.shape[1]
    fk = np.fft.fftn(a, axes=(1, 2, 3)) * (box**3 / n**3)
    if deconvolve == "cic":
        fk = fk / cic_window(n, box)
    return fk


def _bin(values: np.ndarray, kmag: np.ndarray, edges: np.ndarray):
    idx = np.digitize(kmag.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    nb = len(edges) - 1
    count = np.bincount(idx[ok], minlength=nb).astype(np.float64)
    ksum = np.bincount(idx[ok], weights=kmag.ravel()[ok], minlength=nb)
    vsum = np.bincount(idx[ok], weights=values.ravel()[ok], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ksum / count, vsum / count, count


def spectra(
    pred,
    true,
    box: float,
    *,
    dk: float | None = None,
    k_max: float | None = None,
    deconvolve: str = "none",
) -> Spectra:
    """Auto, cross spectra, ``T(k)`` and ``r(k)`` of ``pred`` against ``true``.

    Args:
      pred, true: fields ``(n, n, n)`` (e.g. density contrast) or ``(n, n, n, C)`` (e.g.
        displacements in Mpc/h, spectra summed over the ``C`` components), on the same grid.
      box: side of the periodic cube in Mpc/h.
      dk: shell width in h/Mpc (default ``k_F = 2 pi / box``); ``k_max``: last shell (default
        the Nyquist frequency).
      deconvolve: ``"none"`` or ``"cic"`` (divide by the CIC window of the grid).

    Returns:
      :class:`Spectra`; shells without modes are removed.
    """
    a = _as_components(pred, "pred")
    b = _as_components(true, "true")
    if a.shape != b.shape:
        raise ValueError(f"pred, true: expected the same shape, found {a.shape} and {b.shape}")
    n = a.shape[1]
    edges = default_edges(n, box, dk=dk, k_max=k_max)
    fa, fb = _fourier(a, box, deconvolve), _fourier(b, box, deconvolve)
    kx, ky, kz = wavenumbers(n, box)
    kmag = np.sqrt(kx**2 + ky**2 + kz**2)
    vol = box**3
    paa = np.sum(np.abs(fa) ** 2, axis=0) / vol
    pbb = np.sum(np.abs(fb) ** 2, axis=0) / vol
    pab = np.sum((fa * np.conj(fb)).real, axis=0) / vol
    k, p_pred, count = _bin(paa, kmag, edges)
    _, p_true, _ = _bin(pbb, kmag, edges)
    _, p_cross, _ = _bin(pab, kmag, edges)
    keep = count > 0
    k, p_pred, p_true, p_cross, count = (v[keep] for v in (k, p_pred, p_true, p_cross, count))
    with np.errstate(invalid="ignore", divide="ignore"):
        transfer = np.sqrt(p_pred / p_true)
        corr = p_cross / np.sqrt(p_pred * p_true)
    return Spectra(k, count, p_pred, p_true, p_cross, transfer, corr)


def power_spectrum(
    field,
    box: float,
    *,
    dk: float | None = None,
    k_max: float | None = None,
    deconvolve: str = "none",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, P(k), modes)`` of one field ``(n, n, n)`` or ``(n, n, n, C)`` (summed over ``C``)."""
    s = spectra(field, field, box, dk=dk, k_max=k_max, deconvolve=deconvolve)
    return s.k, s.p_true, s.modes


def cross_spectrum(a, b, box: float, **kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, P_ab(k), modes)``: the shell average of ``Re a(k) conj b(k) / V``."""
    s = spectra(a, b, box, **kwargs)
    return s.k, s.p_cross, s.modes


def transfer_function(pred, true, box: float, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """``(k, T(k))`` with ``T = sqrt(P_pred / P_true)``."""
    s = spectra(pred, true, box, **kwargs)
    return s.k, s.transfer


def correlation_coefficient(pred, true, box: float, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """``(k, r(k))`` with ``r = P_x / sqrt(P_pred P_true)``."""
    s = spectra(pred, true, box, **kwargs)
    return s.k, s.correlation


# ------------------------------------------------------------------------------------------
# particles -> density, displacement error


def cic_paint(pos, n_mesh: int, box: float) -> np.ndarray:
    """Cloud-in-cell density contrast ``delta = rho / rho_mean - 1`` of particles, periodic.

    ``pos``: ``(N, 3)`` positions in Mpc/h (any real values; wrapped into the box). Each particle
    gives cell ``j`` the weight ``prod_i max(1 - |x_i / dx - j_i|, 0)`` with ``dx = box / n_mesh``
    (cell ``j`` centred at ``j dx``, the convention of the Lagrangian grid ``q = j dx``).
    Returns ``(n_mesh, n_mesh, n_mesh)`` float64.
    """
    p = np.asarray(pos, dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(p)):
        raise ValueError("pos: found NaN or Inf particle positions; check the displacements")
    x = np.mod(p / (box / n_mesh), n_mesh)
    i0 = np.floor(x).astype(np.int64)
    f = x - i0
    rho = np.zeros(n_mesh**3)
    for corner in range(8):
        off = [(corner >> d) & 1 for d in range(3)]
        w = np.ones(len(p))
        flat = np.zeros(len(p), dtype=np.int64)
        for d in range(3):
            w = w * (f[:, d] if off[d] else 1.0 - f[:, d])
            flat = flat * n_mesh + (i0[:, d] + off[d]) % n_mesh
        rho += np.bincount(flat, weights=w, minlength=n_mesh**3)
    rho = rho.reshape(n_mesh, n_mesh, n_mesh)
    return rho / rho.mean() - 1.0


def lagrangian_grid(n: int, box: float) -> np.ndarray:
    """Particle positions ``q = j box / n`` of an ``n^3`` Lagrangian grid, ``(n, n, n, 3)``."""
    q = np.arange(n) * (box / n)
    return np.stack(np.meshgrid(q, q, q, indexing="ij"), axis=-1)


def displacement_density(disp, box: float, n_mesh: int | None = None) -> np.ndarray:
    """CIC density contrast of particles at ``q + Psi``; ``disp`` ``(n, n, n, 3)`` in Mpc/h.

    ``n_mesh`` defaults to ``n`` (the D3M evaluation: density on the particle grid).
    """
    d = _as_components(disp, "displacement")
    if d.shape[0] != 3:
        raise ValueError(
            f"displacement: expected 3 components on the last axis, found {d.shape[0]}"
        )
    n = d.shape[1]
    pos = lagrangian_grid(n, box) + np.moveaxis(d, 0, -1)
    return cic_paint(pos.reshape(-1, 3), n if n_mesh is None else n_mesh, box)


def displacement_error(pred, true, *, kind: str = "pointwise") -> float:
    """Mean relative displacement error of predicted particle displacements against the truth.

    ``pred``, ``true``: ``(..., 3)`` displacements (Mpc/h). ``kind="pointwise"`` (He et al.):
    ``mean_i |Psi_pred,i - Psi_true,i| / |Psi_true,i|`` over particles ``i``; ``kind="ratio"``:
    ``mean_i |Psi_pred,i - Psi_true,i| / mean_i |Psi_true,i|`` (insensitive to the few particles
    that barely move). Dimensionless.
    """
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(true, dtype=np.float64)
    if a.shape != b.shape or a.shape[-1:] != (3,):
        raise ValueError(
            f"pred, true: expected equal shapes (..., 3), found {a.shape} and {b.shape}"
        )
    for name, v in (("pred", a), ("true", b)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name}: found NaN or Inf displacements; check the data")
    err = np.linalg.norm(a - b, axis=-1)
    mag = np.linalg.norm(b, axis=-1)
    if kind == "pointwise":
        if np.any(mag == 0):
            raise ValueError("true: some particles have zero displacement; use kind='ratio'")
        return float(np.mean(err / mag))
    if kind == "ratio":
        return float(np.mean(err) / np.mean(mag))
    raise ValueError(f"kind: expected 'pointwise' or 'ratio', found {kind!r}")
