"""Ghost cells for periodic, Dirichlet and Neumann boundaries on cell-centred grids (written once).

One implementation over the array API: the same functions fill NumPy arrays (the JAX-free
evaluator of exported steppers, ``sciml.load_stepper``), JAX arrays and traced values under
``jit``/``grad`` (the finite-difference solvers, the learned steppers). Imports NumPy only.

Non-periodic grids (:class:`sciml.solvers.Grid`) are cell-centred: cell ``i`` sits at
``x_i = (i + 1/2) dx`` and the boundary is the face at ``x = 0`` (and ``x = L``). A stencil of
half-width ``h`` needs ``h`` ghost cells beyond each face; :func:`fill_ghost` appends them to
every spatial axis of a channels-last field ``(..., *spatial, channels)``:

- ``"periodic"``: copies of the cells at the other end.
- ``"dirichlet"``, value ``g`` on the face: with ``order=2`` the odd reflection
  ``u_ghost(j) = 2 g - u_j`` (``j = 0`` is the ghost next to the face, mirrored onto interior cell
  ``j``); exact for fields linear near the face, second order in general.
- ``"neumann"``, outward normal derivative ``du/dn = g`` on the face (``-du/dx`` at ``x = 0``,
  ``+du/dx`` at ``x = L``): with ``order=2`` the even reflection
  ``u_ghost(j) = u_j + (2 j + 1) dx g``; ``g = 0`` is the zero-flux (insulated / reflecting)
  condition.
- ``"extrapolate"``: polynomial extrapolation of degree ``order - 1`` from the nearest interior
  cells (``order=1`` copies the edge cell); an outflow condition for hyperbolic problems.

``order > 2`` (Dirichlet / Neumann) uses the polynomial of degree ``order - 1`` through the
boundary condition and the ``order - 1`` nearest interior cells, for higher-order stencils.

The output can be fed to ``sciml.nn.Conv(boundary="ghost")`` (or ``Tendency`` with
``boundary="ghost"``), which expects exactly such pre-filled arrays::

    z = sciml.solvers.fill_ghost_grid(u, grid, halo=tendency.halo)
    dudt = tendency(z)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

Array = Any  # a NumPy or JAX array (or a JAX tracer): anything with __array_namespace__


def _slice(u: Array, start: int, stop: int, axis: int) -> Array:
    return u[(slice(None),) * axis + (slice(start, stop),)]


GHOST_KINDS = ("periodic", "dirichlet", "neumann", "extrapolate")


def _pair(v, name: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name}: expected one value or a (low, high) pair, found {v!r}")
        return tuple(v)
    return (v, v)


@functools.lru_cache(maxsize=64)
def _weights(kind: str, order: int, halo: int) -> tuple[np.ndarray, np.ndarray]:
    """Ghost ``j`` (``j = 0`` next to the face) ``= W[j] @ u[:m] + b[j] * value``.

    Positions in units of ``dx`` measured from the face into the domain: interior cell ``k`` at
    ``k + 1/2``, ghost ``j`` at ``-(j + 1/2)``. For Neumann ``value`` is ``g * dx`` (outward
    normal derivative times ``dx``).
    """
    ghost = -(np.arange(halo) + 0.5)
    if kind == "dirichlet" and order <= 2:
        return -np.eye(halo), np.full(halo, 2.0)
    if kind == "neumann" and order <= 2:
        return np.eye(halo), 2.0 * np.arange(halo) + 1.0
    if kind == "extrapolate":
        nodes = np.arange(order) + 0.5
        vander = np.vander(nodes, order, increasing=True)
        w = np.vander(ghost, order, increasing=True) @ np.linalg.inv(vander)
        return w, np.zeros(halo)
    m = order - 1  # interior cells used
    nodes = np.arange(m) + 0.5
    powers = np.arange(order)
    rows = np.vander(nodes, order, increasing=True)
    if kind == "dirichlet":  # q(0) = g
        first = (powers == 0).astype(float)
    else:  # neumann: q'(0) = -g dx (d/dx into the domain is minus the outward derivative)
        first = (powers == 1).astype(float)
    a = np.vstack([first, rows])
    w = np.vander(ghost, order, increasing=True) @ np.linalg.inv(a)
    b = w[:, 0] if kind == "dirichlet" else -w[:, 0]
    return w[:, 1:], b


def _side(
    u: Array, axis: int, halo: int, kind: str, value, dx: float, order: int, high: bool
) -> Array:
    """Ghost block (``halo`` cells along ``axis``) beyond the low or high face of ``u``, in
    array order (so it can be concatenated directly)."""
    w, b = _weights(kind, order, halo)
    n = u.shape[axis]
    m = w.shape[1]
    if n < m:
        raise ValueError(
            f"fill_ghost: {kind} ghosts of order {order} need >= {m} cells per axis, "
            f"found {n}; use a finer grid or a lower order"
        )
    # ghost j (j = 0 next to the face) = sum_k w[j, k] u_k (+ b[j] value), with u_k the k-th
    # cell from the face; the block is laid out outermost-first (low) or face-first (high)
    rows = np.arange(halo)[::-1] if not high else np.arange(halo)
    shape = [1] * u.ndim
    shape[axis] = halo
    xp = u.__array_namespace__()
    block = 0.0
    for k in range(m):
        col = w[rows, k]
        if not col.any():
            continue
        cell = n - 1 - k if high else k
        coef = xp.asarray(col.reshape(shape), dtype=u.dtype)
        block = block + coef * _slice(u, cell, cell + 1, axis)
    if kind in ("dirichlet", "neumann"):
        scale = dx if kind == "neumann" else 1.0
        block = block + xp.asarray(b[rows].reshape(shape), dtype=u.dtype) * (value * scale)
    if isinstance(block, float):  # a zero block, e.g. from all-zero weights
        block = xp.zeros((*u.shape[:axis], halo, *u.shape[axis + 1 :]), dtype=u.dtype) + block
    return block


def _check(boundary, order: int, halo: int) -> tuple[str, str]:
    kinds = _pair(boundary, "boundary")
    for kind in kinds:
        if kind not in GHOST_KINDS:
            raise ValueError(
                f"boundary: expected one of {list(GHOST_KINDS)}, found {kind!r}; "
                "e.g. boundary='dirichlet'"
            )
    if ("periodic" in kinds) and kinds != ("periodic", "periodic"):
        raise ValueError(
            f"boundary: 'periodic' must be used on both faces, found {kinds}; "
            "pass boundary='periodic'"
        )
    if order not in (1, 2, 3, 4, 5):
        raise ValueError(f"order: expected an integer from 1 to 5, found {order}")
    if halo < 0:
        raise ValueError(f"halo: expected >= 0 ghost cells, found {halo}")
    return kinds


def fill_ghost(
    u: Array,
    halo: int,
    boundary: str | Sequence[str],
    *,
    dx: float | Sequence[float] = 1.0,
    value: float | Sequence[float] = 0.0,
    ndim: int | None = None,
    order: int = 2,
) -> Array:
    """Append ``halo`` ghost cells on both sides of every spatial axis of ``u``.

    Args:
      u: field ``(..., *spatial, channels)``; the spatial axes are the ``ndim`` axes before the
        last, so any leading batch axes (or none, under ``vmap``) work.
      halo: ghost cells per side (``>= 0``).
      boundary: one of :data:`GHOST_KINDS`, or a ``(low, high)`` pair of kinds for the two faces
        (e.g. ``("dirichlet", "extrapolate")`` for inflow at ``x = 0``, outflow at ``x = L``).
      dx: grid spacing (one for all axes or one per axis); scales the Neumann ghosts.
      value: the Dirichlet face value or the Neumann outward normal derivative, one for both
        faces or a ``(low, high)`` pair (same units as ``u`` resp. ``u`` per unit length).
      ndim: number of spatial axes (default ``u.ndim - 2``: one batch axis).
      order: accuracy of the ghost values (1: copy, extrapolate only; 2: reflections; 3-5:
        polynomial ghosts of degree ``order - 1``).

    Returns:
      Array with every spatial axis longer by ``2 * halo``.
    """
    kinds = _check(boundary, order, halo)
    ndim = u.ndim - 2 if ndim is None else ndim
    if ndim < 1 or ndim > u.ndim - 1:
        raise ValueError(
            f"fill_ghost: u has shape {u.shape}, too few axes for {ndim} spatial axes "
            "plus a channel axis"
        )
    if halo == 0:
        return u
    dxs = tuple(dx) if isinstance(dx, (tuple, list)) else (dx,) * ndim
    for i in range(ndim):
        u = fill_ghost_axis(
            u, u.ndim - 1 - ndim + i, halo, kinds, dx=dxs[i], value=value, order=order
        )
    return u


def fill_ghost_axis(
    u: Array,
    axis: int,
    halo: int,
    boundary: str | Sequence[str],
    *,
    dx: float = 1.0,
    value: float | Sequence[float] = 0.0,
    order: int = 2,
) -> Array:
    """Append ``halo`` ghost cells on both sides of one axis of ``u`` (see :func:`fill_ghost`).

    Operators that are sums of one-dimensional stencils only need ghosts along the axis they
    differentiate; padding one axis at a time also allows different kinds per axis.
    """
    kinds = _check(boundary, order, halo)
    if halo == 0:
        return u
    values = _pair(value, "value")
    axis = axis % u.ndim
    n = u.shape[axis]
    if kinds[0] == "periodic":
        if n < halo:
            raise ValueError(f"fill_ghost: periodic halo {halo} exceeds the {n} cells")
        low = _slice(u, n - halo, n, axis)
        high = _slice(u, 0, halo, axis)
    else:
        low = _side(u, axis, halo, kinds[0], values[0], dx, order, high=False)
        high = _side(u, axis, halo, kinds[1], values[1], dx, order, high=True)
    return u.__array_namespace__().concat([low, u, high], axis=axis)
