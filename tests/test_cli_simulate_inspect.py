"""`sciml inspect`: trajectory files of every layout, generic HDF5 (fastMRI-like), run dirs."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import sciml.datasets.inspect as inspect_cmd
from sciml.datasets import write_trajectories
from sciml.solvers import Grid

from sciml.cli import main


def _inspect(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["inspect", *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_trajectory_file_summary(tmp_path, capsys):
    data = np.random.default_rng(0).standard_normal((3, 4, 8, 2)).astype(np.float32)
    path = tmp_path / "t.nc"
    write_trajectories(path, data, fields=("u", "v"), grid=Grid((8,), (2.0,)),
                       times=np.arange(4) * 0.5, units={"u": "m/s", "x": "m", "t": "s"},
                       attrs={"equation": "toy", "seed": 5})  # fmt: skip
    rc, out, _ = _inspect(capsys, str(path))
    assert rc == 0
    assert "(layout: sciml)" in out and "  sample: 3" in out and "  x: 8" in out
    assert "u ('sample', 'time', 'x') (3, 4, 8) float32 [m/s]" in out
    u = data[..., 0].astype(np.float64)
    assert f"min {u.min():.6g}  max {u.max():.6g}  mean {u.mean():.6g}" in out
    assert "time ('time',) float64 0 .. 1.5  [s]" in out
    assert "equation = toy" in out and "seed = 5" in out
    rc, out, _ = _inspect(capsys, str(path), "--no-stats")
    assert rc == 0 and "min " not in out


def test_value_ranges_are_computed_block_by_block(monkeypatch):
    data = np.random.default_rng(1).standard_normal((5, 6, 7)).astype(np.float32)
    data[2, 3, 4] = np.nan
    reads = []

    def read(key):
        reads.append(key)
        return data[key]

    monkeypatch.setattr(inspect_cmd, "_BLOCK_BYTES", 7 * 4 * 2)  # two rows of 7 floats
    r = inspect_cmd.value_ranges(read, data.shape, data.dtype)
    finite = data[np.isfinite(data)].astype(np.float64)
    np.testing.assert_allclose([r["min"], r["max"]], [finite.min(), finite.max()], rtol=0)
    np.testing.assert_allclose(r["mean"], finite.mean(), rtol=1e-12)
    assert r["nonfinite"] == 1 and r["count"] == data.size - 1
    assert len(reads) == 5 * 3  # 5 x 6 rows of 7 values, two rows per block
    covered = np.zeros(data.shape, dtype=int)
    for key in reads:
        covered[key] += 1
    np.testing.assert_array_equal(covered, 1)


def test_pdebench_file_and_nan_report(tmp_path, capsys):
    path = tmp_path / "1D_Advection_Sols_beta0.1.hdf5"
    tensor = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    tensor[1, 2, 3] = np.inf
    with h5py.File(path, "w") as f:
        f["tensor"] = tensor
        f["x-coordinate"] = (np.arange(4) + 0.5) / 4
        f["t-coordinate"] = np.arange(4) * 0.5
        f.attrs["beta"] = 0.1
    rc, out, _ = _inspect(capsys, str(path))
    assert rc == 0 and "(layout: pdebench)" in out and "source_layout = tensor" in out
    assert "min 0  max 22  mean 11  NaN/Inf: 1" in out and "beta = 0.1" in out


def test_generic_hdf5_tree_for_fastmri_like_files(tmp_path, capsys):
    path = tmp_path / "file1000001.h5"
    rng = np.random.default_rng(2)
    kspace = (rng.standard_normal((2, 4, 6)) + 1j * rng.standard_normal((2, 4, 6))).astype(
        np.complex64
    )
    with h5py.File(path, "w") as f:
        f["kspace"] = kspace
        f["reconstruction_esc"] = np.ones((2, 3, 3), np.float32)
        f["ismrmrd_header"] = np.bytes_(b"<ismrmrdHeader>" + b"x" * 500 + b"</ismrmrdHeader>")
        f.attrs.update({"acquisition": "CORPD_FBK", "max": 1.0, "patient_id": "abc"})
    rc, out, _ = _inspect(capsys, str(path), "--attr-chars", "40")
    assert rc == 0 and "(generic HDF5)" in out
    assert "kspace (2, 4, 6) complex64" in out and "@acquisition = CORPD_FBK" in out
    mag = np.abs(kspace).astype(np.float64)
    assert f"|z|: min {mag.min():.6g}  max {mag.max():.6g}" in out
    assert "reconstruction_esc (2, 3, 3) float32" in out and "min 1  max 1  mean 1" in out


def test_run_directory(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("model: tendency\nsteps: 200\n")
    for step in ("200", "1000"):
        (tmp_path / "checkpoints" / step).mkdir(parents=True)
    lines = [json.dumps({"step": i, "loss": 1.0 / (i + 1)}) for i in range(10)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    rc, out, _ = _inspect(capsys, str(tmp_path), "--lines", "3")
    assert rc == 0 and "(run directory)" in out and "checkpoints/" in out
    assert "checkpoints: 200, 1000" in out
    assert "  steps: 200" in out and "metrics.jsonl (last 3 of 10 lines)" in out
    assert lines[-1] in out and lines[-3] in out and lines[-4] not in out


def test_bad_files_are_one_line_errors(tmp_path, capsys):
    path = tmp_path / "t.nc"
    data = np.zeros((4, 8, 64, 1), np.float32)
    write_trajectories(path, data, fields=("u",), grid=Grid((64,), (1.0,)), times=np.arange(8))
    raw = path.read_bytes()
    (tmp_path / "cut.nc").write_bytes(raw[: len(raw) // 2])
    rc, _, err = _inspect(capsys, str(tmp_path / "cut.nc"))
    assert rc == 2 and err.count("\n") == 1
    assert "cut.nc: not a readable HDF5/netCDF4 file" in err and "truncated" in err
    rc, _, err = _inspect(capsys, str(tmp_path / "none.nc"))
    assert rc == 2 and "none.nc: no such file" in err


@pytest.mark.parametrize("budget", [1, 100, 10**9])
def test_blocks_cover_every_element_once(budget):
    shape = (3, 4, 5)
    covered = np.zeros(shape, dtype=int)
    for key in inspect_cmd._blocks(shape, 4, budget):
        covered[key] += 1
    np.testing.assert_array_equal(covered, 1)


def test_describe_is_a_library_function_writing_to_any_stream(tmp_path):
    import io

    (tmp_path / "config.yaml").write_text("steps: 3\n")
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n')
    buf = io.StringIO()
    inspect_cmd.describe(tmp_path, lines=1, out=buf)
    text = buf.getvalue()
    assert "(run directory)" in text and "  steps: 3" in text
    assert "metrics.jsonl (last 1 of 2 lines):" in text and '{"step": 2}' in text
    with pytest.warns(DeprecationWarning, match="sciml.commands.inspect.value_ranges moved"):
        from sciml.commands.inspect import value_ranges
    assert value_ranges is inspect_cmd.value_ranges
