"""Linear operators as (forward, adjoint) pairs, their adjointness check and their norm.

A :class:`LinearOperator` ``A`` maps arrays of shape ``(*batch, *in_shape)`` to
``(*batch, *out_shape)``; the adjoint ``A^H`` maps back, with ``<A x, y> = <x, A^H y>`` for the
real inner product ``<u, v> = Re sum(conj(u) v)``. Leading batch axes pass through, so one
operator codes a batch of signals at once. The operator is a JAX pytree: the arrays it carries
(a matrix, convolution kernels, coil maps, a mask) are leaves and the functions are static, so an
operator can be passed to a jitted solver without recompiling for new array values.

Built-ins:

- :func:`matrix_operator`: a dense dictionary or sensing matrix ``D`` ``(n, m)``, codes
  ``(..., m)`` -> signals ``(..., n)``, ``x -> x D^T``.
- :func:`conv_dictionary_operator`: a convolutional dictionary of ``m`` kernels ``(kh, kw)``,
  codes ``(..., H, W, m)`` -> images ``(..., H, W, 1)``, ``y = sum_k d_k * z_k`` with periodic
  boundaries (the adjoint is the periodic correlation, exactly).
- :func:`linear_operator`: any user pair ``(forward, adjoint)``; check it with
  :func:`check_adjoint` (a random dot-product test).

:func:`power_iteration` estimates ``||A||_2^2``, the Lipschitz constant of the gradient of
``0.5 ||A x - y||^2`` that ISTA and FISTA step with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

# Relative tolerance of the dot-product test per real dtype (a few hundred ulps of the sums).
ADJOINT_RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


@jax.tree_util.register_pytree_node_class
class LinearOperator:
    """A linear map ``A`` given by ``forward(x) = A x`` and ``adjoint(y) = A^H y``.

    Args:
      forward: ``(*batch, *in_shape) -> (*batch, *out_shape)``.
      adjoint: ``(*batch, *out_shape) -> (*batch, *in_shape)``.
      in_shape, out_shape: the unbatched shapes of ``x`` and ``y``.
      dtype: dtype of ``x`` (complex for MRI images).
      name: a short description, used in error messages.
    """

    def __init__(
        self,
        forward: Callable[[jax.Array], jax.Array],
        adjoint: Callable[[jax.Array], jax.Array],
        in_shape: Sequence[int],
        out_shape: Sequence[int],
        *,
        dtype: Any = jnp.float32,
        name: str = "operator",
    ):
        self.forward = forward if isinstance(forward, Partial) else Partial(forward)
        self.adjoint = adjoint if isinstance(adjoint, Partial) else Partial(adjoint)
        self.in_shape = tuple(int(s) for s in in_shape)
        self.out_shape = tuple(int(s) for s in out_shape)
        self.dtype = np.dtype(dtype)
        self.name = name

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.forward(x)

    @property
    def H(self) -> LinearOperator:
        """The adjoint operator ``A^H``."""
        return LinearOperator(
            self.adjoint,
            self.forward,
            self.out_shape,
            self.in_shape,
            dtype=self.dtype,
            name=f"adjoint of {self.name}",
        )

    def __repr__(self) -> str:
        return f"LinearOperator({self.name}: {self.in_shape} -> {self.out_shape}, {self.dtype})"

    def tree_flatten(self):
        return (self.forward, self.adjoint), (self.in_shape, self.out_shape, self.dtype, self.name)

    @classmethod
    def tree_unflatten(cls, aux, children):
        in_shape, out_shape, dtype, name = aux
        return cls(*children, in_shape, out_shape, dtype=dtype, name=name)


def linear_operator(
    forward: Callable[[jax.Array], jax.Array],
    adjoint: Callable[[jax.Array], jax.Array],
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    *,
    dtype: Any = jnp.float32,
    name: str = "operator",
    check: bool = True,
    key: jax.Array | None = None,
) -> LinearOperator:
    """Wrap a user pair ``(forward, adjoint)``; with ``check`` run :func:`check_adjoint` on it."""
    op = LinearOperator(forward, adjoint, in_shape, out_shape, dtype=dtype, name=name)
    if check:
        check_adjoint(op, key=jax.random.key(0) if key is None else key)
    return op


def _matvec(matrix: jax.Array, x: jax.Array) -> jax.Array:
    return x @ matrix.T


def _rmatvec(matrix: jax.Array, y: jax.Array) -> jax.Array:
    return y @ jnp.conj(matrix)


def matrix_operator(matrix: Any) -> LinearOperator:
    """The dense operator ``x -> D x`` of a matrix ``D`` ``(n, m)`` acting on ``(..., m)``."""
    matrix = jnp.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(
            f"matrix: expected a 2-D (n, m) matrix, found shape {tuple(matrix.shape)}; reshape the "
            "dictionary so that columns are atoms"
        )
    n, m = matrix.shape
    return LinearOperator(
        Partial(_matvec, matrix),
        Partial(_rmatvec, matrix),
        (m,),
        (n,),
        dtype=matrix.dtype,
        name=f"matrix {n}x{m}",
    )


def _wrap_pad(x: jax.Array, kh: int, kw: int) -> jax.Array:
    pads = [(0, 0)] * (x.ndim - 3) + [(kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)]
    return jnp.pad(x, [*pads, (0, 0)], mode="wrap")


def _conv(kernels: jax.Array, x: jax.Array) -> jax.Array:
    # kernels (kh, kw, cin, cout), x (batch, H, W, cin): periodic "same" convolution.
    kh, kw = kernels.shape[:2]
    batch = x.shape[:-3]
    x = x.reshape((-1, *x.shape[-3:]))
    out = jax.lax.conv_general_dilated(
        _wrap_pad(x, kh, kw),
        kernels[::-1, ::-1],  # flipped: a true convolution, not XLA's cross-correlation
        window_strides=(1, 1),
        padding="VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=jax.lax.Precision.HIGHEST,
    )
    return out.reshape((*batch, *out.shape[1:]))


def conv_synthesis(kernels: jax.Array, z: jax.Array) -> jax.Array:
    """``sum_k d_k * z_k``: codes ``(..., H, W, m)`` and kernels ``(kh, kw, m)`` -> images
    ``(..., H, W, 1)`` (periodic convolution)."""
    return _conv(kernels[:, :, :, None], z)  # (kh, kw, m, 1): sum_k d_k * z_k


def conv_analysis(kernels: jax.Array, y: jax.Array) -> jax.Array:
    """The adjoint of :func:`conv_synthesis`: images ``(..., H, W, 1)`` -> ``(..., H, W, m)``,
    the periodic correlation with each (conjugated) kernel."""
    # The adjoint of periodic convolution is periodic correlation: convolve with the flipped
    # kernel. For even kernel sizes _wrap_pad's padding is asymmetric, (k//2, k//2 - 1), and
    # the flipped kernel's output lands one sample late; roll it back.
    kh, kw = kernels.shape[:2]
    flipped = jnp.conj(kernels[::-1, ::-1])[:, :, None, :]  # (kh, kw, 1, m)
    out = _conv(flipped, y)
    shift = (kh - 1 - 2 * (kh // 2), kw - 1 - 2 * (kw // 2))
    return jnp.roll(out, shift, axis=(-3, -2)) if any(shift) else out


def conv_dictionary_operator(kernels: Any, image_shape: Sequence[int]) -> LinearOperator:
    """Convolutional dictionary: codes ``(..., H, W, m)`` -> images ``(..., H, W, 1)``.

    ``y = sum_k d_k * z_k`` (periodic "same" convolution, kernel centre at ``(kh // 2, kw // 2)``).

    Args:
      kernels: ``(kh, kw, m)``, the dictionary elements.
      image_shape: ``(H, W)``.
    """
    kernels = jnp.asarray(kernels)
    if kernels.ndim != 3:
        raise ValueError(
            f"kernels: expected (kh, kw, m) convolution kernels, found shape "
            f"{tuple(kernels.shape)}; stack the m dictionary elements on the last axis"
        )
    H, W = (int(s) for s in image_shape)
    kh, kw, m = kernels.shape
    if kh > H or kw > W:
        raise ValueError(
            f"kernels: expected kernels no larger than the image {(H, W)}, found {(kh, kw)}"
        )
    return LinearOperator(
        Partial(conv_synthesis, kernels),
        Partial(conv_analysis, kernels),
        (H, W, m),
        (H, W, 1),
        dtype=kernels.dtype,
        name=f"convolutional dictionary of {m} {kh}x{kw} kernels",
    )


def _random(key: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    if np.issubdtype(dtype, np.complexfloating):
        kr, ki = jax.random.split(key)
        real = np.finfo(dtype).dtype
        return jax.lax.complex(
            jax.random.normal(kr, shape, real), jax.random.normal(ki, shape, real)
        )
    return jax.random.normal(key, shape, dtype)


def inner(u: jax.Array, v: jax.Array) -> jax.Array:
    """The real inner product ``Re sum(conj(u) v)`` under which adjoints are taken."""
    return jnp.real(jnp.vdot(u.reshape(-1), v.reshape(-1)))


@jax.jit
def _dot_products(op: LinearOperator, x: jax.Array, y: jax.Array):
    def one(x, y):
        ax = op.forward(x)
        scale = jnp.linalg.norm(ax.reshape(-1)) * jnp.linalg.norm(y.reshape(-1))
        return inner(ax, y), inner(x, op.adjoint(y)), scale

    return jax.vmap(one)(x, y)


def _numpy_random(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype):
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def check_adjoint(
    op: LinearOperator, *, key: jax.Array, rtol: float | None = None, trials: int = 3
) -> float:
    """Dot-product test ``<A x, y> == <x, A^H y>`` for random ``x``, ``y``.

    Returns the largest relative mismatch ``|<Ax, y> - <x, A^H y>| / (||Ax|| ||y||)``; raises
    ``ValueError`` when it exceeds ``rtol`` (default per dtype: 1e-4 float32, 1e-10 float64) or
    when the shapes the pair returns differ from the declared ones.
    """
    dtype = op.dtype
    real = np.finfo(dtype).dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float32)
    tol = ADJOINT_RTOL.get(real, 1e-4) if rtol is None else rtol
    x = jax.ShapeDtypeStruct(op.in_shape, dtype)
    ax = jax.eval_shape(op.forward, x)
    if tuple(ax.shape) != op.out_shape:
        raise ValueError(
            f"{op.name}: forward returned shape {tuple(ax.shape)}, expected the declared "
            f"out_shape {op.out_shape}; fix the forward function or out_shape"
        )
    aty = jax.eval_shape(op.adjoint, jax.ShapeDtypeStruct(op.out_shape, ax.dtype))
    if tuple(aty.shape) != op.in_shape:
        raise ValueError(
            f"{op.name}: adjoint returned shape {tuple(aty.shape)}, expected the declared "
            f"in_shape {op.in_shape}; fix the adjoint function or in_shape"
        )
    # Test vectors drawn on the host from the key's bits: one small jitted call, no compilation
    # of JAX's random-number kernels for a one-off check.
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    xs = _numpy_random(rng, (trials, *op.in_shape), dtype)
    ys = _numpy_random(rng, (trials, *op.out_shape), np.dtype(ax.dtype))
    lhs, rhs, scale = (np.asarray(v) for v in _dot_products(op, xs, ys))
    worst = float(np.max(np.abs(lhs - rhs) / np.maximum(scale, np.finfo(real).tiny)))
    if not worst <= tol:
        raise ValueError(
            f"{op.name}: the (forward, adjoint) pair is not adjoint: <A x, y> and <x, A^H y> "
            f"differ by {worst:.3g} relative (tolerance {tol:g}); the adjoint must be the "
            "conjugate transpose of forward (check flips, conjugates and normalisations)"
        )
    return worst


def power_iteration(op: LinearOperator, *, key: jax.Array, iters: int = 100) -> jax.Array:
    """Estimate ``||A||_2^2`` (largest eigenvalue of ``A^H A``) by ``iters`` power iterations.

    The Rayleigh quotient converges from below; solvers multiply it by a small margin
    (:data:`LIPSCHITZ_MARGIN`) so that the step ``1 / L`` stays stable. Jittable.
    """
    x = _random(key, op.in_shape, op.dtype)
    x = x / jnp.linalg.norm(x.reshape(-1))

    def body(_, x):
        z = op.adjoint(op.forward(x))
        return z / jnp.maximum(jnp.linalg.norm(z.reshape(-1)), jnp.finfo(z.real.dtype).tiny)

    x = jax.lax.fori_loop(0, iters, body, x)
    return inner(x, op.adjoint(op.forward(x))) / inner(x, x)


LIPSCHITZ_MARGIN = 1.01
