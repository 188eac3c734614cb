"""Shared machinery of the finite-element time steppers (heat, wave).

A stepper is a callable object: ``step(z, t)`` advances a NumPy state ``(batch, N, C)`` (or one
state ``(N, C)``) from time ``t`` to ``t + dt``, channels last as everywhere in sciml (``N`` mesh
nodes, ``C`` fields). :meth:`FEMStep.run` drives it and keeps every ``save_every``-th frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from sciml.solvers.fem.assembly import load_vector, mass, stiffness
from sciml.solvers.fem.boundary import BoundaryConditions, TimeFunction
from sciml.solvers.fem.mesh import TriMesh
from tqdm.auto import tqdm

MASS_KINDS = ("consistent", "lumped")


def positive(name: str, value: float, hint: str) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a positive number, found {value}; {hint}")
    return value


class FEMStep:
    """Base class: mesh, matrices, boundary data and the state contract.

    Args:
      mesh: the triangle mesh.
      dt: time step (time units).
      mass: ``"consistent"`` or ``"lumped"``.
      dirichlet, neumann: boundary data by tag (:class:`BoundaryConditions`).
      source: volume source ``f(x, t)`` (or a constant), or None.
    """

    equation = "fem"
    variables: tuple[str, ...] = ("u",)

    def __init__(
        self,
        mesh: TriMesh,
        dt: float,
        *,
        mass: str = "consistent",
        dirichlet: Mapping[str, TimeFunction] | None = None,
        neumann: Mapping[str, TimeFunction] | None = None,
        source: Callable[[np.ndarray, float], np.ndarray] | float | None = None,
    ):
        if not isinstance(mesh, TriMesh):
            raise ValueError(
                f"mesh: expected a sciml.solvers.fem.TriMesh, found {type(mesh).__name__}; build "
                "one with TriMesh.from_arrays, a meshgen function or read_mesh"
            )
        self.mesh = mesh
        self.dt = positive("dt", dt, "pass the time step, e.g. dt=0.01")
        if mass not in MASS_KINDS:
            raise ValueError(f"mass: expected one of {list(MASS_KINDS)}, found {mass!r}")
        self.mass_kind = mass
        self.bc = BoundaryConditions(mesh, dirichlet, neumann)
        self.source = source
        self.M = _mass(mesh, mass)
        self.K = stiffness(mesh)
        f, d = self.bc.free_nodes, self.bc.dirichlet_nodes
        self._f, self._d = f, d
        self.M_ff, self.M_fd = self.M[f][:, f].tocsc(), self.M[f][:, d].tocsc()
        self.K_ff, self.K_fd = self.K[f][:, f].tocsc(), self.K[f][:, d].tocsc()
        self._static_load = None
        if not callable(source) and not self.bc.time_dependent:
            self._static_load = self._compute_load(0.0)

    # ------------------------------------------------------------------------ load and state

    def _compute_load(self, t: float) -> np.ndarray:
        """Right-hand side ``b(t) = int f phi + coef * int_{Gamma_N} g phi`` ``(N,)``."""
        b = np.zeros(self.mesh.n_nodes)
        if self.source is not None:
            src = self.source
            b += load_vector(self.mesh, (lambda x: src(x, t)) if callable(src) else src)
        return b + self.neumann_coefficient * self.bc.neumann_load(t)

    @property
    def neumann_coefficient(self) -> float:
        return 1.0

    def load(self, t: float) -> np.ndarray:
        return self._static_load if self._static_load is not None else self._compute_load(t)

    def _batched(self, z: np.ndarray) -> tuple[np.ndarray, bool]:
        z = np.asarray(z, np.float64)
        c = len(self.variables)
        if z.ndim == 2:
            z, single = z[None], True
        elif z.ndim == 3:
            single = False
        else:
            raise ValueError(
                f"state: expected (batch, {self.mesh.n_nodes}, {c}) or ({self.mesh.n_nodes}, {c}) "
                f"for variables {list(self.variables)}, found shape {z.shape}"
            )
        if z.shape[1:] != (self.mesh.n_nodes, c):
            raise ValueError(
                f"state: expected (batch, {self.mesh.n_nodes}, {c}) for a mesh of "
                f"{self.mesh.n_nodes} nodes and variables {list(self.variables)}, found {z.shape}"
            )
        return z, single

    def step(self, z: np.ndarray, t: float = 0.0) -> np.ndarray:
        """Advance ``z`` ``(batch, N, C)`` (or ``(N, C)``) from ``t`` to ``t + dt``."""
        zb, single = self._batched(z)
        out = self._step(zb, float(t))
        return out[0] if single else out

    __call__ = step

    def _step(self, z: np.ndarray, t: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(
        self,
        z0: np.ndarray,
        n_steps: int,
        *,
        save_every: int = 1,
        t0: float = 0.0,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Roll out ``n_steps`` steps from ``z0`` at time ``t0``.

        Returns:
          ``(trajectory, times)``: ``(batch, n_steps // save_every + 1, N, C)`` float64 (frame 0
          is ``z0``) and the frame times ``(T,)``.
        """
        if save_every < 1 or n_steps < 0 or n_steps % save_every:
            raise ValueError(
                f"run: n_steps ({n_steps}) must be a non-negative multiple of save_every "
                f"({save_every})"
            )
        z, single = self._batched(z0)
        frames, times = [z], [t0]
        t = t0
        for i in tqdm(range(n_steps), desc=self.equation, disable=not progress, leave=False):
            z = self._step(z, t)
            t = t0 + (i + 1) * self.dt
            if not np.all(np.isfinite(z)):
                raise FloatingPointError(
                    f"{self.equation}: the state became NaN/Inf at step {i + 1} (t = {t:g}); "
                    "reduce dt"
                )
            if (i + 1) % save_every == 0:
                frames.append(z)
                times.append(t)
        traj = np.stack(frames, axis=1)
        return (traj[0] if single else traj), np.asarray(times)

    def describe(self) -> dict[str, Any]:
        """JSON-ready parameters (for file attributes)."""
        return {
            "equation": self.equation,
            "dt": self.dt,
            "mass": self.mass_kind,
            "boundary": self.bc.describe(),
            "source": None
            if self.source is None
            else ("function" if callable(self.source) else float(self.source)),
        }


def _mass(mesh: TriMesh, kind: str) -> sp.csr_matrix:
    return mass(mesh, lumped=kind == "lumped")
