"""`sciml simulate nbody` files, the open_nbody reader and the Gadget HDF5 snapshot reader."""

from __future__ import annotations

import re
import shutil
from collections import namedtuple

import h5py
import numpy as np
import pytest
from sciml.datasets import gadget_displacements, nbody_file, open_nbody, read_gadget
from sciml.solvers import pm

from sciml.cli import main

ARGS = ["--particles", "8", "--box", "32", "--steps", "2", "--samples", "2", "--seed", "3"]
GRID = "Omega_m=0.25,0.35"


def _one_line_error(capsys, pattern: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert re.search(pattern, err), err


@pytest.fixture(scope="module")
def nbody_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("nbody") / "a.h5"
    assert main(["simulate", "nbody", *ARGS, "--cosmology-grid", GRID, "--out", str(path)]) == 0
    return path


def test_nbody_file_layout_and_physics(nbody_path):
    with h5py.File(nbody_path, "r") as f:
        assert f.attrs["layout"] == "sciml-nbody/1"
        assert (f.attrs["box"], f.attrs["n_particles"], f.attrs["steps"]) == (32.0, 8, 2)
        assert (f.attrs["a"], f.attrs["mesh_factor"], f.attrs["seed"]) == (1.0, 2, 3)
        for name in ("za", "lpt2", "pm"):
            assert f[name].shape == (4, 8, 8, 8, 3) and f[name].dtype == np.float32
        assert f["delta_lin"].shape == (4, 8, 8, 8)
        np.testing.assert_array_equal(f["cosmology/Omega_m"][:], [0.25, 0.25, 0.35, 0.35])
        np.testing.assert_allclose(f["cosmology/A_s"][:], 2.142e-9)
        s8 = f["cosmology/sigma8"][:]
        za, delta = f["za"][:].astype(np.float64), f["delta_lin"][:].astype(np.float64)
    np.testing.assert_allclose(s8[0], pm.sigma8(pm.Cosmology(Omega_m=0.25)), rtol=1e-12)
    # div ZA = -delta_lin, compared in Fourier space away from the Nyquist planes
    k = 2 * np.pi * np.fft.fftfreq(8, 32.0 / 8)
    kvec = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1)
    div_k = np.sum(1j * kvec * np.fft.fftn(za, axes=(1, 2, 3)), axis=-1)
    inside = (np.abs(kvec) < np.abs(k[4]) - 1e-9).all(axis=-1)
    dk = np.fft.fftn(delta, axes=(1, 2, 3))
    scale = np.abs(dk[:, inside]).max()
    np.testing.assert_allclose(div_k[:, inside], -dk[:, inside], atol=1e-5 * scale)
    # the same phases for both cosmologies, different amplitudes
    assert np.corrcoef(delta[0].ravel(), delta[2].ravel())[0, 1] > 0.95
    assert not np.allclose(delta[0], delta[2])


def test_same_seed_same_bytes_and_refusals(nbody_path, tmp_path, capsys, monkeypatch):
    again = tmp_path / "b.h5"
    assert main(["simulate", "nbody", *ARGS, "--cosmology-grid", GRID, "--out", str(again)]) == 0
    assert nbody_path.read_bytes() == again.read_bytes()
    capsys.readouterr()
    assert main(["simulate", "nbody", *ARGS, "--out", str(again)]) == 2
    _one_line_error(capsys, r"exists; pass --overwrite")
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(nbody_file.shutil, "disk_usage", lambda p: Usage(10**9, 10**9, 1000))
    target = tmp_path / "c.h5"
    assert main(["simulate", "nbody", *ARGS, "--out", str(target)]) == 2
    _one_line_error(capsys, r"--out .*c\.h5: expected room for ~.* MiB, found 0\.0 MiB free")
    assert not target.exists()


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--cosmology-grid", "Omega_x=0.3"], r"--cosmology-grid: expected NAME=V1,V2"),
        (
            ["--cosmology-grid", "Omega_m=-0.3"],
            r"Omega_m expected a number in \[0.0, 1.0\], found -0.3",
        ),
        (["--cosmology-grid", "A_s=1e-9;sigma8=0.8"], r"expected sigma8 or A_s, found both"),
        (["--a-start", "0"], r"a_start: expected scale factors .* found 0"),
        (["--mesh-factor", "0"], r"mesh_factor: expected an integer >= 1"),
        (["--box", "-5"], r"box: expected the side of the periodic cube in Mpc/h > 0, found -5"),
        (["--grid", "8"], r"--grid: not used by `sciml simulate nbody`"),
    ],
)
def test_nbody_cli_bad_input(tmp_path, capsys, extra, pattern):
    args = [*ARGS, "--out", str(tmp_path / "x.h5")]
    args[1] = "8"
    assert main(["simulate", "nbody", *args, *extra]) == 2
    _one_line_error(capsys, pattern)
    assert not (tmp_path / "x.h5").exists()


def test_open_nbody(nbody_path, tmp_path):
    src = open_nbody(nbody_path)
    assert len(src) == 4 and (src.box, src.n, src.a) == (32.0, 8, 1.0)
    pair = src[3]
    with h5py.File(nbody_path, "r") as f:
        np.testing.assert_array_equal(pair["input"], f["za"][3])
        np.testing.assert_array_equal(pair["target"], f["pm"][3])
    assert src.element_spec["input"] == ((8, 8, 8, 3), np.float32)
    np.testing.assert_array_equal(src.cosmology["Omega_m"], [0.25, 0.25, 0.35, 0.35])
    dens = open_nbody(nbody_path, input="lpt2", target="delta_lin", extra=("za",))[0]
    assert dens["target"].shape == (8, 8, 8)
    np.testing.assert_array_equal(dens["za"], src[0]["input"])
    with pytest.raises(ValueError, match=r"open_nbody: input expected one of .* found 'zz'"):
        open_nbody(nbody_path, input="zz")
    bad = tmp_path / "nan.h5"
    shutil.copy(nbody_path, bad)
    with h5py.File(bad, "r+") as f:
        f["pm"][1, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"nan\.h5 variable 'pm', sample 1: expected finite"):
        open_nbody(bad)[1]


# ---------------------------------------------------------------- Gadget snapshots

KPC = 3.085678e21


def _write_snapshot(stem, pos, ids, *, box, z, pieces=1, unit=KPC, drop=None):
    """Write a Gadget-4-like snapshot (positions in the file's length unit)."""
    chunks = np.array_split(np.arange(len(ids)), pieces)
    for k, sel in enumerate(chunks):
        name = f"{stem}.hdf5" if pieces == 1 else f"{stem}.{k}.hdf5"
        with h5py.File(name, "w") as f:
            h = f.create_group("Header")
            h.attrs["BoxSize"] = box
            h.attrs["NumPart_ThisFile"] = np.array([0, len(sel), 0, 0, 0, 0], np.int32)
            h.attrs["NumPart_Total"] = np.array([0, len(ids), 0, 0, 0, 0], np.uint32)
            h.attrs["NumFilesPerSnapshot"] = pieces
            h.attrs["Redshift"], h.attrs["Time"] = z, 1 / (1 + z)
            h.attrs["Omega0"], h.attrs["HubbleParam"] = 0.3175, 0.6711
            if unit is not None:
                f.create_group("Parameters").attrs["UnitLength_in_cm"] = unit
            g = f.create_group("PartType1")
            if drop != "Coordinates":
                g["Coordinates"] = pos[sel].astype(np.float32)
            if drop != "ParticleIDs":
                g["ParticleIDs"] = ids[sel].astype(np.uint64)


@pytest.fixture
def gadget_pair(tmp_path):
    """A 4^3 lattice with a half-cell offset, IDs 1..64 in shuffled order, kpc/h, split in 3."""
    rng = np.random.default_rng(0)
    n, box = 4, 20.0  # Mpc/h
    dx = box / n
    idx = np.indices((n, n, n)).reshape(3, -1).T * dx + dx / 2
    d0 = rng.normal(0, 0.1, idx.shape)
    d0 -= d0.mean(axis=0)
    d1 = rng.normal(0, 3.0, idx.shape)  # large final displacements, wrapping the box
    ids = np.arange(1, n**3 + 1)
    order = rng.permutation(n**3)
    x0 = np.mod(idx + d0, box)[order] * 1e3
    x1 = np.mod(idx + d1, box)[order] * 1e3
    _write_snapshot(tmp_path / "snap_000", x0, ids[order], box=box * 1e3, z=49.0, pieces=3)
    _write_snapshot(tmp_path / "snap_005", x1, ids[order], box=box * 1e3, z=0.0, pieces=3)
    return tmp_path, d0.reshape(n, n, n, 3), d1.reshape(n, n, n, 3)


def test_gadget_pair_to_displacements(gadget_pair):
    root, d0, d1 = gadget_pair
    snap = read_gadget(root / "snap_005.1.hdf5")  # any piece finds the others
    assert len(snap.files) == 3 and snap.box == pytest.approx(20.0) and snap.a == 1.0
    np.testing.assert_array_equal(snap.ids, np.arange(1, 65))
    out = gadget_displacements(root / "snap_000", root / "snap_005")
    assert out["n"] == 4 and out["a_initial"] == pytest.approx(0.02)
    np.testing.assert_allclose(out["q_offset"], 2.5, atol=1e-5)
    np.testing.assert_allclose(out["initial"], d0, atol=2e-5)
    expect = d1 - 20.0 * np.round(d1 / 20.0)  # minimum image
    np.testing.assert_allclose(out["final"], expect, atol=2e-5)


def test_gadget_units_from_header_or_argument(tmp_path):
    pos = np.indices((2, 2, 2)).reshape(3, -1).T * 5.0
    ids = np.arange(8)
    _write_snapshot(tmp_path / "mpc", pos, ids, box=10.0, z=1.0, unit=3.085678e24)
    assert read_gadget(tmp_path / "mpc.hdf5").box == pytest.approx(10.0)
    _write_snapshot(tmp_path / "none", pos * 1e3, ids, box=1e4, z=1.0, unit=None)
    with pytest.raises(ValueError, match=r"none\.hdf5: no UnitLength_in_cm .* length_unit='kpc/h'"):
        read_gadget(tmp_path / "none.hdf5")
    snap = read_gadget(tmp_path / "none.hdf5", length_unit="kpc/h")
    np.testing.assert_allclose(snap.positions, pos, atol=1e-9)


def test_gadget_bad_files(tmp_path):
    pos = np.indices((2, 2, 2)).reshape(3, -1).T * 5.0
    ids = np.arange(8)
    _write_snapshot(
        tmp_path / "nocoord", pos, ids, box=10.0, z=0.0, unit=3.085678e24, drop="Coordinates"
    )
    with pytest.raises(ValueError, match=r"nocoord\.hdf5: expected dataset PartType1/Coordinates"):
        read_gadget(tmp_path / "nocoord.hdf5")
    dup = ids.copy()
    dup[3] = 5
    _write_snapshot(tmp_path / "dup", pos, dup, box=10.0, z=0.0, unit=3.085678e24)
    with pytest.raises(
        ValueError, match=r"expected unique ParticleIDs, found 1 duplicates \(e.g. ID 5\)"
    ):
        read_gadget(tmp_path / "dup.hdf5")
    _write_snapshot(tmp_path / "gap", pos, ids * 2, box=10.0, z=0.0, unit=3.085678e24)
    with pytest.raises(
        ValueError, match=r"expected consecutive ParticleIDs .* gap after ID 0 \(next 2\)"
    ):
        gadget_displacements(tmp_path / "gap.hdf5", tmp_path / "gap.hdf5")
    _write_snapshot(tmp_path / "seven", pos[:7], ids[:7], box=10.0, z=0.0, unit=3.085678e24)
    with pytest.raises(ValueError, match=r"expected n\^3 particles .* found 7 \(not a cube"):
        gadget_displacements(tmp_path / "seven.hdf5", tmp_path / "seven.hdf5")
    _write_snapshot(tmp_path / "split", pos, ids, box=10.0, z=0.0, unit=3.085678e24, pieces=2)
    (tmp_path / "split.1.hdf5").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"NumFilesPerSnapshot = 2 but .*split\.1\.hdf5 is missing"
    ):
        read_gadget(tmp_path / "split.0.hdf5")
    with pytest.raises(FileNotFoundError, match=r"no such snapshot"):
        read_gadget(tmp_path / "absent")
    # IDs in the wrong (non-lattice) order: the initial snapshot is far from the ID grid
    rng = np.random.default_rng(1)
    _write_snapshot(tmp_path / "perm", pos, rng.permutation(8), box=10.0, z=9.0, unit=3.085678e24)
    with pytest.raises(ValueError, match=r"do not follow the C-order lattice"):
        gadget_displacements(tmp_path / "perm.hdf5", tmp_path / "perm.hdf5")
