"""Mesh trajectories on disk: one HDF5 file (``docs/mesh_layout.md``) and an XDMF file beside it.

HDF5 layout (format ``sciml-mesh-trajectory``, version 1)::

    /                     attrs: format, format_version, equation, variables (JSON list),
                                 units (JSON), params (JSON), dt, save_every, seed, mesh_name,
                                 sciml_version
    /mesh/nodes           (N, 2) float64   node coordinates x, y
    /mesh/triangles       (M, 3) int64     0-based node indices, counter-clockwise
    /mesh/boundary_edges  (E, 2) int64     domain on the left of a -> b
    /mesh/boundary_tags   (E,)   int32     attr tag_names (JSON list): index -> tag name
    /time                 (T,)   float64   frame times
    /fields/<variable>    (S, T, N)        sample, frame, node (float32 by default, gzip)
    /xdmf/<variable>/s<k>/t<j>  (N,)       HDF5 virtual datasets: views of /fields/<variable>[k, j]

The XDMF file (``same_name.xdmf``) is a temporal collection (one uniform grid per frame, the
topology and geometry included from the ``mesh`` grid) whose node attributes point at the
``/xdmf`` views: ParaView and ``meshio.xdmf.TimeSeriesReader`` open it directly. One sample is
attribute ``u``; several samples are attributes ``u_s0``, ``u_s1``, ... on the same frames.
The views cost no storage; the data live once, in ``/fields``, in the channels-last order the
learning code reads (``read_trajectory`` returns ``(S, T, N, C)``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import h5py
import numpy as np
from sciml.solvers.fem.mesh import TriMesh

from sciml.atomic import atomic_path, write_text

FORMAT = "sciml-mesh-trajectory"
FORMAT_VERSION = 1


@dataclass
class MeshTrajectory:
    """What :func:`read_trajectory` returns.

    Attributes:
      mesh: the mesh.
      times: frame times ``(T,)``.
      fields: ``(S, T, N, C)`` (samples, frames, nodes, variables), the file's dtype.
      variables: channel names ``(C,)``.
      attrs: the root attributes (JSON values decoded).
    """

    mesh: TriMesh
    times: np.ndarray
    fields: np.ndarray
    variables: tuple[str, ...]
    attrs: dict[str, Any]


def _attr_names(variable: str, n_samples: int) -> list[str]:
    return [variable] if n_samples == 1 else [f"{variable}_s{k}" for k in range(n_samples)]


def write_trajectory(
    path: str | os.PathLike,
    mesh: TriMesh,
    times: np.ndarray,
    fields: np.ndarray,
    *,
    variables: Sequence[str],
    attrs: Mapping[str, Any] | None = None,
    dtype: str = "float32",
    overwrite: bool = False,
    compression_level: int = 1,
) -> tuple[Path, Path]:
    """Write ``fields`` ``(S, T, N, C)`` on ``mesh`` to ``path`` (HDF5) and ``path.xdmf``.

    Both files appear atomically (temporary names, then rename). Returns ``(h5_path, xdmf_path)``.
    """
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"--out {path}: mesh trajectories are HDF5; use a .h5 file name")
    xdmf = path.with_suffix(".xdmf")
    for p in (path, xdmf):
        if p.exists() and not overwrite:
            raise FileExistsError(f"{p}: exists; pass overwrite=True (CLI: --overwrite)")
    fields = np.asarray(fields)
    times = np.asarray(times, np.float64)
    variables = list(variables)
    if fields.ndim != 4 or fields.shape[1:] != (times.size, mesh.n_nodes, len(variables)):
        raise ValueError(
            f"fields: expected (samples, {times.size}, {mesh.n_nodes}, {len(variables)}), found "
            f"{fields.shape}"
        )
    n_samples = fields.shape[0]
    root = {"format": FORMAT, "format_version": FORMAT_VERSION, "variables": variables}
    for k, v in dict(attrs or {}).items():
        root.setdefault(k, v)
    gz = {"compression": "gzip", "compression_opts": compression_level, "shuffle": True}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for k, v in root.items():
            f.attrs[k] = v if isinstance(v, str | int | float) else json.dumps(v)
        g = f.create_group("mesh")
        g.create_dataset("nodes", data=mesh.nodes)
        g.create_dataset("triangles", data=mesh.triangles)
        g.create_dataset("boundary_edges", data=mesh.boundary_edges)
        tags = g.create_dataset("boundary_tags", data=mesh.boundary_tags.astype(np.int32))
        tags.attrs["tag_names"] = json.dumps(list(mesh.tag_names))
        f.create_dataset("time", data=times)
        n = mesh.n_nodes
        for c, var in enumerate(variables):
            data = fields[..., c].astype(dtype)
            f.create_dataset(
                f"fields/{var}",
                data=data,
                chunks=(1, 1, n),
                **(gz if compression_level > 0 else {}),
            )
            src = h5py.VirtualSource(".", f"fields/{var}", shape=data.shape, dtype=data.dtype)
            for s in range(n_samples):
                for j in range(times.size):
                    layout = h5py.VirtualLayout(shape=(n,), dtype=data.dtype)
                    layout[:] = src[s, j, :]
                    f.create_virtual_dataset(f"xdmf/{var}/s{s}/t{j}", layout)
    write_text(xdmf, _xdmf_text(path.name, mesh, times, variables, n_samples, dtype))
    return path, xdmf


def _xdmf_text(
    h5name: str,
    mesh: TriMesh,
    times: np.ndarray,
    variables: list[str],
    n_samples: int,
    dtype: str,
) -> str:
    h5 = escape(h5name)
    n, m = mesh.n_nodes, mesh.n_triangles
    prec = np.dtype(dtype).itemsize
    lines = [
        '<?xml version="1.0"?>',
        '<Xdmf Version="3.0" xmlns:xi="http://www.w3.org/2001/XInclude">',
        "  <Domain>",
        '    <Grid Name="mesh" GridType="Uniform">',
        f'      <Topology TopologyType="Triangle" NumberOfElements="{m}">',
        f'        <DataItem DataType="Int" Precision="8" Dimensions="{m} 3" Format="HDF">'
        f"{h5}:/mesh/triangles</DataItem>",
        "      </Topology>",
        '      <Geometry GeometryType="XY">',
        f'        <DataItem DataType="Float" Precision="8" Dimensions="{n} 2" Format="HDF">'
        f"{h5}:/mesh/nodes</DataItem>",
        "      </Geometry>",
        "    </Grid>",
        '    <Grid Name="frames" GridType="Collection" CollectionType="Temporal">',
    ]
    include = 'xpointer(//Grid[@Name="mesh"]/*[self::Topology or self::Geometry])'
    for j, t in enumerate(times):
        lines += [
            f'      <Grid Name="frame_{j}" GridType="Uniform">',
            f"        <xi:include xpointer='{include}'/>",
            f'        <Time Value="{float(t)!r}"/>',
        ]
        for var in variables:
            for s, name in enumerate(_attr_names(var, n_samples)):
                lines += [
                    f'        <Attribute Name="{escape(name)}" AttributeType="Scalar" Center="Node">',
                    f'          <DataItem DataType="Float" Precision="{prec}" Dimensions="{n}" '
                    f'Format="HDF">{h5}:/xdmf/{escape(var)}/s{s}/t{j}</DataItem>',
                    "        </Attribute>",
                ]
        lines.append("      </Grid>")
    lines += ["    </Grid>", "  </Domain>", "</Xdmf>", ""]
    return "\n".join(lines)


def read_trajectory(path: str | os.PathLike) -> MeshTrajectory:
    """Read a file written by :func:`write_trajectory` (or ``sciml simulate fem-*``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such mesh trajectory file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: cannot open as HDF5 ({err})") from None
    with f:
        fmt = f.attrs.get("format")
        if fmt != FORMAT:
            raise ValueError(
                f"{path}: attribute 'format' expected {FORMAT!r}, found {fmt!r}; write mesh "
                "trajectories with `sciml simulate fem-heat ...`"
            )
        attrs = {}
        for k, v in f.attrs.items():
            if isinstance(v, str):
                try:
                    v = json.loads(v) if v[:1] in "[{" else v
                except json.JSONDecodeError:
                    pass
            attrs[k] = v.item() if isinstance(v, np.generic) else v
        variables = tuple(attrs["variables"])
        mesh = TriMesh.from_arrays(
            f["mesh/nodes"][()],
            f["mesh/triangles"][()],
            boundary_edges=f["mesh/boundary_edges"][()],
            boundary_tags=f["mesh/boundary_tags"][()],
            tag_names=json.loads(f["mesh/boundary_tags"].attrs["tag_names"]),
            name=str(attrs.get("mesh_name", path.stem)),
        )
        fields = np.stack([f[f"fields/{v}"][()] for v in variables], axis=-1)
        times = f["time"][()]
    return MeshTrajectory(mesh=mesh, times=times, fields=fields, variables=variables, attrs=attrs)
