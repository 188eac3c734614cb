"""Periodic pseudo-spectral ETDRK4 machinery shared by the spectral solvers.

A semi-linear PDE ``du/dt = L u + N(u)`` with a linear operator ``L`` that is diagonal in Fourier
space is advanced with the fourth-order exponential time-differencing Runge-Kutta scheme of
Cox & Matthews (2002). The phi-function coefficients are evaluated with contour integrals around
each eigenvalue ``dt L(k)`` (Kassam & Trefethen 2005), which avoids the cancellation of the
direct formulas for small ``|dt L|``. Quadratic nonlinear terms are de-aliased with the 2/3 rule:
modes with ``|m_i| >= N_i / 3`` on any axis are removed from the fields that enter the product
and from the product itself.

States are real, channels-last ``(..., *spatial, channels)``; the spectral state is the
``rfftn`` over the spatial axes, ``(..., *k, channels)``. The linear operator is stored as a
complex array of shape ``(*k, channels)``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from sciml.solvers.grid import Grid

#: Stability constant of the explicit (nonlinear) part: ETDRK4 behaves like RK4 on the
#: imaginary axis (|lambda dt| <= 2.83) where the linear part is weak; we keep a margin.
CFL_LIMIT = 2.5


def etdrk4_coefficients(
    linear: np.ndarray, dt: float, *, n_contour: int = 64, radius: float = 1.0
) -> dict[str, np.ndarray]:
    """ETDRK4 coefficients for a diagonal linear operator, by contour integrals.

    With ``z = dt * L`` (elementwise) the coefficients are::

        E  = exp(z),      E2 = exp(z / 2),
        Q  = dt * (exp(z/2) - 1) / z,
        f1 = dt * (-4 - z + exp(z) (4 - 3 z + z^2)) / z^3,
        f2 = dt * ( 2 + z + exp(z) (z - 2)) / z^3,
        f3 = dt * (-4 - 3 z - z^2 + exp(z) (4 - z)) / z^3,

    each evaluated as the mean of the function over ``n_contour`` points on a circle of radius
    ``radius`` centred at ``z`` (Cauchy's integral formula), so ``z -> 0`` is harmless.

    Args:
      linear: eigenvalues ``L(k)`` of the linear operator (any shape, real or complex; units 1/time).
      dt: time step (> 0).
      n_contour: number of contour points (32-64 give double precision for ``|z|`` up to ~1e3).
      radius: contour radius.

    Returns:
      Dict of complex128 arrays ``E, E2, Q, f1, f2, f3`` with the shape of ``linear``
      (``Q, f1, f2, f3`` in time units, ``E, E2`` dimensionless).
    """
    if not dt > 0:
        raise ValueError(f"dt: expected a value > 0, found {dt}; pass a positive time step")
    z = dt * np.asarray(linear, dtype=np.complex128)
    roots = radius * np.exp(2j * np.pi * (np.arange(n_contour) + 0.5) / n_contour)
    zr = z[..., None] + roots
    ezr = np.exp(zr)

    def mean(values: np.ndarray) -> np.ndarray:
        return values.mean(axis=-1)

    coeffs = {
        "E": np.exp(z),
        "E2": np.exp(z / 2),
        "Q": dt * mean((np.exp(zr / 2) - 1) / zr),
        "f1": dt * mean((-4 - zr + ezr * (4 - 3 * zr + zr**2)) / zr**3),
        "f2": dt * mean((2 + zr + ezr * (zr - 2)) / zr**3),
        "f3": dt * mean((-4 - 3 * zr - zr**2 + ezr * (4 - zr)) / zr**3),
    }
    if np.isrealobj(linear) or np.all(np.imag(linear) == 0):
        coeffs = {name: np.real(value).astype(np.complex128) for name, value in coeffs.items()}
    return coeffs


def spectral_wavenumbers(grid: Grid) -> tuple[np.ndarray, ...]:
    """Angular wavenumbers of the ``rfftn`` layout, each broadcast to ``(*k, 1)`` (float64)."""
    ndim = grid.ndim
    ks = []
    for axis, (n, length) in enumerate(zip(grid.shape, grid.length)):
        if axis == ndim - 1:
            k = 2 * np.pi * np.fft.rfftfreq(n, d=length / n)
        else:
            k = 2 * np.pi * np.fft.fftfreq(n, d=length / n)
        shape = [1] * ndim + [1]
        shape[axis] = k.size
        ks.append(k.reshape(shape))
    return tuple(ks)


def derivative_wavenumbers(grid: Grid) -> tuple[np.ndarray, ...]:
    """Like :func:`spectral_wavenumbers` with the Nyquist mode zeroed (for odd derivatives).

    The Nyquist mode of a real field is a pure cosine on the grid; its odd derivatives are not
    representable, so they are set to zero (the usual convention).
    """
    out = []
    for axis, k in enumerate(spectral_wavenumbers(grid)):
        n = grid.shape[axis]
        k = k.copy()
        if n % 2 == 0:
            flat = k.reshape(-1)
            flat[n // 2] = 0.0
        out.append(k)
    return tuple(out)


def dealias_mask(grid: Grid) -> np.ndarray:
    """2/3-rule mask ``(*k, 1)`` (float64): 1 where every ``|m_i| < N_i / 3``, else 0."""
    ndim = grid.ndim
    mask = np.ones([1] * (ndim + 1))
    for axis, n in enumerate(grid.shape):
        m = np.fft.rfftfreq(n, d=1.0 / n) if axis == ndim - 1 else np.fft.fftfreq(n, d=1.0 / n)
        shape = [1] * (ndim + 1)
        shape[axis] = m.size
        mask = mask * (np.abs(m) < n / 3).reshape(shape)
    return mask


class SpectralStep:
    """Base class of the periodic pseudo-spectral ETDRK4 steps (one ``state -> state`` callable).

    Subclasses set ``linear`` (``(*k, C)`` complex eigenvalues of L, or broadcastable) and
    implement :meth:`nonlinear` (spectral state -> spectral tendency ``N``), or leave
    ``has_nonlinear = False`` for purely linear problems (then the step is the exact
    exponential ``u_hat <- exp(dt L) u_hat``).

    Attributes:
      grid: the periodic :class:`Grid`.
      dt: time step.
      params: the physical parameters (plain Python numbers).
      channels: field names, one per channel.
    """

    has_nonlinear: bool = True
    channels: tuple[str, ...] = ("u",)

    def __init__(self, grid: Grid, dt: float, linear: np.ndarray, params: dict) -> None:
        if not isinstance(grid, Grid):
            raise ValueError(f"grid: expected a sciml.solvers.Grid, found {type(grid).__name__}")
        if grid.boundary != "periodic":
            raise ValueError(
                f"grid.boundary: the spectral solvers need 'periodic', found {grid.boundary!r}; "
                "use Grid(..., boundary='periodic') or a finite-difference solver (fd_*)"
            )
        dt = float(dt)
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt: expected a finite value > 0, found {dt}; pass e.g. dt=0.01")
        self.grid = grid
        self.dt = dt
        self.params = dict(params)
        self.ndim = grid.ndim
        self.axes = tuple(range(-grid.ndim - 1, -1))
        kshape = (*grid.shape[:-1], grid.shape[-1] // 2 + 1)
        linear = np.broadcast_to(
            np.asarray(linear, dtype=np.complex128), (*kshape, self.n_channels)
        )
        self.linear = linear
        self._coeffs = etdrk4_coefficients(linear, dt)
        self.k = spectral_wavenumbers(grid)
        self.kd = derivative_wavenumbers(grid)
        self.mask = dealias_mask(grid)
        self.k2 = sum(k**2 for k in self.k)
        self._cache: dict = {}

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    # -- transforms ----------------------------------------------------------------------
    def fft(self, u: jax.Array) -> jax.Array:
        """Real field ``(..., *spatial, C)`` -> spectrum ``(..., *k, C)``."""
        return jnp.fft.rfftn(u, axes=self.axes)

    def ifft(self, u_hat: jax.Array) -> jax.Array:
        """Spectrum ``(..., *k, C)`` -> real field ``(..., *spatial, C)``."""
        return jnp.fft.irfftn(u_hat, s=self.grid.shape, axes=self.axes)

    def const(self, name: str, value: np.ndarray, dtype) -> jax.Array:
        """A NumPy constant as a JAX array of the working precision (cached per dtype)."""
        key = (name, jnp.dtype(dtype).name)
        if key not in self._cache:
            self._cache[key] = np.asarray(value).astype(dtype)
        return jnp.asarray(self._cache[key])

    def dealias(self, u_hat: jax.Array) -> jax.Array:
        """Apply the 2/3-rule mask to a spectrum ``(..., *k, C)``."""
        return u_hat * self.const("mask", self.mask, _real_dtype(u_hat.dtype))

    def ik(self, axis: int, dtype) -> jax.Array:
        """``i k_axis`` (Nyquist zeroed) as a ``(*k, 1)`` constant: first derivative along ``axis``."""
        return self.const(f"ik{axis}", 1j * self.kd[axis], dtype)

    # -- the PDE ---------------------------------------------------------------------------
    def nonlinear(self, u_hat: jax.Array) -> jax.Array:
        """Spectral nonlinear tendency ``N(u)``, ``(..., *k, C)`` -> ``(..., *k, C)``."""
        raise NotImplementedError(f"{type(self).__name__} must define nonlinear()")

    def __call__(self, state: jax.Array) -> jax.Array:
        """Advance ``state`` ``(batch, *spatial, C)`` (real, float32/float64) by one ``dt``.

        Compiled once per input shape/dtype when called eagerly; inlined inside an outer
        ``jit``/``scan``/``grad``.
        """
        self._check_shape(state)
        if "jitted" not in self._cache:
            self._cache["jitted"] = jax.jit(self._step)
        return self._cache["jitted"](state)

    def _step(self, state: jax.Array) -> jax.Array:
        dtype = state.dtype if jnp.issubdtype(state.dtype, jnp.floating) else jnp.float32
        u_hat = self.fft(state.astype(dtype))
        cdtype = u_hat.dtype
        c = {name: self.const(name, value, cdtype) for name, value in self._coeffs.items()}
        if not self.has_nonlinear:
            return self.ifft(c["E"] * u_hat).astype(dtype)
        n_u = self.nonlinear(u_hat)
        a = c["E2"] * u_hat + c["Q"] * n_u
        n_a = self.nonlinear(a)
        b = c["E2"] * u_hat + c["Q"] * n_a
        n_b = self.nonlinear(b)
        cc = c["E2"] * a + c["Q"] * (2 * n_b - n_u)
        n_c = self.nonlinear(cc)
        new = c["E"] * u_hat + c["f1"] * n_u + 2 * c["f2"] * (n_a + n_b) + c["f3"] * n_c
        return self.ifft(new).astype(dtype)

    def _check_shape(self, state) -> None:
        shape = tuple(state.shape)
        expected = (*self.grid.shape, self.n_channels)
        if len(shape) < self.ndim + 1 or shape[-self.ndim - 1 :] != expected:
            raise ValueError(
                f"{type(self).__name__}: state shape expected (batch, {', '.join(map(str, expected))})"
                f", found {shape}; states are channels-last (batch, *spatial, channels)"
            )

    # -- stability ---------------------------------------------------------------------------
    def advective_speed(self, state: jax.Array) -> jax.Array:
        """Largest signal speed of the explicit (nonlinear) part for ``state`` (0 if linear).

        Traceable (called under ``jit`` by :meth:`max_stable_dt`)."""
        return jnp.zeros((), state.dtype)

    def explicit_rate(self, state: jax.Array) -> jax.Array:
        """Largest local (non-advective) rate of the explicit part, e.g. reactions (1/time)."""
        return jnp.zeros((), state.dtype)

    def max_stable_dt(self, state: jax.Array) -> float:
        """Linearised stability limit of the explicit part of ETDRK4 for ``state``.

        Advective part: ``dt <= CFL_LIMIT / (s * k_eff)`` where ``s`` is :meth:`advective_speed`
        and ``k_eff`` the largest retained ``|k|`` whose linear damping ``-Re L(k)`` is weaker than
        the advective rate ``s |k|`` (modes damped faster than they are advected are stabilised by
        the exponential integrator). Local part: ``dt <= CFL_LIMIT / rate``. ``inf`` for linear
        problems (ETDRK4 is exact for them).
        """
        self._check_shape(state)
        if "rates" not in self._cache:
            self._cache["rates"] = jax.jit(
                lambda z: (self.advective_speed(z), self.explicit_rate(z))
            )
        state = jnp.asarray(state)
        if not jnp.issubdtype(state.dtype, jnp.floating):
            state = state.astype(jnp.float32)
        speed, rate = (float(r) for r in self._cache["rates"](state))
        limit = math.inf
        if speed > 0:
            kmag = np.sqrt(self.k2)[..., 0]
            damping = np.min(-np.real(self.linear), axis=-1)
            retained = self.mask[..., 0] > 0
            active = retained & (damping < speed * kmag)
            if active.any():
                limit = CFL_LIMIT / (speed * kmag[active].max())
        if rate > 0:
            limit = min(limit, CFL_LIMIT / rate)
        return limit

    def check_dt(self, state: jax.Array) -> None:
        """Raise ``ValueError`` if ``self.dt`` exceeds :meth:`max_stable_dt` for ``state``."""
        limit = self.max_stable_dt(state)
        if self.dt > limit:
            raise ValueError(
                f"dt: {self.dt:g} is above the stable limit {limit:.4g} of {type(self).__name__} "
                f"for this state (explicit nonlinear part, CFL {CFL_LIMIT}); use dt <= {limit:.4g}"
            )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}(shape={self.grid.shape}, length={self.grid.length}, dt={self.dt:g}, {params})"


def _real_dtype(dtype) -> np.dtype:
    return np.finfo(jnp.dtype(dtype)).dtype
