"""Reading a user's triangle mesh with meshio (Gmsh ``.msh``, VTK ``.vtk``/``.vtu``, XDMF).

Triangles come from every ``triangle`` cell block. Boundary tags come from Gmsh physical lines
when the file has them (``line`` cells with ``gmsh:physical`` ids, named through the file's
``$PhysicalNames``); every other boundary edge is tagged ``"boundary"``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sciml.solvers.fem.mesh import TriMesh

MESH_FORMATS = {
    ".msh": "gmsh",
    ".vtk": "vtk",
    ".vtu": "vtu",
    ".xdmf": "xdmf",
    ".xmf": "xdmf",
}


def read_mesh(path: str | os.PathLike, *, drop_unreferenced: bool = False) -> TriMesh:
    """Read a 2-D triangle mesh from a file meshio understands (see :data:`MESH_FORMATS`).

    Args:
      path: the mesh file; its extension selects the reader.
      drop_unreferenced: drop nodes no triangle uses (Gmsh files often keep geometry points)
        instead of raising.

    Raises:
      FileNotFoundError: no such file.
      ValueError: unknown extension, no triangles, unreadable file, or an invalid mesh (one line
        naming the file and the problem).
    """
    path = Path(path)
    fmt = MESH_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"mesh file {path}: unknown format {path.suffix or '(no extension)'!r}; expected one of "
            f"{', '.join(sorted(MESH_FORMATS))} (convert other formats with meshio or Gmsh)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {path}: no such file")
    import meshio

    try:
        m = meshio.read(path, file_format=fmt)
    except (Exception, SystemExit) as err:  # meshio raises many types, and sys.exit()s on some
        why = "meshio could not parse it" if isinstance(err, SystemExit) else str(err)
        raise ValueError(f"mesh file {path}: cannot read as {fmt} ({why})") from None
    tris = [c.data for c in m.cells if c.type == "triangle"]
    if not tris:
        kinds = sorted({c.type for c in m.cells})
        raise ValueError(
            f"mesh file {path}: holds no 'triangle' cells (found {kinds}); P1 elements need a "
            "linear triangle mesh (Gmsh: Mesh 2 with ElementOrder 1)"
        )
    tri = np.concatenate(tris).astype(np.int64)
    edges, tags, names = _gmsh_boundary(m)
    return TriMesh.from_arrays(
        m.points,
        tri,
        boundary_edges=edges,
        boundary_tags=tags,
        tag_names=names,
        name=path.stem,
        drop_unreferenced=drop_unreferenced,
    )


def _gmsh_boundary(m) -> tuple[np.ndarray | None, np.ndarray | None, list[str] | None]:
    """Tagged boundary lines of a Gmsh mesh (``line`` cells with physical ids), or Nones."""
    phys = m.cell_data.get("gmsh:physical")
    if phys is None:
        return None, None, None
    id_to_name = {int(v[0]): k for k, v in m.field_data.items() if len(v) > 1 and int(v[1]) == 1}
    edges, ids = [], []
    for block, data in zip(m.cells, phys):
        if block.type == "line":
            edges.append(block.data)
            ids.append(np.asarray(data, np.int64))
    if not edges:
        return None, None, None
    ids = np.concatenate(ids)
    names = [id_to_name.get(int(i), f"physical_{int(i)}") for i in np.unique(ids)]
    lookup = {int(i): k for k, i in enumerate(np.unique(ids))}
    tags = np.array([lookup[int(i)] for i in ids], np.int32)
    return np.concatenate(edges).astype(np.int64), tags, names
