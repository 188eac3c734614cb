"""The finite-volume vorticity scheme of :class:`sciml.solvers.fvns.FiniteVolumeNS2D` in NumPy.

The base scheme of the exported learned-interpolation model (kind ``fv_interpolation``,
:mod:`sciml.stepper.interpolation_artifact`); NumPy only at import, no JAX. On a periodic box
``[0, Lx) x [0, Ly)`` of ``Nx x Ny`` cells (centres ``(i hx, j hy)``, axis 0 is x), state
``omega`` ``(batch, Nx, Ny, 1)``:

    d(omega)/dt = -div(u omega) + nu L_h omega - drag omega - A k_f cos(k_f y_j),
    k_f = 2 pi n_f / Ly

1. streamfunction: ``L_h psi = -omega`` with the 5-point Laplacian ``L_h``, solved exactly by FFT
   (eigenvalues ``(4/hx^2) sin^2(kx hx/2) + (4/hy^2) sin^2(ky hy/2)``, zero mean);
2. face velocities, discretely divergence-free: ``u_{i+1/2,j} = (psi_{i,j+1} + psi_{i+1,j+1} -
   psi_{i,j-1} - psi_{i+1,j-1}) / (4 hy)``, ``v_{i,j+1/2} = -(psi_{i+1,j} + psi_{i+1,j+1} -
   psi_{i-1,j} - psi_{i-1,j+1}) / (4 hx)``;
3. face values ``omega_f``: upwind van Leer MUSCL, or what the caller's ``face_values(omega, u, v)``
   returns (the hook the learned interpolation uses);
4. tendency ``-(u_f omega_f)_{i+1/2} + (u_f omega_f)_{i-1/2}`` over ``hx`` (same in y), plus
   ``nu`` times the 5-point Laplacian, drag and the pointwise forcing;
5. SSP-RK3 (Shu-Osher): ``a = w + dt f(w)``, ``b = 3/4 w + 1/4 (a + dt f(a))``,
   ``w' = 1/3 w + 2/3 (b + dt f(b))``.

Arithmetic is in the state's floating dtype (float32 or float64).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

X_AXIS, Y_AXIS = -3, -2  # spatial axes of a (..., Nx, Ny, 1) state

FaceValues = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def van_leer_slope(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Van Leer's limited slope ``2ab / (a + b)`` where ``a b > 0``, else 0."""
    ab = a * b
    return np.where(ab > 0, 2 * ab / np.where(ab > 0, a + b, 1), 0).astype(a.dtype, copy=False)


def muscl_face_values(omega: np.ndarray, velocity: np.ndarray, axis: int) -> np.ndarray:
    """Upwind van Leer MUSCL value on the faces ``i+1/2`` along ``axis`` (shape of ``omega``)."""
    right = np.roll(omega, -1, axis)
    slope = van_leer_slope(omega - np.roll(omega, 1, axis), right - omega)
    return np.where(velocity >= 0, omega + 0.5 * slope, right - 0.5 * np.roll(slope, -1, axis))


class NumpyFVNS2D:
    """One SSP-RK3 step of the finite-volume vorticity scheme, ``(B, Nx, Ny, 1)`` -> same.

    Args:
      shape: cells ``(Nx, Ny)``.
      length: box ``(Lx, Ly)`` (length units).
      dt: the SSP-RK3 step (time units).
      nu, drag, forcing_wavenumber, forcing_amplitude: as ``FiniteVolumeNS2D``.
    """

    def __init__(
        self,
        shape: Sequence[int],
        length: Sequence[float],
        dt: float,
        *,
        nu: float,
        drag: float,
        forcing_wavenumber: int,
        forcing_amplitude: float,
    ) -> None:
        nx, ny = (int(n) for n in shape)
        lx, ly = (float(v) for v in length)
        self.shape, self.length, self.dt = (nx, ny), (lx, ly), float(dt)
        self.nu, self.drag = float(nu), float(drag)
        self.hx, self.hy = lx / nx, ly / ny
        kx = 2 * np.pi * np.fft.fftfreq(nx, d=self.hx)
        ky = 2 * np.pi * np.fft.fftfreq(ny, d=self.hy)
        eig = (4 / self.hx**2) * np.sin(kx[:, None] * self.hx / 2) ** 2 + (4 / self.hy**2) * np.sin(
            ky[None, :] * self.hy / 2
        ) ** 2
        self.inv_neg_laplacian = np.where(eig > 1e-12, 1 / np.where(eig > 1e-12, eig, 1), 0.0)
        k_f = 2 * np.pi * int(forcing_wavenumber) / ly
        y = np.arange(ny) * self.hy
        row = -float(forcing_amplitude) * k_f * np.cos(k_f * y)
        self.forcing = np.broadcast_to(row[None, :, None], (nx, ny, 1))

    def streamfunction(self, omega: np.ndarray) -> np.ndarray:
        """``psi`` with ``L_h psi = -omega`` (zero mean), same shape and dtype as ``omega``."""
        inv = self.inv_neg_laplacian.astype(omega.dtype)
        psi = np.fft.ifft2(np.fft.fft2(omega[..., 0], axes=(-2, -1)) * inv, axes=(-2, -1)).real
        return psi[..., None].astype(omega.dtype, copy=False)

    def face_velocity(self, omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(u on x-faces i+1/2, v on y-faces j+1/2)``, each shaped like ``omega``."""
        psi = self.streamfunction(omega)
        dpsi_dy = (np.roll(psi, -1, Y_AXIS) - np.roll(psi, 1, Y_AXIS)) / (2 * self.hy)
        dpsi_dx = (np.roll(psi, -1, X_AXIS) - np.roll(psi, 1, X_AXIS)) / (2 * self.hx)
        u = 0.5 * (dpsi_dy + np.roll(dpsi_dy, -1, X_AXIS))
        v = -0.5 * (dpsi_dx + np.roll(dpsi_dx, -1, Y_AXIS))
        return u, v

    def tendency(self, omega: np.ndarray, face_values: FaceValues | None = None) -> np.ndarray:
        """``d omega / dt`` of the semi-discrete scheme (steps 1-4), ``(B, Nx, Ny, 1)``."""
        u, v = self.face_velocity(omega)
        if face_values is None:
            wx = muscl_face_values(omega, u, X_AXIS)
            wy = muscl_face_values(omega, v, Y_AXIS)
        else:
            wx, wy = face_values(omega, u, v)
        fx, fy = u * wx, v * wy
        adv = -(fx - np.roll(fx, 1, X_AXIS)) / self.hx - (fy - np.roll(fy, 1, Y_AXIS)) / self.hy
        lx = np.roll(omega, -1, X_AXIS) - 2 * omega + np.roll(omega, 1, X_AXIS)
        ly = np.roll(omega, -1, Y_AXIS) - 2 * omega + np.roll(omega, 1, Y_AXIS)
        diffusion = self.nu * (lx / self.hx**2 + ly / self.hy**2)
        return adv + diffusion - self.drag * omega + self.forcing.astype(omega.dtype)

    def step(self, omega: np.ndarray, face_values: FaceValues | None = None) -> np.ndarray:
        """One SSP-RK3 step of ``dt`` (step 5), ``(B, Nx, Ny, 1)`` -> same."""
        dt = self.dt
        w1 = omega + dt * self.tendency(omega, face_values)
        w2 = 0.75 * omega + 0.25 * (w1 + dt * self.tendency(w1, face_values))
        return omega / 3 + 2 / 3 * (w2 + dt * self.tendency(w2, face_values))
