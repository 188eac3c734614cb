"""`sciml simulate fem-*`: HDF5 mesh trajectories with an XDMF time series that meshio reads back."""

import h5py
import meshio
import numpy as np
import pytest
from sciml.solvers.fem import FEMHeat
from sciml.solvers.fem.trajectory import read_trajectory

from sciml.cli import main


def test_fem_heat_file_and_xdmf_round_trip(tmp_path):
    out = tmp_path / "heat.h5"
    argv = ["simulate", "fem-heat", "--mesh", "l-shape", "--mesh-size", "0.5", "--out", str(out)]
    argv += ["--steps", "6", "--save-every", "2", "--samples", "2", "--set", "dirichlet=none"]
    assert main(argv) == 0
    tr = read_trajectory(out)
    assert tr.fields.shape == (2, 4, tr.mesh.n_nodes, 1) and tr.variables == ("u",)
    np.testing.assert_allclose(tr.times, [0.0, 0.04, 0.08, 0.12], rtol=1e-12)
    assert tr.attrs["equation"] == "fem-heat" and tr.attrs["params"]["kappa"] == 0.05
    # the file holds the solver's trajectory: re-run from frame 0 in float64
    s = FEMHeat(tr.mesh, 0.02, kappa=0.05)
    ref, _ = s.run(tr.fields[:, 0].astype(np.float64), 6, save_every=2)
    np.testing.assert_allclose(tr.fields, ref, rtol=1e-5, atol=1e-6)
    # insulated: total heat conserved (float32 storage)
    q = s.total_heat(tr.fields[0])
    np.testing.assert_allclose(q, q[0], rtol=1e-5)

    with meshio.xdmf.TimeSeriesReader(out.with_suffix(".xdmf")) as reader:
        points, cells = reader.read_points_cells()
        np.testing.assert_allclose(points, tr.mesh.nodes)
        np.testing.assert_array_equal(cells[0].data, tr.mesh.triangles)
        assert reader.num_steps == 4
        for k in range(4):
            t, point_data, _ = reader.read_data(k)
            assert t == pytest.approx(tr.times[k])
            assert sorted(point_data) == ["u_s0", "u_s1"]
            np.testing.assert_array_equal(point_data["u_s1"], tr.fields[1, k, :, 0])

    # same seed, same data
    out2 = tmp_path / "heat2.h5"
    assert main([*argv[:7], str(out2), *argv[8:]]) == 0
    np.testing.assert_array_equal(read_trajectory(out2).fields, tr.fields)


def test_fem_wave_single_sample_names_fields(tmp_path):
    out = tmp_path / "wave.h5"
    argv = ["simulate", "fem-wave", "--mesh", "rectangle-hole", "--mesh-size", "0.5"]
    argv += ["--out", str(out), "--steps", "3", "--set", "dirichlet=hole"]
    assert main(argv) == 0
    with h5py.File(out) as f:
        assert f.attrs["format"] == "sciml-mesh-trajectory"
        assert f["fields/u"].shape == f["fields/v"].shape == (1, 4, f["mesh/nodes"].shape[0])
    with meshio.xdmf.TimeSeriesReader(out.with_suffix(".xdmf")) as reader:
        reader.read_points_cells()
        _, point_data, _ = reader.read_data(3)
        assert sorted(point_data) == ["u", "v"]
    tr = read_trajectory(out)
    hole = tr.mesh.boundary_nodes(["hole"])
    np.testing.assert_array_equal(tr.fields[0, :, hole, 0], 0.0)  # Dirichlet held


def test_fem_simulate_bad_input(tmp_path, capsys):
    base = ["simulate", "fem-heat", "--mesh-size", "0.5"]
    assert main([*base, "--out", str(tmp_path / "x.nc")]) == 2
    assert "use a .h5 file name" in capsys.readouterr().err
    assert main([*base, "--mesh", "mesh.obj", "--out", str(tmp_path / "x.h5")]) == 2
    assert "unknown format '.obj'" in capsys.readouterr().err
    assert main([*base, "--set", "nu=1", "--out", str(tmp_path / "x.h5")]) == 2
    assert "unknown parameter(s) ['nu'] for fem-heat" in capsys.readouterr().err
    assert main([*base, "--set", "dirichlet=wing", "--out", str(tmp_path / "x.h5")]) == 2
    assert "boundary tag 'wing' is not on mesh 'rectangle-hole'" in capsys.readouterr().err
