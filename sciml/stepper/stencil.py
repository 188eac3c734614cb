"""Data-driven discretization (Bar-Sinai, Hoyer, Hickey and Brenner, PNAS 2019) for 1-D Burgers.

A small CNN looks at the coarse field and predicts, at every cell face ``i + 1/2``, the
coefficients of three finite-volume stencils on the cells ``i + j`` (``j`` in :data:`OFFSETS`):
the left and right face states ``u^-``, ``u^+`` and the face derivative ``u_x``. The flux and the
update are those of a classical finite-volume scheme,

    F_{i+1/2} = G(u^-, u^+) - nu u_x,    dZ/dt = -(F_{i+1/2} - F_{i-1/2}) / dx + f(x, t)

(``G``: Godunov flux of ``u^2/2``; ``f``: the known forcing), stepped by an integrator of
:mod:`sciml.solvers.integrators`, so the model conserves ``sum(u) dx`` exactly.

Polynomial exactness is built into the layer, not penalised: every stencil ``c`` (length ``S``)
must reproduce, from cell averages, the face value (or derivative) of every polynomial of degree
``<= degree``, a linear system ``A c = b`` (``A``: ``(degree + 1, S)``). Its solutions are
``c = c0 + B y`` with ``c0`` a fixed particular solution (a classical third-order upwind-biased
stencil for ``u^-``/``u^+``, the two-point difference for ``u_x``) and ``B`` ``(S, S - degree -
1)`` an orthonormal basis of the null space of ``A``; the network outputs the free part ``y``. So
``A c = b`` holds to round-off for *any* network output. The last convolution is zero-initialised:
the untrained model is exactly the classical scheme ``c0``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from sciml.solvers.fv import Forcing, forcing_cell_average, godunov_flux
from sciml.solvers.integrators import INTEGRATORS
from sciml.stepper.model import Stats

OFFSETS = (-2, -1, 0, 1, 2, 3)
"""Cells ``i + j`` of the stencil of face ``i + 1/2`` (six cells, as the paper; the default)."""


def stencil_offsets(stencil_width: int) -> tuple[int, ...]:
    """Cells ``i + j`` of a stencil of ``stencil_width`` cells centred on face ``i + 1/2``:
    ``j = -w/2 + 1 .. w/2`` (``w = 6``: :data:`OFFSETS`). ``stencil_width``: an even integer >= 2."""
    w = stencil_width
    if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 2 or w % 2:
        raise ValueError(
            f"stencil_width: expected an even integer >= 2 (cells centred on the face), found "
            f"{w!r}; e.g. stencil_width=6 (the paper's) or 8"
        )
    return tuple(range(1 - int(w) // 2, int(w) // 2 + 1))


QUANTITIES = ("u_minus", "u_plus", "u_x")
"""The three stencils per face, in the order of the coefficient axis."""

_PARTICULAR = {  # offset -> coefficient; each exact for quadratics on cell averages
    "u_minus": {-1: -1 / 6, 0: 5 / 6, 1: 1 / 3},
    "u_plus": {0: 1 / 3, 1: 5 / 6, 2: -1 / 6},
    "u_x": {0: -1.0, 1: 1.0},
}


def constraint_system(
    offsets: Sequence[int], degree: int, derivative: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` with ``A c = b`` iff stencil ``c`` is exact for polynomials of degree ``<= degree``.

    Units of ``dx``: the face is at ``x = 0`` and cell ``i + j`` spans ``[j - 1, j]``;
    ``A[m, s]`` is the cell average of ``x^m`` over cell ``offsets[s]``, ``b[m]`` the
    ``derivative``-th derivative of ``x^m`` at 0 (so a ``u_x`` stencil is divided by ``dx``).
    Float64 arrays ``(degree + 1, S)`` and ``(degree + 1,)``.
    """
    j = np.asarray(offsets, np.float64)
    m = np.arange(degree + 1)[:, None]
    a = (j[None, :] ** (m + 1) - (j[None, :] - 1) ** (m + 1)) / (m + 1)
    b = np.zeros(degree + 1)
    if derivative <= degree:
        b[derivative] = math.factorial(derivative)
    return a, b


def constrained_stencil(
    offsets: Sequence[int], degree: int, quantity: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(c0, basis)``: particular solution ``(S,)`` and null-space basis ``(S, S - degree - 1)``.

    ``quantity``: ``"u_minus"``, ``"u_plus"`` (face value) or ``"u_x"`` (face derivative).
    ``c0`` is the classical stencil of :data:`_PARTICULAR` when it satisfies the constraints,
    else the minimum-norm solution.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity: expected one of {list(QUANTITIES)}, found {quantity!r}")
    s = len(offsets)
    if not 0 <= degree < s - 1:
        raise ValueError(
            f"degree: expected 0 <= degree < {s - 1} (the stencil of {s} cells must keep free "
            f"coefficients), found {degree}; e.g. degree=1"
        )
    a, b = constraint_system(offsets, degree, 1 if quantity == "u_x" else 0)
    c0 = np.zeros(s)
    for off, val in _PARTICULAR[quantity].items():
        if off in offsets:
            c0[list(offsets).index(off)] = val
    if not np.allclose(a @ c0, b, atol=1e-12):
        c0 = np.linalg.lstsq(a, b, rcond=None)[0]
    _, _, vt = np.linalg.svd(a)
    basis = vt[degree + 1 :].T
    return c0, basis


class StencilFluxModel(nnx.Module):
    """Learned-stencil finite-volume model of forced viscous Burgers (see the module docstring).

    Args:
      dx: cell width (length units); ``nu``: viscosity (length^2 / time).
      dt: model time step (time units); ``integrator``: library integrator name.
      steps_per_frame: model steps between saved frames (the training targets).
      degree: polynomial degree every stencil reproduces exactly.
      stencil_width: cells per stencil (even; :func:`stencil_offsets`), 6 as the paper.
      width, kernel_size, depth, activation: the CNN (:class:`sciml.nn.Tendency`, periodic).
      state_std: velocity scale the network input is divided by.
      grid_shape: ``(N,)`` of the training grid (metadata; the model is shape-agnostic).

    Shapes: ``u`` ``(batch, N, 1)``, ``t`` ``(batch,)``, :class:`Forcing` arrays ``(batch, M)``;
    :meth:`coefficients` ``(batch, N, 3, S)`` for the faces ``i + 1/2`` (``S = stencil_width``).
    """

    def __init__(
        self,
        *,
        dx: float,
        nu: float,
        dt: float,
        integrator: str = "ssprk3",
        steps_per_frame: int = 1,
        degree: int = 1,
        stencil_width: int = 6,
        width: int = 32,
        kernel_size: int = 5,
        depth: int = 3,
        activation: str = "relu",
        state_std: float = 1.0,
        grid_shape: Sequence[int] | None = None,
        rngs: nnx.Rngs,
    ):
        from sciml.nn import Tendency

        if integrator not in INTEGRATORS:
            raise ValueError(
                f"integrator: expected one of {list(INTEGRATORS)}, found {integrator!r}"
            )
        if dt <= 0 or dx <= 0 or nu < 0 or int(steps_per_frame) < 1:
            raise ValueError(
                f"StencilFluxModel: expected dx > 0, dt > 0, nu >= 0, steps_per_frame >= 1, "
                f"found dx={dx}, dt={dt}, nu={nu}, steps_per_frame={steps_per_frame}"
            )
        self.dx, self.nu, self.dt = float(dx), float(nu), float(dt)
        self.integrator = integrator
        self.steps_per_frame = int(steps_per_frame)
        self.degree = int(degree)
        self.offsets = stencil_offsets(stencil_width)
        self.stencil_width = len(self.offsets)
        parts = [constrained_stencil(self.offsets, self.degree, q) for q in QUANTITIES]
        self.n_free = parts[0][1].shape[1]
        self.c0 = Stats(jnp.asarray(np.stack([p[0] for p in parts]), jnp.float32))
        self.basis = Stats(jnp.asarray(np.stack([p[1] for p in parts]), jnp.float32))
        self.state_std = Stats(jnp.asarray([state_std], jnp.float32))
        self.grid_shape = None if grid_shape is None else tuple(int(n) for n in grid_shape)
        self.net = Tendency(
            1,
            out_channels=len(QUANTITIES) * self.n_free,
            width=width,
            kernel_size=kernel_size,
            depth=depth,
            activation=activation,
            boundary="periodic",
            rngs=rngs,
        )
        last = self.net.convs[-1].conv
        last.kernel[...] = jnp.zeros_like(last.kernel[...])
        if last.bias is not None:
            last.bias[...] = jnp.zeros_like(last.bias[...])

    def coefficients(self, u: jax.Array) -> jax.Array:
        """Stencil coefficients ``(batch, N, 3, S)`` (``u_x`` row in units of ``1/dx``)."""
        free = self.net(u / self.state_std[...])
        free = free.reshape(*free.shape[:-1], len(QUANTITIES), self.n_free)
        return self.c0[...] + jnp.einsum("qsf,bnqf->bnqs", self.basis[...], free)

    def face_values(self, u: jax.Array) -> jax.Array:
        """``(u^-, u^+, u_x)`` at faces ``i + 1/2`` stacked on the last axis: ``(batch, N, 3)``."""
        if u.ndim != 3 or u.shape[-1] != 1:
            raise ValueError(f"u: expected shape (batch, N, 1), found {tuple(u.shape)}")
        cells = jnp.stack([jnp.roll(u[..., 0], -j, axis=1) for j in self.offsets], axis=-1)
        vals = jnp.einsum("bnqs,bns->bnq", self.coefficients(u), cells)
        return vals * jnp.asarray([1.0, 1.0, 1.0 / self.dx], vals.dtype)

    def fluxes(self, u: jax.Array) -> jax.Array:
        """Flux ``F_{i+1/2}`` ``(batch, N, 1)``: Godunov flux minus ``nu u_x``."""
        v = self.face_values(u)
        return (godunov_flux(v[..., 0], v[..., 1]) - self.nu * v[..., 2])[..., None]

    def tendency(self, u: jax.Array, t: jax.Array, forcing: Forcing | None = None) -> jax.Array:
        """``du/dt`` ``(batch, N, 1)`` at times ``t`` ``(batch,)``."""
        flux = self.fluxes(u)
        out = -(flux - jnp.roll(flux, 1, axis=1)) / self.dx
        if forcing is not None:
            x = (jnp.arange(u.shape[1], dtype=u.dtype) + 0.5) * self.dx
            out = out + forcing_cell_average(forcing, x, self.dx, t)
        return out

    def step(self, u: jax.Array, t: jax.Array, forcing: Forcing | None = None):
        """One step ``dt`` of the integrator: ``(u, t) -> (u(t + dt), t + dt)``."""

        def rhs(state):
            return self.tendency(state[0], state[1], forcing), jnp.ones_like(state[1])

        return INTEGRATORS[self.integrator](rhs, (u, t), self.dt)

    def frame(self, u: jax.Array, t: jax.Array, forcing: Forcing | None = None):
        """``steps_per_frame`` steps: the model's map between saved frames (a ``lax.scan``,
        unrolled up to 16 steps: XLA's CPU backward of a rolled scan is many times slower, see
        :mod:`sciml.stepper.stencil_task`)."""
        if self.steps_per_frame == 1:
            return self.step(u, t, forcing)

        def body(carry, _):
            return self.step(*carry, forcing), None

        n = self.steps_per_frame
        (u, t), _ = jax.lax.scan(body, (u, t), None, length=n, unroll=min(n, 16))
        return u, t

    def metadata(self) -> dict[str, Any]:
        return {
            "dt": self.dt,
            "integrator": self.integrator,
            "dx": [self.dx],
            "nu": self.nu,
            "steps_per_frame": self.steps_per_frame,
            "degree": self.degree,
            "offsets": list(self.offsets),
            "stencil_width": self.stencil_width,
            "quantities": list(QUANTITIES),
            "grid_shape": None if self.grid_shape is None else list(self.grid_shape),
            "boundary": "periodic",
            "variables": ["u"],
        }


def rollout(
    model: StencilFluxModel,
    u0: jax.Array,
    forcing: Forcing | None,
    *,
    t0: jax.Array,
    n_frames: int,
) -> jax.Array:
    """Frames of the model every ``steps_per_frame`` steps: ``(batch, n_frames + 1, N, 1)``.

    Jit-compiled once per model structure, shape and ``n_frames`` (scan over frames).
    """
    graphdef, state = nnx.split(model)
    return _compiled_rollout(graphdef, int(n_frames))(state, u0, jnp.asarray(t0, u0.dtype), forcing)


@functools.lru_cache(maxsize=16)
def _compiled_rollout(graphdef: Any, n_frames: int):
    def run(state, u0, t0, forcing):
        model = nnx.merge(graphdef, state)

        def body(carry, _):
            carry = model.frame(*carry, forcing)
            return carry, carry[0]

        _, frames = jax.lax.scan(body, (u0, t0), None, length=n_frames)
        return jnp.concatenate([u0[:, None], jnp.moveaxis(frames, 0, 1)], axis=1)

    return jax.jit(run)
