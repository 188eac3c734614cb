"""``sciml simulate fem-heat|fem-wave``: run a finite-element solver and write a mesh trajectory.

Equations (parameters with ``--set NAME=VALUE``):

- ``fem-heat``: ``du/dt = kappa laplace(u)``; ``kappa`` (0.05), ``scheme`` (crank-nicolson |
  implicit-euler), ``mass`` (consistent | lumped), ``dirichlet`` (comma-separated boundary tags
  held at ``dirichlet_value``; ``all`` or ``none``; other tags are insulated, du/dn = 0),
  ``dirichlet_value`` (0), ``ic_bumps`` (4), ``ic_width`` (0.15, in units of the domain size).
- ``fem-wave``: ``d2u/dt2 = c^2 laplace(u)``; ``c`` (1.0), ``scheme`` (newmark | leapfrog),
  ``mass``, ``dirichlet``, ``dirichlet_value``, ``ic_bumps``, ``ic_width``; fields ``u``, ``v``.

Initial condition of sample ``i``: ``ic_bumps`` Gaussian bumps with centres drawn uniformly in
the domain's bounding box and amplitudes uniform in [-1, 1], from
``jax.random.fold_in(jax.random.key(seed), i)`` (the file depends on the seed only); the wave
starts at rest. Meshes: ``rectangle-hole``, ``l-shape``, ``airfoil`` (generated at ``mesh_size``)
or a mesh file meshio reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sciml.solvers.fem.heat import FEMHeat
from sciml.solvers.fem.mesh import TriMesh
from sciml.solvers.fem.mesh_io import read_mesh
from sciml.solvers.fem.meshgen import MESHES
from sciml.solvers.fem.trajectory import write_trajectory
from sciml.solvers.fem.wave import FEMWave

_COMMON = {
    "mass": "consistent",
    "dirichlet": "all",
    "dirichlet_value": 0.0,
    "ic_bumps": 4,
    "ic_width": 0.15,
}
FEM_EQUATIONS: dict[str, dict[str, Any]] = {
    "fem-heat": {
        "description": "heat equation du/dt = kappa laplace(u), P1 finite elements on a mesh",
        "dt": 0.02,
        "params": {"kappa": 0.05, "scheme": "crank-nicolson", **_COMMON},
    },
    "fem-wave": {
        "description": "wave equation d2u/dt2 = c^2 laplace(u), P1 finite elements on a mesh",
        "dt": 0.01,
        "params": {"c": 1.0, "scheme": "newmark", **_COMMON},
    },
}


def load_mesh(spec: str | os.PathLike | TriMesh, mesh_size: float | None = None) -> TriMesh:
    """A generated domain by name (:data:`sciml.solvers.fem.meshgen.MESHES`) or a mesh file."""
    if isinstance(spec, TriMesh):
        return spec
    if str(spec) in MESHES:
        return MESHES[str(spec)]() if mesh_size is None else MESHES[str(spec)](mesh_size)
    path = Path(spec)
    if not path.suffix:
        raise ValueError(
            f"--mesh: {str(spec)!r} is neither a generated domain ({', '.join(MESHES)}) nor a "
            "mesh file name (.msh, .vtu, .vtk, .xdmf)"
        )
    return read_mesh(path, drop_unreferenced=True)


def gaussian_bumps(
    mesh: TriMesh, n_samples: int, *, key: Any, n_bumps: int = 4, width: float = 0.15
) -> np.ndarray:
    """Sums of Gaussian bumps at the nodes ``(n_samples, N)`` (see the module docstring).

    ``key`` is a JAX PRNG key; sample ``i`` uses ``fold_in(key, i)``. ``width`` is the bump
    standard deviation in units of the larger side of the mesh's bounding box.
    """
    import jax

    lo, hi = mesh.nodes.min(0), mesh.nodes.max(0)
    sigma = width * float(np.max(hi - lo))
    out = np.zeros((n_samples, mesh.n_nodes))
    for i in range(n_samples):
        kc, ka = jax.random.split(jax.random.fold_in(key, i))
        centres = lo + (hi - lo) * np.asarray(jax.random.uniform(kc, (n_bumps, 2)), np.float64)
        amps = np.asarray(jax.random.uniform(ka, (n_bumps,), minval=-1.0, maxval=1.0), np.float64)
        d2 = np.sum((mesh.nodes[:, None, :] - centres[None]) ** 2, axis=-1)
        out[i] = np.exp(-0.5 * d2 / sigma**2) @ amps
    return out


def _resolve(equation: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    if equation not in FEM_EQUATIONS:
        raise ValueError(
            f"equation: unknown FEM equation {equation!r}; expected one of {list(FEM_EQUATIONS)}"
        )
    defaults = FEM_EQUATIONS[equation]["params"]
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(
            f"--set: unknown parameter(s) {unknown} for {equation}; valid: {', '.join(defaults)}"
        )
    return {**defaults, **params}


def make_solver(equation: str, mesh: TriMesh, dt: float, params: Mapping[str, Any]):
    """The stepper of ``equation`` with resolved ``params`` (see :data:`FEM_EQUATIONS`)."""
    tags = str(params["dirichlet"]).strip()
    if tags == "all":
        names = list(mesh.tag_names)
    elif tags in ("none", ""):
        names = []
    else:
        names = [t.strip() for t in tags.split(",") if t.strip()]
    dirichlet = {t: float(params["dirichlet_value"]) for t in names}
    common = {"mass": params["mass"], "dirichlet": dirichlet, "scheme": params["scheme"]}
    if equation == "fem-heat":
        return FEMHeat(mesh, dt, kappa=params["kappa"], **common)
    return FEMWave(mesh, dt, c=params["c"], **common)


def simulate_fem(
    equation: str,
    out: str | os.PathLike,
    *,
    mesh: str | os.PathLike | TriMesh = "rectangle-hole",
    mesh_size: float | None = None,
    n_samples: int = 1,
    n_steps: int = 100,
    save_every: int = 1,
    dt: float | None = None,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    dtype: str = "float32",
    compression_level: int = 1,
) -> tuple[Path, Path]:
    """Simulate ``n_samples`` trajectories and write ``out`` (HDF5) and ``out.xdmf``.

    Returns the two paths. Bad input raises a one-line ``ValueError``/``FileNotFoundError``.
    """
    import jax

    from sciml._version import __version__

    out = Path(out)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"--out {out}: FEM trajectories are HDF5 + XDMF; use a .h5 file name")
    if out.exists() and not overwrite:
        raise FileExistsError(f"--out {out}: exists; pass --overwrite or choose another --out")
    if n_samples < 1 or n_steps < 1:
        raise ValueError(f"--samples/--steps: expected >= 1, found {n_samples}, {n_steps}")
    params = _resolve(equation, params)
    m = load_mesh(mesh, mesh_size)
    dt = float(FEM_EQUATIONS[equation]["dt"] if dt is None else dt)
    solver = make_solver(equation, m, dt, params)
    u0 = gaussian_bumps(
        m,
        n_samples,
        key=jax.random.key(seed),
        n_bumps=int(params["ic_bumps"]),
        width=float(params["ic_width"]),
    )
    if solver.bc.dirichlet_nodes.size:
        u0[:, solver.bc.dirichlet_nodes] = solver.bc.dirichlet_values(0.0)
    z0 = u0[..., None] if equation == "fem-heat" else np.stack([u0, np.zeros_like(u0)], -1)
    traj, times = solver.run(z0, n_steps, save_every=save_every, progress=True)
    attrs = {
        "equation": equation,
        "params": params,
        "solver": solver.describe(),
        "dt": dt,
        "save_every": save_every,
        "seed": seed,
        "mesh_name": m.name,
        "units": {v: "1" for v in solver.variables} | {"x": "1", "t": "1"},
        "sciml_version": __version__,
    }
    return write_trajectory(
        out,
        m,
        times,
        traj,
        variables=solver.variables,
        attrs=attrs,
        dtype=dtype,
        overwrite=overwrite,
        compression_level=compression_level,
    )
