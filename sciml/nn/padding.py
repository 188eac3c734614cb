"""Boundary handling for channels-last fields ``(batch, *spatial, channels)``.

A convolution with kernel size ``k`` needs ``k // 2`` extra cells on each side of every spatial
axis. How they are filled is the physics' boundary condition:

- ``"periodic"``: circular wrap (a torus); keeps translation equivariance exact.
- ``"zero"``: homogeneous Dirichlet-like zero padding.
- ``"reflect"``: mirror without repeating the edge cell (numpy ``mode="reflect"``).
- ``"ghost"``: nothing is added here; the caller passes an array that already carries the ghost
  cells (for example from its own non-periodic solver), and every spatial axis shrinks by the halo.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

BOUNDARIES = ("periodic", "zero", "reflect", "ghost")
_JNP_MODE = {"periodic": "wrap", "zero": "constant", "reflect": "reflect"}


def check_boundary(boundary: str) -> str:
    if boundary not in BOUNDARIES:
        raise ValueError(
            f"boundary: expected one of {list(BOUNDARIES)}, found {boundary!r}; "
            "use 'periodic' for periodic domains or 'ghost' to supply your own ghost cells"
        )
    return boundary


def pad(
    x: jax.Array, halo: int | Sequence[int] | Sequence[tuple[int, int]], boundary: str
) -> jax.Array:
    """Pad the spatial axes of ``x`` (shape ``(batch, *spatial, channels)``) by ``halo`` cells.

    Args:
      x: field, shape ``(batch, *spatial, channels)``.
      halo: cells per side, one int for all axes, one per axis, or ``(before, after)`` per axis.
      boundary: one of :data:`BOUNDARIES`; ``"ghost"`` returns ``x`` unchanged.

    Returns:
      Array of shape ``(batch, *(n + before + after), channels)``.
    """
    check_boundary(boundary)
    ndim = x.ndim - 2
    if isinstance(halo, int):
        widths = [(halo, halo)] * ndim
    else:
        widths = [(h, h) if isinstance(h, int) else tuple(h) for h in halo]
    if len(widths) != ndim:
        raise ValueError(f"halo: expected {ndim} spatial entries, found {len(widths)}")
    if boundary == "ghost" or all(w == (0, 0) for w in widths):
        return x
    return jnp.pad(x, [(0, 0), *widths, (0, 0)], mode=_JNP_MODE[boundary])
