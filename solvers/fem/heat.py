"""Heat equation on a triangle mesh: P1 finite elements in space, theta-scheme in time.

    du/dt = kappa * laplace(u) + f(x, t)    in the domain
    u = g(x, t)                             on Dirichlet-tagged edges
    du/dn = q(x, t)                         on Neumann-tagged edges (0 on untagged edges)

Semi-discrete (Galerkin): ``M u' + kappa K u = b(t)`` with ``b = int f phi + kappa int q phi ds``
(:mod:`sciml.solvers.fem.assembly`). The theta-scheme

    (M + theta dt kappa K) u^{n+1} = (M - (1 - theta) dt kappa K) u^n
                                     + dt (theta b^{n+1} + (1 - theta) b^n)

is solved for the free nodes with the Dirichlet values lifted to the right-hand side; the matrix
is factorised once (``scipy.sparse.linalg.splu``). ``"crank-nicolson"`` (theta = 1/2) is second
order in time, ``"implicit-euler"`` (theta = 1) first order and L-stable (no oscillation of
unresolved modes); both are unconditionally stable. With zero-flux boundaries and no source the
total heat ``1^T M u`` is conserved exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from sciml.solvers.fem.base import FEMStep, positive
from sciml.solvers.fem.boundary import TimeFunction
from sciml.solvers.fem.mesh import TriMesh
from scipy.sparse.linalg import splu

HEAT_SCHEMES = {"crank-nicolson": 0.5, "implicit-euler": 1.0}


class FEMHeat(FEMStep):
    """P1 heat-equation stepper (see the module docstring).

    Args:
      mesh, dt, mass, dirichlet, neumann, source: see :class:`sciml.solvers.fem.base.FEMStep`.
      kappa: diffusivity (length^2 / time), > 0.
      scheme: ``"crank-nicolson"`` or ``"implicit-euler"``.

    State: ``(batch, N, 1)``, the temperature ``u`` at the nodes.
    """

    equation = "fem-heat"
    variables = ("u",)

    def __init__(
        self,
        mesh: TriMesh,
        dt: float,
        *,
        kappa: float = 1.0,
        scheme: str = "crank-nicolson",
        mass: str = "consistent",
        dirichlet: Mapping[str, TimeFunction] | None = None,
        neumann: Mapping[str, TimeFunction] | None = None,
        source: Callable[[np.ndarray, float], np.ndarray] | float | None = None,
    ):
        self.kappa = positive("kappa", kappa, "the diffusivity must be positive, e.g. kappa=0.1")
        if scheme not in HEAT_SCHEMES:
            raise ValueError(f"scheme: expected one of {list(HEAT_SCHEMES)}, found {scheme!r}")
        self.scheme = scheme
        self.theta = HEAT_SCHEMES[scheme]
        super().__init__(mesh, dt, mass=mass, dirichlet=dirichlet, neumann=neumann, source=source)
        a = self.dt * self.kappa
        self._lhs = splu((self.M_ff + self.theta * a * self.K_ff).tocsc())
        self._explicit = (self.M_ff - (1 - self.theta) * a * self.K_ff).tocsr()

    @property
    def neumann_coefficient(self) -> float:
        return self.kappa

    def _step(self, z: np.ndarray, t: float) -> np.ndarray:
        th, a = self.theta, self.dt * self.kappa
        f, d = self._f, self._d
        u = z[..., 0].T  # (N, B)
        b0, b1 = self.load(t), self.load(t + self.dt)
        rhs = self._explicit @ u[f] + (self.dt * (th * b1 + (1 - th) * b0))[f, None]
        if d.size:
            g0 = self.bc.dirichlet_values(t)[:, None]
            g1 = self.bc.dirichlet_values(t + self.dt)[:, None]
            rhs -= self.M_fd @ (g1 - g0) + a * (self.K_fd @ (th * g1 + (1 - th) * g0))
        out = np.empty_like(u)
        out[f] = self._lhs.solve(rhs)
        if d.size:
            out[d] = g1
        return out.T[..., None]

    def total_heat(self, z: np.ndarray) -> np.ndarray:
        """``int u_h dx = 1^T M u`` per sample ``(batch,)`` (or a scalar for one state)."""
        zb, single = self._batched(z)
        q = np.asarray(self.M.sum(axis=0)).ravel() @ zb[..., 0].T
        return q[0] if single else q

    def describe(self) -> dict:
        return super().describe() | {"kappa": self.kappa, "scheme": self.scheme}
