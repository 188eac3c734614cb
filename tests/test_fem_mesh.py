"""Triangle meshes: generated domains cover their polygon exactly, refinement, meshio round trips, bad input."""

import meshio
import numpy as np
import pytest
from sciml.solvers.fem import (
    TriMesh,
    airfoil,
    l_shape,
    naca4,
    rectangle,
    rectangle_with_hole,
    refine,
)
from sciml.solvers.fem.mesh_io import read_mesh
from sciml.solvers.fem.meshgen import polygon_area


def _check_boundary_on(mesh, on_boundary):
    pts = mesh.nodes[mesh.boundary_edges].reshape(-1, 2)
    assert np.all(on_boundary(pts)), "a boundary-edge node lies off the domain boundary"


def test_l_shape_covers_the_polygon():
    m = l_shape(0.25)
    np.testing.assert_allclose(m.areas.sum(), 3.0, rtol=1e-13)
    assert np.all(m.areas > 0) and m.min_angle() > 20
    x, y = m.nodes[:, 0], m.nodes[:, 1]
    assert not np.any((x > 1e-12) & (y > 1e-12)), "a node inside the notch"
    # boundary length: 8 (perimeter of the L)
    e = m.nodes[m.boundary_edges]
    np.testing.assert_allclose(np.linalg.norm(e[:, 1] - e[:, 0], axis=1).sum(), 8.0, rtol=1e-13)


def test_rectangle_with_hole_covers_rectangle_minus_polygon():
    m = rectangle_with_hole(0.25, length=(2.0, 1.0), center=(0.6, 0.5), radius=0.2)
    hole = m.nodes[m.boundary_nodes(["hole"])]
    np.testing.assert_allclose(np.linalg.norm(hole - [0.6, 0.5], axis=1), 0.2, rtol=1e-12)
    ang = np.arctan2(hole[:, 1] - 0.5, hole[:, 0] - 0.6)
    poly = hole[np.argsort(ang)]
    np.testing.assert_allclose(m.areas.sum(), 2.0 - abs(polygon_area(poly)), rtol=1e-12)
    assert set(m.tag_names) == {"left", "right", "bottom", "top", "hole"}
    # outward normals of the hole point towards its centre
    n = m.boundary_normals()[m.boundary_tags == m.tag_index("hole")]
    mid = m.nodes[m.boundary_edges[m.boundary_tags == m.tag_index("hole")]].mean(1)
    assert np.all(np.sum(n * (mid - [0.6, 0.5]), axis=1) < 0)


def test_airfoil_profile_and_domain():
    prof = naca4("0012", 0.01)
    # thickness 12 % of the chord, at about 30 % of the chord
    xs = np.linspace(0.05, 0.95, 200)
    upper = prof[prof[:, 1] > 0]
    top = np.interp(xs, np.sort(upper[:, 0]), upper[np.argsort(upper[:, 0]), 1])
    np.testing.assert_allclose(2 * top.max(), 0.12, rtol=2e-3)
    assert 0.25 < xs[np.argmax(top)] < 0.35
    assert polygon_area(prof) > 0  # counter-clockwise
    m = airfoil(0.3, angle_of_attack=5.0)
    body = m.nodes[m.boundary_nodes(["airfoil"])]
    ang = np.arctan2(body[:, 1] - body[:, 1].mean(), body[:, 0] - body[:, 0].mean())
    np.testing.assert_allclose(
        m.areas.sum(), 3.0 * 2.0 - abs(polygon_area(body[np.argsort(ang)])), rtol=1e-3
    )
    # every boundary node is on the box or on the profile polygon
    box = (
        np.isclose(m.nodes[:, 0], -1)
        | np.isclose(m.nodes[:, 0], 2)
        | np.isclose(m.nodes[:, 1], -1)
        | np.isclose(m.nodes[:, 1], 1)
    )
    assert np.all(box[m.boundary_nodes(["inlet", "outlet", "walls"])])


def test_refine_halves_h_and_keeps_the_domain():
    m = rectangle_with_hole(0.4)
    r = refine(m)
    assert r.n_triangles == 4 * m.n_triangles
    np.testing.assert_allclose(r.areas.sum(), m.areas.sum(), rtol=1e-13)
    np.testing.assert_allclose(r.h, m.h / 2, rtol=1e-12)
    assert r.boundary_edges.shape[0] == 2 * m.boundary_edges.shape[0]
    for tag in m.tag_names:
        assert np.sum(r.boundary_tags == r.tag_index(tag)) == 2 * np.sum(
            m.boundary_tags == m.tag_index(tag)
        )


def test_orientation_is_fixed():
    m = rectangle(2, 2)
    flipped = m.triangles[:, [0, 2, 1]]
    m2 = TriMesh.from_arrays(m.nodes, flipped)
    assert np.all(m2.areas > 0)
    assert m2.boundary_edges.shape[0] == 8 and m2.tag_names == ("boundary",)


@pytest.mark.parametrize("suffix", [".msh", ".vtu", ".vtk", ".xdmf"])
def test_meshio_round_trip(tmp_path, suffix):
    m = l_shape(0.5)
    path = tmp_path / f"user{suffix}"
    cells = [("triangle", m.triangles)]
    kwargs = {}
    if suffix == ".msh":
        lines = m.boundary_edges
        cells = [("line", lines), ("triangle", m.triangles)]
        phys = [np.full(len(lines), 7), np.full(len(m.triangles), 1)]
        mm = meshio.Mesh(
            np.c_[m.nodes, np.zeros(m.n_nodes)],
            cells,
            cell_data={"gmsh:physical": phys, "gmsh:geometrical": phys},
            field_data={"wall": np.array([7, 1]), "domain": np.array([1, 2])},
        )
        kwargs = {"file_format": "gmsh22", "binary": False}
    else:
        mm = meshio.Mesh(np.c_[m.nodes, np.zeros(m.n_nodes)], cells)
    mm.write(path, **kwargs)
    r = read_mesh(path)
    np.testing.assert_allclose(r.nodes, m.nodes)
    np.testing.assert_array_equal(r.triangles, m.triangles)
    assert r.tag_names == (("wall",) if suffix == ".msh" else ("boundary",))


# --- bad input: one line, naming the problem and the fix ------------------------------------


def test_degenerate_triangle_is_refused():
    nodes = np.array([[0, 0], [1, 0], [0, 1], [2, 0]], float)
    with pytest.raises(ValueError, match=r"triangle 1 \(nodes \[0, 1, 3\]\) has zero area"):
        TriMesh.from_arrays(nodes, np.array([[0, 1, 2], [0, 1, 3]]))


def test_unreferenced_nodes_are_refused_or_dropped():
    nodes = np.array([[0, 0], [1, 0], [0, 1], [5, 5]], float)
    with pytest.raises(
        ValueError, match=r"1 node\(s\) are referenced by no triangle \(first: \[3\]\)"
    ):
        TriMesh.from_arrays(nodes, np.array([[0, 1, 2]]))
    m = TriMesh.from_arrays(nodes, np.array([[0, 1, 2]]), drop_unreferenced=True)
    assert m.n_nodes == 3


def test_index_out_of_range_and_overlap():
    nodes = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
    with pytest.raises(ValueError, match=r"references node 4 outside 0\.\.3"):
        TriMesh.from_arrays(nodes, np.array([[0, 1, 4]]))
    with pytest.raises(ValueError, match="shared by more than two triangles"):
        TriMesh.from_arrays(nodes, np.array([[0, 1, 2], [0, 1, 2], [0, 1, 3]]))


def test_unknown_mesh_format_and_missing_file(tmp_path):
    bad = tmp_path / "mesh.obj"
    bad.write_text("v 0 0 0\n")
    with pytest.raises(
        ValueError, match=r"mesh\.obj: unknown format '\.obj'; expected one of \.msh"
    ):
        read_mesh(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_mesh(tmp_path / "absent.msh")
    garbage = tmp_path / "g.vtu"
    garbage.write_text("not xml")
    with pytest.raises(ValueError, match=r"g\.vtu: cannot read as vtu"):
        read_mesh(garbage)
