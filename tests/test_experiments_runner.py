"""The out-directory rule of every reproduction: only what the library wrote is ever deleted."""

import json

import pytest

from sciml.cli import main
from sciml.experiments.runner import MARKER, finish_out_dir, prepare_out_dir


def _fake_run(out, name="kolmogorov"):
    """A reproduction's writes: the marker, data/, a run file and a summary."""
    out = prepare_out_dir(out, name=name, overwrite=False)
    (out / "data" / "train.nc").write_text("data")
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / "1").write_text("ckpt")
    (out / "summary.json").write_text("{}")
    finish_out_dir(out)
    return out


def test_a_directory_without_the_marker_is_never_used_or_deleted(tmp_path, capsys):
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    (proj / "runs").mkdir()
    (proj / "data" / "scan.h5").write_text("user data")
    (proj / "runs" / "notes.txt").write_text("user notes")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="was not created by `sciml reproduce`") as err:
            prepare_out_dir(proj, name="fastmri", overwrite=overwrite)
        assert "earlier" not in str(err.value)  # makes no claim of an earlier reproduction
    # the CLI case of the data-loss bug: fastmri --overwrite into a user's project folder
    code = main(["reproduce", "fastmri", "--quick", "--out", str(proj), "--overwrite"])
    assert code == 2
    msg = capsys.readouterr().err.strip()
    assert "not created by `sciml reproduce`" in msg and len(msg.splitlines()) == 1
    assert (proj / "data" / "scan.h5").read_text() == "user data"
    assert (proj / "runs" / "notes.txt").read_text() == "user notes"
    assert not (proj / MARKER).exists()


def test_overwrite_deletes_only_what_the_earlier_run_wrote(tmp_path, capsys):
    out = _fake_run(tmp_path / "run")
    marker = json.loads((out / MARKER).read_text())
    assert marker["written"] == ["checkpoints", "data", "summary.json"]
    assert marker["reproduce"] == "kolmogorov"
    (out / "my_analysis.ipynb").write_text("user file added after the run")
    with pytest.raises(FileExistsError, match="holds an earlier kolmogorov reproduction run"):
        prepare_out_dir(out, name="kolmogorov", overwrite=False)
    capsys.readouterr()
    prepare_out_dir(out, name="kolmogorov", overwrite=True)
    assert (out / "my_analysis.ipynb").read_text() == "user file added after the run"
    assert not (out / "checkpoints").exists() and not (out / "summary.json").exists()
    assert sorted(p.name for p in (out / "data").iterdir()) == []
    err = capsys.readouterr().err
    assert "kept 1 entry it did not write: my_analysis.ipynb" in err
    # the kept file stays foreign in the new run: a second overwrite keeps it again
    (out / "summary.json").write_text("{}")
    assert finish_out_dir(out) == ["data", "summary.json"]
    prepare_out_dir(out, name="kolmogorov", overwrite=True)
    assert (out / "my_analysis.ipynb").is_file() and not (out / "summary.json").exists()


def test_an_interrupted_run_deletes_what_appeared_after_it_started(tmp_path):
    out = _fake_run(tmp_path / "run")
    (out / "keep.txt").write_text("user")
    prepare_out_dir(out, name="ks", overwrite=True)  # keep.txt is foreign now
    (out / "summary.json").write_text("{}")  # ... then the run is killed before finishing
    assert json.loads((out / MARKER).read_text())["written"] is None
    prepare_out_dir(out, name="ks", overwrite=True)
    assert (out / "keep.txt").is_file() and not (out / "summary.json").exists()


def test_empty_or_missing_directories_are_used_and_bad_markers_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    for d in ("empty", "new/nested"):
        out = prepare_out_dir(tmp_path / d, name="fastmri", overwrite=False)
        assert (out / MARKER).is_file() and (out / "data").is_dir()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / MARKER).write_text("not json")
    (bad / "x").write_text("?")
    with pytest.raises(FileExistsError, match=r"unreadable.*refusing to delete anything"):
        prepare_out_dir(bad, name="fastmri", overwrite=True)
    assert (bad / "x").is_file()
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError, match="exists and is not a directory"):
        prepare_out_dir(tmp_path / "file", name="fastmri", overwrite=True)


def test_old_reproduction_paths_are_deprecated_aliases():
    from sciml.experiments import fastmri, ks, registry, runner

    with pytest.warns(DeprecationWarning, match="reproduce_ks.reproduce_learned_stepper moved"):
        from sciml.stepper.reproduce_ks import reproduce_learned_stepper
    assert reproduce_learned_stepper is ks.reproduce is registry.get("learned-stepper")
    with pytest.warns(DeprecationWarning, match="sciml.mri.reproduce.reproduce_fastmri moved"):
        from sciml.mri.reproduce import reproduce_fastmri
    assert reproduce_fastmri is fastmri.reproduce
    with pytest.warns(DeprecationWarning, match="sciml.stepper.report.prepare_out_dir moved"):
        from sciml.stepper.report import prepare_out_dir as old
    assert old is runner.prepare_out_dir
    with pytest.raises(
        ValueError,
        match="experiment: expected one of fastmri, kolmogorov, learned-stepper, found 'nope'",
    ):
        registry.get("nope")
