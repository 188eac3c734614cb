"""Spectral graph ConvNet of Bruna, Zaremba, Szlam and LeCun (2014) on a FIXED graph.

``y_o = sum_i U diag(theta_io(lambda)) U^T x_i + b_o`` with ``U [n, k]`` the first ``k``
Laplacian eigenvectors and ``lambda [k]`` their eigenvalues. The multipliers are smooth in
frequency: each ``theta_io`` is a natural cubic spline through ``n_control`` learned values at
equally spaced frequencies in ``[lambda_0, lambda_{k-1}]``, so the filter is ``n_control``
parameters per channel pair and (approximately) localised in space. Cost ``O(n k)`` per
application plus the host eigendecomposition; the basis belongs to one graph and does not
transfer (use :class:`~sciml.nn.graph.ChebConv` for varying graphs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from scipy.interpolate import CubicSpline

__all__ = ["GraphBasis", "SpectralConv", "spline_matrix"]


class GraphBasis(nnx.Variable):
    """A fixed (not trained) array of a graph: eigenvectors, eigenvalues, interpolation weights."""


def spline_matrix(frequencies: np.ndarray, n_control: int) -> np.ndarray:
    """``B [k, n_control]``: ``theta(frequencies) = B @ theta_control`` for a natural cubic spline
    through ``n_control`` equally spaced control frequencies spanning ``frequencies``."""
    f = np.asarray(frequencies, np.float64)
    lo, hi = float(f.min()), float(f.max())
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return np.full((f.shape[0], n_control), 1.0 / n_control)
    knots = np.linspace(lo, hi, n_control)
    if n_control == 2:
        return np.stack([(hi - f) / (hi - lo), (f - lo) / (hi - lo)], axis=1)
    return CubicSpline(knots, np.eye(n_control), bc_type="natural")(f)


class SpectralConv(nnx.Module):
    """Spectral convolution with smooth multipliers on a fixed graph's eigenbasis.

    Args:
      in_features, out_features: ``F_in``, ``F_out``.
      eigenvalues: ``[k]`` Laplacian eigenvalues (ascending).
      eigenvectors: ``[n, k]`` orthonormal eigenvectors (``sciml.datasets.graphs.
        laplacian_eigenbasis(graph, k)`` returns both).
      n_control: control frequencies of each spline multiplier (>= 2).
      use_bias: add ``b``.
      rngs: ``nnx.Rngs``.

    Call:
      ``layer(x, graph=None)``: ``x [..., n, F_in]`` (any leading batch axes, e.g. several
      signals on the same graph) -> ``[..., n, F_out]``. ``graph`` is ignored (the graph is
      fixed by the basis); it is accepted so that all graph layers share one call signature.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        eigenvalues,
        eigenvectors,
        n_control: int = 8,
        use_bias: bool = True,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        lam = np.asarray(eigenvalues, np.float64).reshape(-1)
        u = np.asarray(eigenvectors)
        if u.ndim != 2 or u.shape[1] != lam.shape[0]:
            raise ValueError(
                f"SpectralConv: eigenvectors: expected shape (n, {lam.shape[0]}) matching the "
                f"{lam.shape[0]} eigenvalues, found {u.shape}"
            )
        if isinstance(n_control, bool) or not isinstance(n_control, int) or n_control < 2:
            raise ValueError(
                f"SpectralConv: n_control: expected an integer >= 2, found {n_control!r}"
            )
        self.basis = GraphBasis(jnp.asarray(u, param_dtype))
        self.interp = GraphBasis(jnp.asarray(spline_matrix(lam, n_control), param_dtype))
        init = nnx.initializers.normal(stddev=1.0 / np.sqrt(in_features))
        self.theta = nnx.Param(
            init(rngs.params(), (n_control, in_features, out_features), param_dtype)
        )
        self.bias = nnx.Param(jnp.zeros(out_features, param_dtype)) if use_bias else None

    def multipliers(self) -> jax.Array:
        """``theta(lambda) [k, F_in, F_out]``, the spectral multipliers at the eigenvalues."""
        return jnp.einsum("kc,cio->kio", self.interp[...], self.theta[...])

    def __call__(self, x: jax.Array, graph=None) -> jax.Array:
        u = self.basis[...].astype(x.dtype)
        if x.shape[-2] != u.shape[0]:
            raise ValueError(
                f"SpectralConv: x: expected {u.shape[0]} nodes (axis -2) as the basis, found "
                f"shape {x.shape}; the spectral layer works on the graph it was built for"
            )
        xh = jnp.einsum("nk,...ni->...ki", u, x)
        yh = jnp.einsum("...ki,kio->...ko", xh, self.multipliers().astype(x.dtype))
        y = jnp.einsum("nk,...ko->...no", u, yh)
        return y if self.bias is None else y + self.bias[...]
