"""Fifth-order WENO reconstruction of face states from cell averages (Jiang and Shu 1996).

For the face ``i + 1/2`` the left state ``u^-`` combines the three third-order candidates on
cells ``{i-2, i-1, i}``, ``{i-1, i, i+1}``, ``{i, i+1, i+2}``

    q0 = ( 2 u_{i-2} - 7 u_{i-1} + 11 u_i) / 6
    q1 = (  -u_{i-1} + 5 u_i     +  2 u_{i+1}) / 6
    q2 = ( 2 u_i     + 5 u_{i+1} -    u_{i+2}) / 6

with nonlinear weights ``w_r ∝ d_r / (eps + beta_r)^2``, linear weights ``d = (1, 6, 3) / 10`` and
the smoothness indicators ``beta_r``; the result is fifth-order accurate where ``u`` is smooth
(away from critical points) and essentially non-oscillatory at shocks. The right state ``u^+`` is
the mirror image (cells ``i-1 .. i+3``). Periodic grids only (``jnp.roll``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

EPS = 1e-6  # the Jiang-Shu regulariser (in units of u^2; u is O(1) here)


def _weno5_left(um2, um1, u0, up1, up2, eps):
    q0 = (2 * um2 - 7 * um1 + 11 * u0) / 6
    q1 = (-um1 + 5 * u0 + 2 * up1) / 6
    q2 = (2 * u0 + 5 * up1 - up2) / 6
    b0 = 13 / 12 * (um2 - 2 * um1 + u0) ** 2 + 0.25 * (um2 - 4 * um1 + 3 * u0) ** 2
    b1 = 13 / 12 * (um1 - 2 * u0 + up1) ** 2 + 0.25 * (um1 - up1) ** 2
    b2 = 13 / 12 * (u0 - 2 * up1 + up2) ** 2 + 0.25 * (3 * u0 - 4 * up1 + up2) ** 2
    a0 = 0.1 / (eps + b0) ** 2
    a1 = 0.6 / (eps + b1) ** 2
    a2 = 0.3 / (eps + b2) ** 2
    return (a0 * q0 + a1 * q1 + a2 * q2) / (a0 + a1 + a2)


def weno5_faces(u: jax.Array, axis: int, eps: float = EPS) -> tuple[jax.Array, jax.Array]:
    """Left and right states at faces ``i + 1/2`` (index ``i``) of a periodic field.

    Args:
      u: cell averages, any shape; ``axis`` is the periodic grid axis.
    Returns:
      ``(u_minus, u_plus)``, each the shape of ``u``.
    """

    def s(j):  # s(j)[i] = u[i + j]
        return jnp.roll(u, -j, axis=axis)

    um2, um1, u0, up1, up2, up3 = s(-2), s(-1), u, s(1), s(2), s(3)
    left = _weno5_left(um2, um1, u0, up1, up2, eps)
    right = _weno5_left(up3, up2, up1, u0, um1, eps)  # mirror about the face
    return left, right
