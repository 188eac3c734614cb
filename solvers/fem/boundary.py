"""Boundary conditions of the finite-element solvers, by boundary tag.

``dirichlet={"left": 0.0, "hole": g}`` fixes ``u = g(x, t)`` on the edges with those tags;
``neumann={"top": q}`` prescribes the outward normal derivative ``du/dn = q(x, t)``. Tags named
in neither get the natural condition ``du/dn = 0`` (insulated / free). A node on both a Dirichlet
and a Neumann edge (a corner) is a Dirichlet node. Values are numbers or functions
``f(x, t)`` of points ``x`` ``(..., 2)`` and the time ``t`` returning ``(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sciml.solvers.fem.assembly import boundary_load, evaluate
from sciml.solvers.fem.mesh import TriMesh

TimeFunction = Callable[[np.ndarray, float], np.ndarray] | float


def _at(f: TimeFunction, t: float) -> Any:
    return (lambda x: f(x, t)) if callable(f) else float(f)


class BoundaryConditions:
    """Dirichlet and Neumann data on a mesh's tagged boundary (see the module docstring).

    Attributes:
      dirichlet_nodes: sorted node indices with a prescribed value ``(n_D,)``.
      free_nodes: the other nodes ``(n_F,)`` (the unknowns).
    """

    def __init__(
        self,
        mesh: TriMesh,
        dirichlet: Mapping[str, TimeFunction] | None = None,
        neumann: Mapping[str, TimeFunction] | None = None,
    ):
        self.mesh = mesh
        self.dirichlet = dict(dirichlet or {})
        self.neumann = dict(neumann or {})
        both = sorted(set(self.dirichlet) & set(self.neumann))
        if both:
            raise ValueError(
                f"boundary conditions: tag(s) {both} are both Dirichlet and Neumann; give each tag "
                "one condition"
            )
        for kind, table in (("dirichlet", self.dirichlet), ("neumann", self.neumann)):
            for tag, value in table.items():
                if tag not in mesh.tag_names:
                    raise ValueError(
                        f"{kind}: boundary tag {tag!r} is not on mesh {mesh.name!r} (tags: "
                        f"{list(mesh.tag_names)})"
                    )
                if not callable(value) and not np.isfinite(float(value)):
                    raise ValueError(f"{kind}[{tag!r}]: expected a finite value, found {value!r}")
        self._d_edges = {t: mesh.boundary_tags == mesh.tag_index(t) for t in self.dirichlet}
        self._n_edges = {t: mesh.boundary_tags == mesh.tag_index(t) for t in self.neumann}
        d_nodes = [np.unique(mesh.boundary_edges[m]) for m in self._d_edges.values()]
        self.dirichlet_nodes = (
            np.unique(np.concatenate(d_nodes)) if d_nodes else np.zeros(0, np.int64)
        )
        free = np.ones(mesh.n_nodes, bool)
        free[self.dirichlet_nodes] = False
        self.free_nodes = np.flatnonzero(free)
        # per Dirichlet node, the tag that sets it (the first listed wins at shared corners)
        self._d_owner: list[tuple[str, np.ndarray]] = []
        taken = np.zeros(mesh.n_nodes, bool)
        for tag, mask in self._d_edges.items():
            nodes = np.unique(mesh.boundary_edges[mask])
            nodes = nodes[~taken[nodes]]
            taken[nodes] = True
            self._d_owner.append((tag, nodes))

    @property
    def time_dependent(self) -> bool:
        return any(callable(v) for v in (*self.dirichlet.values(), *self.neumann.values()))

    def dirichlet_values(self, t: float) -> np.ndarray:
        """Prescribed values at :attr:`dirichlet_nodes` at time ``t`` ``(n_D,)``."""
        out = np.zeros(self.mesh.n_nodes)
        for tag, nodes in self._d_owner:
            out[nodes] = evaluate(_at(self.dirichlet[tag], t), self.mesh.nodes[nodes])
        return out[self.dirichlet_nodes]

    def dirichlet_rate(self, t: float, delta: float, order: int = 1) -> np.ndarray:
        """Time derivative (``order`` 1 or 2) of the Dirichlet data at :attr:`dirichlet_nodes`,
        by central differences with step ``delta`` (zeros for time-independent data)."""
        if not any(callable(v) for v in self.dirichlet.values()):
            return np.zeros(self.dirichlet_nodes.size)
        lo, hi = self.dirichlet_values(t - delta), self.dirichlet_values(t + delta)
        if order == 1:
            return (hi - lo) / (2 * delta)
        return (hi - 2 * self.dirichlet_values(t) + lo) / delta**2

    def neumann_load(self, t: float) -> np.ndarray:
        """``int_{Gamma_N} (du/dn) phi_i ds`` at time ``t`` ``(N,)``."""
        out = np.zeros(self.mesh.n_nodes)
        for tag, mask in self._n_edges.items():
            value = self.neumann[tag]
            if callable(value) or float(value) != 0.0:
                out += boundary_load(self.mesh, _at(value, t), mask)
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: tag -> "dirichlet" / "neumann" (constant values are included)."""
        out: dict[str, Any] = {}
        for kind, table in (("dirichlet", self.dirichlet), ("neumann", self.neumann)):
            for tag, v in table.items():
                out[tag] = {"kind": kind, "value": None if callable(v) else float(v)}
        for tag in self.mesh.tag_names:
            out.setdefault(tag, {"kind": "neumann", "value": 0.0})
        return out
