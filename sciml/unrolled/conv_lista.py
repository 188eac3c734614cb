"""Convolutional LISTA: ISTA for convolutional sparse coding, unrolled with learned kernels.

A convolutional dictionary of ``m`` kernels ``d_k`` ``(kh, kw)`` models an image as
``y = sum_k d_k * z_k`` with ``m`` feature maps ``z`` ``(H, W, m)`` (channels last; periodic
boundaries, :func:`sciml.solvers.optim.conv_dictionary_operator`). ISTA on
``0.5 ||y - sum_k d_k * z_k||^2 + lam ||z||_1`` reads::

    z_{t+1} = h_theta(z_t + E^T (y - D z_t)),    E = D / L,  theta = lam / L

where ``D z = sum_k d_k * z_k`` (synthesis) and ``E^T`` the correlation with each kernel
(analysis). Convolutional LISTA (Sreter and Giryes 2018) learns the analysis kernels ``E``, the
synthesis kernels ``D`` and one threshold per feature map, for ``K`` unrolled steps starting at
``z_0 = 0``; initialised as here it is ISTA. Every image size works with the same weights.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.solvers.optim import (
    conv_analysis,
    conv_dictionary_operator,
    conv_synthesis,
    power_iteration,
    soft_threshold,
)


class ConvLISTA(nnx.Module):
    """Learned convolutional ISTA with ``num_steps`` steps, initialised as ISTA on ``kernels``.

    Args:
      kernels: ``(kh, kw, m)`` dictionary elements.
      lam: the l1 weight (> 0).
      num_steps: ``K``.
      lipschitz: ``||D||^2`` if known (> 0); else estimated by power iteration on a 64x64 grid.
      rngs: unused (deterministic initialisation); accepted for the registry.

    Shapes:
      ``y`` ``(batch, H, W, 1)`` -> ``z`` ``(batch, H, W, m)``.
    """

    def __init__(
        self,
        kernels: Any,
        lam: float,
        num_steps: int = 8,
        *,
        lipschitz: float | None = None,
        rngs: nnx.Rngs | None = None,
    ):
        kernels = np.asarray(kernels, np.float32)
        if kernels.ndim != 3:
            raise ValueError(
                f"ConvLISTA: kernels: expected (kh, kw, m), found shape {kernels.shape}"
            )
        if not lam > 0:
            raise ValueError(f"ConvLISTA: lam: expected > 0, found {lam}")
        if num_steps < 1:
            raise ValueError(f"ConvLISTA: num_steps: expected K >= 1, found {num_steps}")
        if lipschitz is None:
            # The spectrum of a periodic convolution is sampled on the grid's frequencies; a fine
            # grid gives an estimate within a few percent of the continuous maximum.
            size = max(64, 4 * max(kernels.shape[:2]))
            op = conv_dictionary_operator(kernels, (size, size))
            lipschitz = 1.05 * float(power_iteration(op, key=jax.random.key(0), iters=200))
        if not lipschitz > 0:
            raise ValueError(f"ConvLISTA: lipschitz: expected > 0, found {lipschitz}")
        self.num_steps = num_steps
        self.analysis = nnx.Param(jnp.asarray(kernels / lipschitz))
        self.synthesis = nnx.Param(jnp.asarray(kernels))
        self.theta = nnx.Param(jnp.full((kernels.shape[-1],), lam / lipschitz, jnp.float32))

    def __call__(self, y: jax.Array, *, num_steps: int | None = None) -> jax.Array:
        K = self.num_steps if num_steps is None else num_steps
        E, D, theta = self.analysis[...], self.synthesis[...], self.theta[...]
        z = soft_threshold(conv_analysis(E, y), theta)
        for _ in range(K - 1):
            z = soft_threshold(z + conv_analysis(E, y - conv_synthesis(D, z)), theta)
        return z
