"""Built-in synthetic data: input/target pairs from the exact solution of the heat equation.

Needs no download, so the example configs and the tests can train end to end anywhere.
"""

from __future__ import annotations

import math

import numpy as np


class SyntheticHeat:
    """Random-access source of heat-equation pairs on a periodic box, exact in Fourier space.

    Equation: ``u_t = nu * Laplacian(u)`` on ``[0, L)^d`` (periodic), whose exact solution is
    ``u_hat(k, t) = u_hat(k, 0) * exp(-nu |k|^2 t)``. Each sample draws a random smooth initial
    condition (Fourier modes ``|m_i| <= n_modes`` with amplitudes ``~ 1 / (1 + |m|)``, scaled to unit
    RMS) and a random time ``t`` in ``[0, t_max]``, and returns

    - ``x``: ``u(t)``, shape ``(*spatial, 1)``;
    - ``y``: the target selected by ``target``:
      ``"tendency"`` (default) the exact finite-time rate ``(u(t + dt) - u(t)) / dt`` that a
      forward-Euler learned stepper must produce; ``"rate"`` the instantaneous
      ``nu * Laplacian(u)(t)``; ``"next"`` the next state ``u(t + dt)``.

    Units: lengths in units of ``length``, time in the units of ``1 / (nu k^2)``; ``y`` for
    ``"tendency"``/``"rate"`` is state units per time unit.

    Args:
      n_samples: number of pairs (all are generated in memory, float32).
      n: grid points per axis.
      ndim: spatial dimensions (1, 2 or 3).
      length: domain length per axis (default ``2 pi``).
      nu: diffusivity (> 0).
      dt: time step of the pair (> 0).
      t_max: initial times are uniform in ``[0, t_max]``.
      n_modes: highest Fourier mode index of the initial conditions (< n / 2).
      target: ``"tendency"``, ``"rate"`` or ``"next"``.
      seed: integer seed; the same seed gives the same samples.
    """

    def __init__(
        self,
        n_samples: int = 256,
        n: int = 64,
        *,
        ndim: int = 1,
        length: float = 2 * math.pi,
        nu: float = 0.05,
        dt: float = 0.01,
        t_max: float = 1.0,
        n_modes: int = 8,
        target: str = "tendency",
        seed: int = 0,
    ):
        if n_samples < 1:
            raise ValueError(f"synthetic_heat n_samples: expected >= 1, found {n_samples}")
        if ndim not in (1, 2, 3):
            raise ValueError(f"synthetic_heat ndim: expected 1, 2 or 3, found {ndim}")
        if nu <= 0 or dt <= 0 or length <= 0:
            raise ValueError(
                f"synthetic_heat: expected nu, dt, length > 0, found nu={nu}, dt={dt}, length={length}"
            )
        if not 1 <= n_modes < n // 2:
            raise ValueError(
                f"synthetic_heat n_modes: expected 1 <= n_modes < n/2 = {n // 2}, found {n_modes}"
            )
        if target not in ("tendency", "rate", "next"):
            raise ValueError(
                f"synthetic_heat target: expected 'tendency', 'rate' or 'next', found {target!r}"
            )
        self.n_samples, self.n, self.ndim = int(n_samples), int(n), int(ndim)
        self.length, self.nu, self.dt, self.target = float(length), float(nu), float(dt), target
        rng = np.random.default_rng(seed)
        shape = (n,) * ndim
        rshape = (*shape[:-1], n // 2 + 1)
        # Integer mode indices and angular wavenumbers on the rfft grid.
        m = np.meshgrid(
            *[np.fft.fftfreq(n, 1.0 / n)] * (ndim - 1), np.fft.rfftfreq(n, 1.0 / n), indexing="ij"
        )
        m_abs = np.sqrt(sum(mi**2 for mi in m))
        k2 = (2 * np.pi / self.length) ** 2 * sum(mi**2 for mi in m)
        band = np.all([np.abs(mi) <= n_modes for mi in m], axis=0) & (m_abs > 0)
        coef = rng.standard_normal((n_samples, *rshape)) + 1j * rng.standard_normal(
            (n_samples, *rshape)
        )
        coef *= band / (1.0 + m_abs)
        u0 = np.fft.irfftn(coef, s=shape, axes=tuple(range(1, ndim + 1)))
        rms = np.sqrt(np.mean(u0**2, axis=tuple(range(1, ndim + 1)), keepdims=True))
        coef /= rms.reshape((n_samples,) + (1,) * ndim)
        t = rng.uniform(0.0, t_max, size=(n_samples,) + (1,) * ndim)
        axes = tuple(range(1, ndim + 1))
        u_hat = coef * np.exp(-self.nu * k2 * t)
        x = np.fft.irfftn(u_hat, s=shape, axes=axes)
        if target == "rate":
            y = np.fft.irfftn(-self.nu * k2 * u_hat, s=shape, axes=axes)
        else:
            nxt = np.fft.irfftn(u_hat * np.exp(-self.nu * k2 * self.dt), s=shape, axes=axes)
            y = nxt if target == "next" else (nxt - x) / self.dt
        self._x = x[..., None].astype(np.float32)
        self._y = y[..., None].astype(np.float32)

    def __len__(self) -> int:
        return self.n_samples

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        index = int(index)
        if not -self.n_samples <= index < self.n_samples:
            raise IndexError(
                f"synthetic_heat: index {index} out of range for {self.n_samples} samples"
            )
        return {"x": self._x[index], "y": self._y[index]}

    @property
    def element_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        return {
            "x": (self._x.shape[1:], self._x.dtype),
            "y": (self._y.shape[1:], self._y.dtype),
        }

    @property
    def frame_dt(self) -> float | None:
        """Time between ``x`` and ``y`` for the ``next``/``tendency`` targets (None for ``rate``);
        a learned stepper checks it against its own ``dt`` before training."""
        return None if self.target == "rate" else self.dt

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return (self.n,) * self.ndim

    @property
    def attrs(self) -> dict[str, object]:
        """The grid and equation, as the attributes of a trajectory file state them."""
        return {
            "equation": "heat",
            "nu": self.nu,
            "grid_shape": [self.n] * self.ndim,
            "domain_length": [self.length] * self.ndim,
            "boundary": "periodic",
        }

    @property
    def dx(self) -> float:
        """Grid spacing (periodic grid ``x_i = i dx``)."""
        return self.length / self.n
