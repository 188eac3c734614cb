"""Rules of docs/stepper_artifact.md that the loader and the exporter enforce (format version 2)."""

import json

import h5py
import numpy as np
import pytest
from flax import nnx

from sciml.nn import Tendency
from sciml.stepper.artifact import ArtifactError, export_stepper, load_stepper
from sciml.stepper.model import LearnedStepper


def _stepper(grid=(10,), boundary="ghost", depth=3, phys="dirichlet"):
    g = Tendency(
        1, width=3, kernel_size=3, depth=depth, ndim=1, boundary=boundary, rngs=nnx.Rngs(0)
    )
    return LearnedStepper(g, dt=0.1, dx=[0.5], boundary=phys, grid_shape=grid)


def test_plain_attributes_equal_the_json(tmp_path):
    path = export_stepper(_stepper(), tmp_path / "s.h5")
    with h5py.File(path) as f:
        meta = json.loads(f.attrs["metadata"])
        assert f.attrs["format_version"] == 2 and f.attrs["format_version"].dtype == np.int64
        assert f.attrs["dt"] == meta["dt"] and list(f.attrs["dx"]) == meta["dx"]
        assert f.attrs["integrator"] == meta["integrator"] == "euler"
        assert list(f.attrs["grid_shape"]) == [10] and f.attrs["boundary"] == "dirichlet"
        assert [v for v in f.attrs["variables"]] == meta["variables"]
        t = f["tendency"].attrs
        assert (t["kernel_size"], t["depth"], t["ndim"], t["use_bias"]) == (3, 3, 1, 1)
        assert t["activation"] == meta["architecture"]["activation"] and t["boundary"] == "ghost"


def test_disagreeing_attribute_is_refused(tmp_path):
    path = export_stepper(_stepper(), tmp_path / "s.h5")
    with h5py.File(path, "a") as f:
        f.attrs["dt"] = 0.2
    with pytest.raises(ArtifactError, match=r"attribute /dt = 0.2 disagrees with metadata 0.1"):
        load_stepper(path)
    with h5py.File(path, "a") as f:
        del f.attrs["dt"]
    with pytest.raises(ArtifactError, match="format_version 2 needs attribute 'dt' on /"):
        load_stepper(path)


def test_version_1_files_still_load(tmp_path):
    path = export_stepper(_stepper(), tmp_path / "s.h5")
    want = load_stepper(path).step(np.linspace(-1, 1, 10)[:, None])
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = np.int64(1)
        for key in ("dt", "dx", "grid_shape", "integrator", "boundary", "variables"):
            del f.attrs[key]
    np.testing.assert_array_equal(load_stepper(path).step(np.linspace(-1, 1, 10)[:, None]), want)


def test_minimum_grid_is_checked_at_export_load_and_step(tmp_path):
    with pytest.raises(
        ValueError, match=r"export: grid \(2,\) .* needs at least 3 points per axis"
    ):
        export_stepper(_stepper(grid=(2,)), tmp_path / "small.h5")
    path = export_stepper(_stepper(grid=(10,)), tmp_path / "s.h5")
    with h5py.File(path, "a") as f:  # forge a too-small training grid
        meta = json.loads(f.attrs["metadata"])
        f.attrs["metadata"] = json.dumps(meta | {"grid_shape": [2]})
        f.attrs["grid_shape"] = np.array([2], np.int64)
    with pytest.raises(ArtifactError, match="needs at least 3 points per axis"):
        load_stepper(path)
    free = load_stepper(export_stepper(_stepper(grid=None, boundary="reflect"), tmp_path / "f.h5"))
    assert free.step(np.zeros((2, 1))).shape == (2, 1)  # k // 2 + 1 = 2 points suffice
    with pytest.raises(ValueError, match=r"state: grid \(1,\) .* needs at least 2 points"):
        free.step(np.zeros((1, 1)))


def test_complex_state_and_even_kernel_are_refused(tmp_path):
    path = export_stepper(_stepper(), tmp_path / "s.h5")
    with pytest.raises(TypeError, match="expected real values, found dtype complex128"):
        load_stepper(path).step(np.zeros((10, 1), np.complex128))
    with h5py.File(path, "a") as f:
        meta = json.loads(f.attrs["metadata"])
        meta["architecture"]["kernel_size"] = 4
        f.attrs["metadata"] = json.dumps(meta)
    with pytest.raises(ArtifactError, match="kernel_size expected an odd integer >= 1, found 4"):
        load_stepper(path)
