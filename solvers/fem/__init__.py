"""Finite elements on triangle meshes (installed as ``sciml.solvers.fem``; NumPy and SciPy only).

P1 (piecewise-linear) elements on triangulated 2-D domains for the heat and wave equations, with
Dirichlet and Neumann boundaries by boundary tag, consistent or lumped mass, and implicit time
stepping with one sparse LU factorisation per run (explicit leapfrog for the wave).

- :class:`TriMesh` (``mesh``): validated nodes/triangles/tagged boundary edges; :func:`refine`.
- ``meshgen``: :func:`rectangle`, :func:`rectangle_with_hole`, :func:`l_shape`, :func:`airfoil`
  (NACA 4-digit), by Delaunay triangulation of boundary-conforming points.
- :func:`read_mesh`: a user's mesh through meshio (Gmsh ``.msh``, VTK ``.vtk``/``.vtu``, XDMF).
- ``assembly``: stiffness, mass, load vectors, L2 errors.
- :class:`FEMHeat` (Crank-Nicolson / implicit Euler), :class:`FEMWave` (Newmark / leapfrog).
- :func:`write_trajectory` / :func:`read_trajectory`: HDF5 mesh trajectories with an XDMF file
  beside them (``docs/mesh_layout.md``).

States are channels-last NumPy arrays ``(batch, n_nodes, channels)``.
"""

from sciml.solvers.fem.assembly import l2_norm as l2_norm
from sciml.solvers.fem.assembly import load_vector as load_vector
from sciml.solvers.fem.assembly import mass as mass
from sciml.solvers.fem.assembly import stiffness as stiffness
from sciml.solvers.fem.boundary import BoundaryConditions as BoundaryConditions
from sciml.solvers.fem.heat import FEMHeat as FEMHeat
from sciml.solvers.fem.mesh import TriMesh as TriMesh
from sciml.solvers.fem.mesh import refine as refine
from sciml.solvers.fem.meshgen import MESHES as MESHES
from sciml.solvers.fem.meshgen import airfoil as airfoil
from sciml.solvers.fem.meshgen import l_shape as l_shape
from sciml.solvers.fem.meshgen import naca4 as naca4
from sciml.solvers.fem.meshgen import rectangle as rectangle
from sciml.solvers.fem.meshgen import rectangle_with_hole as rectangle_with_hole
from sciml.solvers.fem.wave import FEMWave as FEMWave

__all__ = [
    "MESHES",
    "BoundaryConditions",
    "FEMHeat",
    "FEMWave",
    "TriMesh",
    "airfoil",
    "l2_norm",
    "l_shape",
    "load_vector",
    "mass",
    "naca4",
    "rectangle",
    "rectangle_with_hole",
    "refine",
    "stiffness",
]
