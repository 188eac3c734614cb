"""Learned interpolation on a finite-volume Navier-Stokes base (Kochkov et al., PNAS 2021).

The finite-volume vorticity scheme (:class:`sciml.solvers.fvns.FiniteVolumeNS2D`) needs the
vorticity on every cell face to form the advective flux ``u_f omega_f``. The classical scheme
takes the van Leer MUSCL value; here a network G looks at the coarse vorticity and predicts, at
every face, the coefficients of a 4-cell stencil along the face normal (cells ``i-1 .. i+2`` for
face ``i+1/2``, offsets ``-3/2, -1/2, 1/2, 3/2`` cells):

    omega_f = MUSCL_f(omega) + sum_k c_k(omega) omega_{i+k},     c = N r,   r = G(omega)

``N`` (4 x 2) is an orthonormal basis of the stencils that annihilate constants and linear
functions (``sum_k c_k = 0``, ``sum_k c_k x_k = 0``), so the total interpolation stays exact to
first order for every network output: the consistency constraint is built into the layer
(:class:`ConstrainedStencil`), not a penalty. This is the paper's "coefficients sum to one"
constraint (plus first-order exactness), written as a correction of the classical
reconstruction so that a network with a zero last layer is the finite-volume solver itself. The
coefficients are predicted once per model step from ``omega_n`` and used in every SSP-RK3 stage
of its ``substeps`` solver steps (a ``lax.fori_loop``, so that unrolled training compiles fast).

The step is plain JAX, so :class:`sciml.stepper.tasks.RolloutTask` trains it by unrolled rollouts
through the solver ("solver in the loop").
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.solvers.fvns.vorticity import X_AXIS, Y_AXIS, muscl_face_values

STENCIL_OFFSETS = (-1.5, -0.5, 0.5, 1.5)  # cell centres relative to the face, in cells


def null_space_basis(offsets=STENCIL_OFFSETS, order: int = 1) -> np.ndarray:
    """Orthonormal basis ``(len(offsets), len(offsets) - order - 1)`` of stencils exact-zero on
    polynomials of degree ``<= order`` (``sum_k c_k x_k^p = 0`` for ``p <= order``)."""
    x = np.asarray(offsets, np.float64)
    a = np.stack([x**p for p in range(order + 1)])  # (order+1, S)
    _, s, vt = np.linalg.svd(a)
    rank = int(np.sum(s > 1e-12))
    return vt[rank:].T


class ConstrainedStencil(nnx.Module):
    """Raw network outputs ``(..., 2 * F)`` -> stencil corrections ``(..., 2, S)`` with
    ``sum_k c_k x_k^p = 0`` for ``p <= order`` on both face directions (x, y).

    ``scale`` multiplies the raw outputs; ``bound`` limits each free coefficient to
    ``(-bound, bound)`` by ``bound * tanh(r / bound)`` (a rollout cannot be driven unstable by one
    large output; the constraint holds for every value).
    """

    def __init__(
        self, offsets=STENCIL_OFFSETS, order: int = 1, scale: float = 1.0, bound: float = 0.5
    ):
        basis = null_space_basis(offsets, order)
        self.bound = float(bound)
        self.basis = nnx.Variable(jnp.asarray(basis, jnp.float32))  # not an nnx.Param: fixed
        self.n_free = basis.shape[1]
        self.scale = float(scale)

    def __call__(self, raw: jax.Array) -> jax.Array:
        r = raw.reshape(*raw.shape[:-1], 2, self.n_free) * self.scale
        r = self.bound * jnp.tanh(r / self.bound)
        return jnp.einsum("...df,sf->...ds", r, self.basis[...])


def _stencil(w: jax.Array, axis: int) -> jax.Array:
    """Cells ``i-1, i, i+1, i+2`` for face ``i+1/2`` along ``axis``: ``(..., 4)`` from ``(..., 1)``."""
    return jnp.concatenate([jnp.roll(w, -s, axis) for s in (-1, 0, 1, 2)], axis=-1)


class LearnedInterpolationStepper(nnx.Module):
    """``omega_n -> omega_{n+1}``: ``substeps`` finite-volume SSP-RK3 steps with learned face values.

    Args:
      solver: a :class:`sciml.solvers.fvns.FiniteVolumeNS2D` on the coarse grid.
      dt: the model step, a whole multiple of ``solver.dt``.
      state_mean, state_std: normalisation of the network input (and of the rollout loss).
      width, kernel_size, depth: the network G (:class:`sciml.nn.Tendency`, 1 -> 4 channels).
      order: the stencils are exact for polynomials up to this degree (0 or 1).

    Shapes: ``(batch, Nx, Ny, 1)`` -> same.
    """

    def __init__(
        self,
        solver: Any,
        *,
        dt: float,
        state_mean: float = 0.0,
        state_std: float = 1.0,
        width: int = 32,
        kernel_size: int = 3,
        depth: int = 3,
        order: int = 1,
        rngs: nnx.Rngs,
    ):
        from sciml.nn import Tendency
        from sciml.stepper.model import Stats

        substeps = round(dt / solver.dt)
        if substeps < 1 or abs(substeps * solver.dt - dt) > 1e-6 * dt:
            raise ValueError(
                f"dt: the model step {dt} must be a whole multiple of the solver's dt "
                f"{solver.dt}; build the solver with dt = {dt} / n"
            )
        self.solver = solver
        self.dt = float(dt)
        self.substeps = int(substeps)
        self.stencil = ConstrainedStencil(order=order)
        self.net = Tendency(
            1,
            out_channels=2 * self.stencil.n_free,
            width=width,
            kernel_size=kernel_size,
            depth=depth,
            ndim=2,
            rngs=rngs,
        )
        self.state_mean = Stats(jnp.full((1,), state_mean, jnp.float32))
        self.state_std = Stats(jnp.full((1,), state_std, jnp.float32))

    def coefficients(self, omega: jax.Array) -> jax.Array:
        """Stencil corrections ``(B, Nx, Ny, 2, 4)`` (x-faces, y-faces) predicted from ``omega``."""
        zn = (omega - self.state_mean[...]) / self.state_std[...]
        return self.stencil(self.net(zn))

    def face_values_fn(self, coeffs: jax.Array):
        """The face-value rule for the solver: MUSCL plus the constrained learned stencil."""

        def face_values(w, u, v):
            wx = muscl_face_values(w, u, X_AXIS)
            wy = muscl_face_values(w, v, Y_AXIS)
            wx = wx + jnp.sum(coeffs[..., 0, :] * _stencil(w, X_AXIS), -1, keepdims=True)
            wy = wy + jnp.sum(coeffs[..., 1, :] * _stencil(w, Y_AXIS), -1, keepdims=True)
            return wx, wy

        return face_values

    def step(self, omega: jax.Array) -> jax.Array:
        """One model step (``substeps`` solver steps): ``(B, Nx, Ny, 1)`` -> same."""
        rule = self.face_values_fn(self.coefficients(omega))
        return jax.lax.fori_loop(0, self.substeps, lambda _, w: self.solver.step(w, rule), omega)

    __call__ = step
