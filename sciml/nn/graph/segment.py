"""Segment reductions over edges or nodes that ignore padding.

``segment_ids[k]`` names the segment (e.g. the receiving node of edge ``k``); ids outside
``[0, num_segments)`` are dropped (``jax.ops`` semantics). ``mask[k] == False`` removes entry ``k``
(padding edges), so results on real segments never depend on padding. Empty segments give 0
(never ``-inf`` or NaN), also for :func:`segment_max` and :func:`segment_softmax`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["segment_count", "segment_max", "segment_mean", "segment_softmax", "segment_sum"]


def _expand(mask: jax.Array, data: jax.Array) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (data.ndim - mask.ndim))


def segment_sum(
    data: jax.Array, segment_ids: jax.Array, num_segments: int, mask: jax.Array | None = None
) -> jax.Array:
    """``out[s] = sum_{k: ids[k] = s, mask[k]} data[k]``; ``data [K, ...] -> [num_segments, ...]``."""
    if mask is not None:
        data = jnp.where(_expand(mask, data), data, 0)
    return jax.ops.segment_sum(data, segment_ids, num_segments)


def segment_count(
    segment_ids: jax.Array, num_segments: int, mask: jax.Array | None = None, dtype=jnp.float32
) -> jax.Array:
    """Number of (unmasked) entries per segment, ``[num_segments]``."""
    ones = jnp.ones(segment_ids.shape, dtype)
    return segment_sum(ones, segment_ids, num_segments, mask)


def segment_mean(
    data: jax.Array, segment_ids: jax.Array, num_segments: int, mask: jax.Array | None = None
) -> jax.Array:
    """Mean per segment (0 for an empty segment)."""
    total = segment_sum(data, segment_ids, num_segments, mask)
    count = segment_count(segment_ids, num_segments, mask, dtype=total.dtype)
    return total / _expand(jnp.maximum(count, 1), total)


def segment_max(
    data: jax.Array, segment_ids: jax.Array, num_segments: int, mask: jax.Array | None = None
) -> jax.Array:
    """Maximum per segment (0 for an empty segment)."""
    data = jnp.asarray(data)
    low = (
        jnp.finfo(data.dtype).min
        if jnp.issubdtype(data.dtype, jnp.floating)
        else jnp.iinfo(data.dtype).min
    )
    if mask is not None:
        data = jnp.where(_expand(mask, data), data, low)
    out = jax.ops.segment_max(data, segment_ids, num_segments)
    count = segment_count(segment_ids, num_segments, mask)
    return jnp.where(_expand(count > 0, out), out, 0).astype(data.dtype)


def segment_softmax(
    logits: jax.Array, segment_ids: jax.Array, num_segments: int, mask: jax.Array | None = None
) -> jax.Array:
    """Softmax of ``logits [K, ...]`` within each segment: ``exp(l_k) / sum_{j in seg(k)} exp(l_j)``.

    Masked entries get weight 0; the per-segment maximum is subtracted first (stable).
    """
    logits = jnp.asarray(logits)
    peak = jax.lax.stop_gradient(segment_max(logits, segment_ids, num_segments, mask))
    safe_ids = jnp.clip(segment_ids, 0, num_segments - 1)
    z = jnp.exp(logits - peak[safe_ids])
    if mask is not None:
        z = jnp.where(_expand(mask, z), z, 0)
    total = segment_sum(z, segment_ids, num_segments)
    denom = total[safe_ids]
    return z / jnp.where(denom > 0, denom, 1)
