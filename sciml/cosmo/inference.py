"""Apply a trained D3M model to boxes of any size: whole, or in tiles with periodic halos.

The network is fully convolutional and periodic, so a model trained on 32^3 particles in a
128 Mpc/h box runs unchanged on 128^3 particles in a 512 Mpc/h box (same cell size). When the
box does not fit in memory, :func:`predict` cuts it into cubes of ``tile^3`` cells, pads each
with ``halo`` cells taken periodically from its neighbours, runs the network on the padded cube
and keeps the centre. With the halo at least the receptive-field radius and tile origins and
halos multiples of ``2**depth`` (so the stride-2 grids line up), every kept cell sees exactly the
inputs it sees in the whole box: tiled and whole agree to float32 round-off.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.cosmo.model import check_displacement_shape


def receptive_radius(depth: int) -> int:
    """How far (cells, per side) a D3M output cell reaches into its input: ``2**(depth+3) - 6``.

    Per level ``l`` (cell size ``2**l``) a path through the deepest level passes two 3-cell
    convolutions in the encoder block, one stride-2 convolution down, one 3-cell transposed
    convolution up and two convolutions in the decoder block; summed over the levels, with the
    bottleneck's two convolutions at ``2**depth``, this gives 10, 26, 58 cells for depth 1, 2,
    3 (checked against the gradient support of the network in a test).
    """
    return 2 ** (depth + 3) - 6


def default_halo(depth: int) -> int:
    """:func:`receptive_radius` rounded up to a multiple of ``2**depth``."""
    m = 2**depth
    return m * int(np.ceil(receptive_radius(depth) / m))


def _check_input(za: np.ndarray, multiple: int) -> np.ndarray:
    za = np.asarray(za)
    if za.ndim == 4:
        za = za[None]
    check_displacement_shape(za.shape, multiple)
    if not np.all(np.isfinite(za)):
        bad = int(np.sum(~np.isfinite(za)))
        raise ValueError(
            f"D3M input: found {bad} NaN/Inf displacement values; check the ZA displacements "
            "(e.g. the file written by `sciml simulate nbody`)"
        )
    return za.astype(np.float32)


def _apply_fn():
    return nnx.jit(lambda m, x: m(x))


def predict(
    model: nnx.Module,
    za,
    *,
    tile: int | None = None,
    halo: int | None = None,
    batch_size: int = 1,
) -> np.ndarray:
    """N-body displacements predicted from ZA displacements.

    Args:
      model: a :class:`sciml.cosmo.D3M` (switched to evaluation mode: running batch-norm
        statistics).
      za: ``(n, n, n, 3)`` or ``(samples, n, n, n, 3)`` ZA displacements in Mpc/h, ``n`` a
        multiple of ``2**depth``, on the cell size the model was trained on.
      tile: cells per side of a tile (a multiple of ``2**depth`` dividing ``n``); None runs the
        whole box at once.
      halo: cells of periodic context around a tile (a multiple of ``2**depth``; default
        :func:`default_halo`).
      batch_size: samples (or tiles) per network call.

    Returns:
      float32 array of the shape of ``za``.
    """
    depth = int(getattr(model, "depth", 0))
    multiple = 2**depth
    single = np.ndim(za) == 4
    x = _check_input(za, multiple)
    model.eval()
    apply = _apply_fn()
    n = x.shape[1]
    if tile is None or tile >= n:
        out = [
            np.asarray(apply(model, jnp.asarray(x[i : i + batch_size])))
            for i in range(0, len(x), batch_size)
        ]
        y = np.concatenate(out)
        return y[0] if single else y
    halo = default_halo(depth) if halo is None else int(halo)
    if tile % multiple or n % tile or halo % multiple or halo < 0:
        raise ValueError(
            f"tile, halo: expected multiples of {multiple} (2**depth) with tile dividing the box "
            f"side {n}, found tile={tile}, halo={halo}; e.g. tile={n // 2}, "
            f"halo={default_halo(depth)}"
        )
    if x.shape[1:4] != (n, n, n):
        raise ValueError(f"za: tiled inference needs a cubic box, found {x.shape[1:4]}")
    y = np.empty_like(x)
    origins = list(itertools.product(range(0, n, tile), repeat=3))
    jobs = [(s, o) for s in range(len(x)) for o in origins]
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        blocks = []
        for s, o in chunk:
            idx = [np.arange(a - halo, a + tile + halo) % n for a in o]
            blocks.append(x[s][np.ix_(*idx)])
        pred = np.asarray(apply(model, jnp.asarray(np.stack(blocks))))
        for (s, o), p in zip(chunk, pred, strict=True):
            core = p[halo : halo + tile, halo : halo + tile, halo : halo + tile]
            y[s, o[0] : o[0] + tile, o[1] : o[1] + tile, o[2] : o[2] + tile] = core
    return y[0] if single else y
