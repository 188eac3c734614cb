"""The symmetries of a periodic box that D3M trains on: axis flips and axis permutations.

A displacement field ``Psi(q)`` on the Lagrangian grid, ``(n, n, n, 3)``, transforms under a
signed permutation ``R`` of the axes as a vector field: ``Psi'(q) = R Psi(R^-1 q)``.

- Flip of axis ``a``: the grid is reversed along ``a`` (``j -> n - 1 - j``, a reflection of the
  periodic box) and component ``a`` changes sign.
- Permutation ``p`` (one of :data:`PERMUTATIONS`): new axis ``i`` is old axis ``p[i]``, for the
  grid and for the components alike.

Gravity is invariant under these transformations, so a (ZA, N-body) pair transformed with the
same ``R`` is again a (ZA, N-body) pair of the transformed initial conditions (the 48 symmetries
of the cube: 8 flip patterns x 6 permutations). He et al. (2019) draw one at random per sample.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

PERMUTATIONS: tuple[tuple[int, int, int], ...] = tuple(itertools.permutations(range(3)))


def transform(field: jax.Array, flips: tuple[bool, bool, bool], perm: tuple[int, int, int]):
    """Apply one symmetry to one displacement field ``(n, n, n, 3)`` (NumPy or JAX).

    Flips first (in the original axes), then the permutation.
    """
    xp = jnp if isinstance(field, jax.Array) else np
    out = field
    for axis in range(3):
        if flips[axis]:
            sign = xp.asarray([-1.0 if c == axis else 1.0 for c in range(3)], dtype=out.dtype)
            out = xp.flip(out, axis=axis) * sign
    return xp.transpose(out, (*perm, 3))[..., list(perm)]


def transform_scalar(field, flips: tuple[bool, bool, bool], perm: tuple[int, int, int]):
    """The same symmetry for a scalar field ``(n, n, n)`` (e.g. the linear density)."""
    xp = jnp if isinstance(field, jax.Array) else np
    out = field
    for axis in range(3):
        if flips[axis]:
            out = xp.flip(out, axis=axis)
    return xp.transpose(out, perm)


def _flip_axis(f: jax.Array, axis: int) -> jax.Array:
    sign = jnp.asarray([-1.0 if c == axis else 1.0 for c in range(3)], dtype=f.dtype)
    return jnp.flip(f, axis=axis) * sign


def _apply_one(f: jax.Array, flips: jax.Array, perm_index: jax.Array) -> jax.Array:
    for axis in range(3):
        f = jnp.where(flips[axis], _flip_axis(f, axis), f)
    branches = [lambda g, p=p: jnp.transpose(g, (*p, 3))[..., list(p)] for p in PERMUTATIONS]
    return jax.lax.switch(perm_index, branches, f)


def random_symmetries(key: jax.Array, batch: int) -> tuple[jax.Array, jax.Array]:
    """Draw ``batch`` symmetries: flips ``(batch, 3)`` bool and permutation indices ``(batch,)``."""
    k1, k2 = jax.random.split(key)
    flips = jax.random.bernoulli(k1, 0.5, (batch, 3))
    perms = jax.random.randint(k2, (batch,), 0, len(PERMUTATIONS))
    return flips, perms


def apply_symmetries(fields: jax.Array, flips: jax.Array, perms: jax.Array) -> jax.Array:
    """Transform each sample of ``fields`` ``(batch, n, n, n, 3)`` with its own symmetry (jit)."""
    return jax.vmap(_apply_one)(fields, flips, perms)


def augment_pair(key: jax.Array, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The same random symmetry per sample on input and target, ``(batch, n, n, n, 3)`` each."""
    flips, perms = random_symmetries(key, x.shape[0])
    return apply_symmetries(x, flips, perms), apply_symmetries(y, flips, perms)
