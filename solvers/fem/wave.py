"""Wave equation on a triangle mesh: P1 finite elements in space, Newmark or leapfrog in time.

    d^2u/dt^2 = c^2 laplace(u) + f(x, t)    in the domain
    u = g(x, t)                             on Dirichlet-tagged edges
    du/dn = q(x, t)                         on Neumann-tagged edges (0 on untagged edges)

Semi-discrete: ``M u'' + c^2 K u = b(t)``, ``b = int f phi + c^2 int q phi ds``; the state holds
``u`` and ``v = du/dt``. Time schemes:

- ``"newmark"``: average acceleration (Newmark beta = 1/4, gamma = 1/2), i.e. the trapezoidal
  rule on ``(u, v)``: ``(M + dt^2 c^2 / 4 K) v^{n+1} = (M - dt^2 c^2 / 4 K) v^n - dt c^2 K u^n
  + dt / 2 (b^n + b^{n+1})``, ``u^{n+1} = u^n + dt / 2 (v^n + v^{n+1})``. Implicit,
  unconditionally stable, second order, and conserves the energy
  ``E = 1/2 v^T M v + c^2 / 2 u^T K u`` exactly when ``b = 0`` and the Dirichlet data vanish.
- ``"leapfrog"``: explicit central differences in velocity-Verlet form (a half kick, a drift, a
  half kick); with lumped mass no linear solve at all. Second order, symplectic, stable for
  ``dt < 2 / (c sqrt(lambda_max(M^-1 K)))`` (checked); it conserves the modified energy
  ``E - dt^2 c^4 / 8 (K u)^T M^-1 (K u)`` exactly.

Both conservation laws hold on the free nodes (Dirichlet nodes carry no energy when ``g = 0``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import scipy.sparse as sp
from sciml.solvers.fem.base import FEMStep, positive
from sciml.solvers.fem.boundary import TimeFunction
from sciml.solvers.fem.mesh import TriMesh
from scipy.sparse.linalg import eigsh, splu

WAVE_SCHEMES = ("newmark", "leapfrog")


class FEMWave(FEMStep):
    """P1 wave-equation stepper (see the module docstring).

    Args:
      mesh, dt, mass, dirichlet, neumann, source: see :class:`sciml.solvers.fem.base.FEMStep`.
      c: wave speed (length / time), > 0.
      scheme: ``"newmark"`` or ``"leapfrog"``.
      check: for leapfrog, raise ``ValueError`` naming the limit when ``dt`` is unstable.

    State: ``(batch, N, 2)``, channels ``u`` and ``v = du/dt`` at the nodes.
    """

    equation = "fem-wave"
    variables = ("u", "v")

    def __init__(
        self,
        mesh: TriMesh,
        dt: float,
        *,
        c: float = 1.0,
        scheme: str = "newmark",
        mass: str = "consistent",
        dirichlet: Mapping[str, TimeFunction] | None = None,
        neumann: Mapping[str, TimeFunction] | None = None,
        source: Callable[[np.ndarray, float], np.ndarray] | float | None = None,
        check: bool = True,
    ):
        self.c = positive("c", c, "the wave speed must be positive, e.g. c=1.0")
        if scheme not in WAVE_SCHEMES:
            raise ValueError(f"scheme: expected one of {list(WAVE_SCHEMES)}, found {scheme!r}")
        self.scheme = scheme
        super().__init__(mesh, dt, mass=mass, dirichlet=dirichlet, neumann=neumann, source=source)
        c2dt2 = self.c**2 * self.dt**2
        if scheme == "newmark":
            self._lhs = splu((self.M_ff + 0.25 * c2dt2 * self.K_ff).tocsc())
            self._rhs_v = (self.M_ff - 0.25 * c2dt2 * self.K_ff).tocsr()
        if mass == "lumped":
            inv = 1.0 / self.M_ff.diagonal()
            self._solve_m = lambda r: inv[:, None] * r
        else:
            lu = splu(self.M_ff.tocsc())
            self._solve_m = lu.solve
        if scheme == "leapfrog" and check and self._f.size:
            limit = self.max_stable_dt()
            if self.dt >= limit:
                raise ValueError(
                    f"dt: leapfrog is unstable for dt={self.dt:g} on this mesh (limit "
                    f"{limit:.4g} = 2 / (c sqrt(lambda_max))); use dt < {0.9 * limit:.4g} or "
                    "scheme='newmark'"
                )

    @property
    def neumann_coefficient(self) -> float:
        return self.c**2

    def max_stable_dt(self) -> float:
        """Leapfrog stability limit ``2 / (c sqrt(lambda_max(M_ff^-1 K_ff)))`` (time units)."""
        m = self.M_ff
        if self.mass_kind == "lumped":
            s = sp.diags(1.0 / np.sqrt(m.diagonal()))
            lam = eigsh(s @ self.K_ff @ s, k=1, which="LA", return_eigenvectors=False, tol=1e-8)[0]
        else:
            lam = eigsh(self.K_ff, k=1, M=m, which="LA", return_eigenvectors=False, tol=1e-8)[0]
        return float(2.0 / (self.c * np.sqrt(lam)))

    def _accel(self, u: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        """Free-node acceleration ``M_ff^-1 (b_f - c^2 (K_ff u_f + K_fd g) - M_fd g'')``."""
        r = b[self._f, None] - self.c**2 * (self.K_ff @ u[self._f])
        if self._d.size:
            r -= self.c**2 * (self.K_fd @ self.bc.dirichlet_values(t)[:, None])
            r -= self.M_fd @ self.bc.dirichlet_rate(t, 0.5 * self.dt, order=2)[:, None]
        return self._solve_m(r)

    def _step(self, z: np.ndarray, t: float) -> np.ndarray:
        f, d, dt, c2 = self._f, self._d, self.dt, self.c**2
        u, v = z[..., 0].T.copy(), z[..., 1].T.copy()  # (N, B)
        b0, b1 = self.load(t), self.load(t + dt)
        if d.size:  # Dirichlet nodes follow g exactly; their velocity is dg/dt (O(dt^2))
            g0 = self.bc.dirichlet_values(t)[:, None]
            g1 = self.bc.dirichlet_values(t + dt)[:, None]
            vd0 = self.bc.dirichlet_rate(t, 0.5 * dt)[:, None]
            vd1 = self.bc.dirichlet_rate(t + dt, 0.5 * dt)[:, None]
            u[d], v[d] = g0, vd0
        if self.scheme == "newmark":
            rhs = self._rhs_v @ v[f] - dt * c2 * (self.K_ff @ u[f])
            rhs += (0.5 * dt * (b0 + b1))[f, None]
            if d.size:
                rhs -= self.M_fd @ (vd1 - vd0) + 0.5 * dt * c2 * (self.K_fd @ (g0 + g1))
            v_new = self._lhs.solve(rhs)
            u[f] += 0.5 * dt * (v[f] + v_new)
            v[f] = v_new
        else:
            v[f] += 0.5 * dt * self._accel(u, b0, t)
            u[f] += dt * v[f]
            if d.size:
                u[d] = g1
            v[f] += 0.5 * dt * self._accel(u, b1, t + dt)
        if d.size:
            u[d], v[d] = g1, vd1
        return np.stack([u.T, v.T], axis=-1)

    def energy(self, z: np.ndarray, *, modified: bool = False) -> np.ndarray:
        """Discrete energy per sample ``(batch,)`` (scalar for one state), on the free nodes.

        ``E = 1/2 v^T M v + c^2 / 2 u^T K u``; with ``modified`` the leapfrog invariant
        ``E - dt^2 c^4 / 8 (K u)^T M^-1 (K u)``.
        """
        zb, single = self._batched(z)
        u, v = zb[..., 0].T[self._f], zb[..., 1].T[self._f]
        ku = self.K_ff @ u
        e = 0.5 * np.sum(v * (self.M_ff @ v), 0) + 0.5 * self.c**2 * np.sum(u * ku, 0)
        if modified:
            e -= self.dt**2 * self.c**4 / 8.0 * np.sum(ku * self._solve_m(ku), 0)
        return e[0] if single else e

    def describe(self) -> dict:
        return super().describe() | {"c": self.c, "scheme": self.scheme}
