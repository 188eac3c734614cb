"""Ghost cells on a :class:`~sciml.solvers.Grid` (cell-centred, periodic/Dirichlet/Neumann).

The fill itself is written once, over the array API, in :mod:`sciml.ghost_cells` (NumPy and JAX);
this module re-exports it and adds :func:`fill_ghost_grid`, which reads the boundary kind, face
value and spacing from a grid.
"""

from __future__ import annotations

import jax
from sciml.solvers.grid import Grid

from sciml.ghost_cells import GHOST_KINDS as GHOST_KINDS
from sciml.ghost_cells import fill_ghost as fill_ghost
from sciml.ghost_cells import fill_ghost_axis as fill_ghost_axis


def fill_ghost_grid(u: jax.Array, grid: Grid, halo: int, *, order: int = 2) -> jax.Array:
    """:func:`fill_ghost` with the boundary kind, face value and spacing of ``grid``.

    ``u`` is ``(..., *grid.shape, channels)``; a Dirichlet grid imposes ``grid.boundary_value``
    on the faces, a Neumann grid uses it as the outward normal derivative.
    """
    spatial = tuple(u.shape[u.ndim - 1 - grid.ndim : u.ndim - 1])
    if spatial != grid.shape:
        raise ValueError(
            f"fill_ghost_grid: field spatial shape {spatial} does not match grid.shape "
            f"{grid.shape}; expected u of shape (batch, *{grid.shape}, channels)"
        )
    return fill_ghost(
        u,
        halo,
        grid.boundary,
        dx=grid.dx,
        value=grid.boundary_value,
        ndim=grid.ndim,
        order=order,
    )
