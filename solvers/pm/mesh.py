"""Mesh operations of the particle-mesh method: CIC paint/readout and the FFT Poisson force (JAX).

Positions are comoving, in Mpc/h, in a periodic cube of side ``box``; a mesh of ``n_mesh``^3
cells has spacing dx = box / n_mesh, cell i covers [i dx, (i+1) dx) and its value sits at the
cell centre (i + 1/2) dx.

Cloud-in-cell: a particle at x gives cell i the weight prod_d max(1 - |x_d/dx - 1/2 - i_d|, 0)
(indices wrap periodically). The Lagrangian lattice q = (i, j, k) box/n then lies on cell faces
for every mesh_factor, so a small displacement changes the painted density linearly (a particle
on a cell centre would sit on the kink of the CIC kernel). :func:`cic_paint` and :func:`cic_readout` use the same weights, so
readout is the exact adjoint (transpose) of painting. Fourier window: prod_d sinc^2(k_d dx/2).

Poisson force (units H0 = 1): F = -grad phi with Lap phi = ``factor`` * delta, by FFT.
Kernels, w = k dx per axis:

* ``laplace="exact"``: -k^2;  ``laplace="fd"``: -sum_d (2/dx sin(w_d/2))^2 (2nd-order stencil);
* ``gradient="exact"``: i k_d (zero on the Nyquist plane);  ``gradient="fd"``: the 4-point
  stencil i (8 sin w_d - sin 2 w_d) / (6 dx) (FastPM / JaxPM use naive 1/k^2 with this one).

Default: exact Laplacian, 4-point gradient. The exact gradient jumps at the mesh Nyquist
frequency, where the particle lattice puts its harmonics when mesh_factor is even; the
aliased lattice self-force then no longer cancels and the linear force of a long wave comes out
~6 % (mesh_factor 2) to ~10 % (4) too strong. With the 4-point gradient it is within 0.1 % for
the fundamental mode of a 16^3 lattice (tests/test_pm_solver.py).

The k = 0 mode of phi is zero (the mean density does not pull).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["KERNELS", "cic_paint", "cic_readout", "fft_wavenumbers", "poisson_force"]

KERNELS = {"laplace": ("exact", "fd"), "gradient": ("exact", "fd")}


def check_mesh_size(n_mesh, name: str = "n_mesh") -> int:
    if isinstance(n_mesh, bool) or int(n_mesh) != n_mesh or n_mesh < 2:
        raise ValueError(
            f"{name}: expected an integer number of cells per side >= 2, found {n_mesh!r}"
        )
    return int(n_mesh)


def check_box(box) -> float:
    try:
        value = float(box)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"box: expected the side of the periodic cube in Mpc/h > 0, found {box!r}")
    return value


def fft_wavenumbers(n: int, box: float, *, real: bool = True) -> list[np.ndarray]:
    """Angular wavenumbers k_d in h/Mpc of an ``n``^3 FFT, broadcastable (last axis rfft if real)."""
    k = 2.0 * np.pi * np.fft.fftfreq(n, d=box / n)
    kz = 2.0 * np.pi * np.fft.rfftfreq(n, d=box / n) if real else k
    return [k[:, None, None], k[None, :, None], kz[None, None, :]]


def _corners(pos: jax.Array, n_mesh: int, box: float):
    """Flat node indices (P, 8) and CIC weights (P, 8) of particles ``pos`` (P, 3)."""
    x = pos / (box / n_mesh) - 0.5
    i0 = jnp.floor(x)
    frac = x - i0
    i0 = i0.astype(jnp.int32)
    idx, wts = [], []
    for cx in (0, 1):
        for cy in (0, 1):
            for cz in (0, 1):
                off = jnp.array([cx, cy, cz], dtype=jnp.int32)
                node = jnp.mod(i0 + off, n_mesh)
                w = jnp.prod(jnp.where(off == 1, frac, 1.0 - frac), axis=-1)
                idx.append((node[:, 0] * n_mesh + node[:, 1]) * n_mesh + node[:, 2])
                wts.append(w)
    return jnp.stack(idx, axis=-1), jnp.stack(wts, axis=-1)


def cic_paint(pos: jax.Array, n_mesh: int, box: float, *, mass: jax.Array | float | None = None):
    """Paint particles on a periodic mesh with CIC; returns the mesh (n_mesh, n_mesh, n_mesh).

    Args:
      pos: positions (..., 3) in Mpc/h, any leading shape (e.g. the Lagrangian grid (n, n, n, 3));
        wrapped into [0, box).
      n_mesh: cells per side.
      box: side of the periodic box in Mpc/h.
      mass: per-particle mass (scalar or pos.shape[:-1]); default n_mesh^3 / n_particles, so the
        painted field is the density in units of the mean, rho/rho_bar = 1 + delta.

    Mass is conserved exactly (sum of the mesh = total mass, up to round-off).
    """
    n_mesh = check_mesh_size(n_mesh)
    box = check_box(box)
    pos = jnp.asarray(pos)
    if mass is None:
        mass = n_mesh**3 / (pos.size // 3)
    m = jnp.broadcast_to(jnp.asarray(mass, dtype=pos.dtype), pos.shape[:-1]).reshape(-1)
    return _paint(pos.reshape(-1, 3), m, n_mesh=n_mesh, box=box)


@functools.partial(jax.jit, static_argnames=("n_mesh", "box"))
def _paint(p, m, *, n_mesh, box):
    idx, w = _corners(p, n_mesh, box)
    flat = jnp.zeros(n_mesh**3, dtype=p.dtype)
    flat = flat.at[idx.reshape(-1)].add((w * m[:, None]).reshape(-1))
    return flat.reshape(n_mesh, n_mesh, n_mesh)


def cic_readout(mesh: jax.Array, pos: jax.Array, box: float) -> jax.Array:
    """Interpolate a periodic mesh (n, n, n[, C]) to positions (..., 3) with CIC weights.

    Returns shape pos.shape[:-1] (+ (C,) for a channels-last mesh). The adjoint of
    :func:`cic_paint`: <paint(x, m), g> = <m, readout(g, x)>.
    """
    n_mesh = mesh.shape[0]
    if mesh.ndim not in (3, 4) or mesh.shape[:3] != (n_mesh,) * 3:
        raise ValueError(
            f"cic_readout: mesh expected shape (n, n, n) or (n, n, n, C), found {mesh.shape}; "
            "use a cubic mesh"
        )
    pos = jnp.asarray(pos)
    out = _readout(mesh, pos.reshape(-1, 3), box=check_box(box))
    return out.reshape(*pos.shape[:-1], *mesh.shape[3:])


@functools.partial(jax.jit, static_argnames=("box",))
def _readout(mesh, p, *, box):
    n_mesh = mesh.shape[0]
    idx, w = _corners(p, n_mesh, box)
    vals = mesh.reshape(n_mesh**3, *mesh.shape[3:])[idx]  # (P, 8[, C])
    w = w.astype(mesh.dtype)
    return jnp.sum(vals * (w[..., None] if mesh.ndim == 4 else w), axis=1)


def check_kernels(laplace: str, gradient: str) -> None:
    for name, value in (("laplace", laplace), ("gradient", gradient)):
        if value not in KERNELS[name]:
            raise ValueError(
                f"poisson_force: {name} expected one of {KERNELS[name]}, found {value!r}"
            )


def force_kernels(n: int, box: float, laplace: str, gradient: str, dtype=np.float32):
    """Host arrays: inverse-Laplacian kernel (n, n, n//2+1) and the 3 gradient kernels (imag part)."""
    check_kernels(laplace, gradient)
    dx = box / n
    ks = fft_wavenumbers(n, box)
    if laplace == "exact":
        k2 = sum(k**2 for k in ks)
    else:
        k2 = sum((2.0 / dx * np.sin(k * dx / 2.0)) ** 2 for k in ks)
    with np.errstate(divide="ignore"):
        inv = np.where(k2 > 0, -1.0 / np.where(k2 > 0, k2, 1.0), 0.0)
    grads = []
    for d, k in enumerate(ks):
        if gradient == "exact":
            g = k.copy()
            nyq = n // 2 if n % 2 == 0 else None
            if nyq is not None:
                idx = [slice(None)] * 3
                idx[d] = nyq
                g[tuple(idx)] = 0.0
        else:
            w = k * dx
            g = (8.0 * np.sin(w) - np.sin(2.0 * w)) / (6.0 * dx)
        grads.append(np.broadcast_to(g, inv.shape).astype(dtype))
    return inv.astype(dtype), np.stack(grads, axis=-1)


def poisson_force(
    delta: jax.Array,
    box: float,
    *,
    factor: float | jax.Array = 1.0,
    laplace: str = "exact",
    gradient: str = "fd",
) -> jax.Array:
    """Force mesh F = -grad phi, Lap phi = factor * delta; (n, n, n) -> (n, n, n, 3).

    ``factor`` is 1.5 Omega_m for the comoving PM force (units H0 = 1, Mpc/h). Kernels: see the
    module docstring. The result has ``delta``'s dtype.
    """
    n = delta.shape[0]
    if delta.ndim != 3 or delta.shape != (n, n, n):
        raise ValueError(
            f"poisson_force: delta expected a cubic mesh (n, n, n), found {delta.shape}"
        )
    inv, grads = force_kernels(n, check_box(box), laplace, gradient, np.dtype(delta.dtype))
    return _force(delta, jnp.asarray(inv), jnp.asarray(grads), factor)


@jax.jit
def _force(delta, inv, grads, factor):
    phi_k = jnp.fft.rfftn(delta) * (inv * factor)
    # F_d = -i g_d phi_k
    comps = [jnp.fft.irfftn(-1j * grads[..., d] * phi_k, s=delta.shape) for d in range(3)]
    return jnp.stack(comps, axis=-1).astype(delta.dtype)
