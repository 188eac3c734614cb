"""`sciml reproduce --set/--setup` and the run's setup.yaml: no experiment runs here (recorders)."""

from dataclasses import replace

import pytest
import yaml

from sciml.cli import main
from sciml.experiments import burgers, graphs, kolmogorov, ks, registry
from sciml.experiments.burgers import BurgersSetup
from sciml.experiments.kolmogorov import KolmogorovSetup
from sciml.experiments.runner import finish_out_dir
from sciml.experiments.setups import load_setup_file, setup_with, write_setup
from sciml.experiments.stepper_setup import ExperimentSetup

KQ = kolmogorov.QUICK
PRESETS = {
    "kolmogorov": (kolmogorov.QUICK, kolmogorov.FULL),
    "burgers": (burgers.QUICK, burgers.FULL),
    "learned-stepper": (ks.QUICK, ks.FULL),
    "graphs": (graphs.QUICK, graphs.FULL),
}


def _error(base, *overrides, **kw):
    with pytest.raises(ValueError) as err:
        setup_with(base, overrides, **kw)
    msg = str(err.value)
    assert len(msg.splitlines()) == 1, msg
    return msg


# ---------------------------------------------------------------------------- setup_with


def test_set_errors_name_the_field_the_expected_and_found_value_and_the_fix():
    msg = _error(KQ, "nuu=0.02")
    assert msg.startswith("--set nuu=0.02: KolmogorovSetup has no field 'nuu'")
    assert "did you mean 'nu'?" in msg and "fields: nu, drag, forcing_wavenumber," in msg
    msg = _error(KQ, "nu=abc")
    assert msg == "--set nu=abc: expected a float, found 'abc'; e.g. --set nu=0.005"
    msg = _error(KQ, "nu")
    assert msg.startswith("--set nu: expected KEY=VALUE") and "e.g. --set nu=0.005" in msg
    assert "expected KEY=VALUE" in _error(KQ, "=3")
    msg = _error(KQ, "nu=[1,")
    assert "--set nu=[1,: cannot read '[1,' as a YAML value" in msg and "e.g. --set nu=" in msg
    # the argument name is the caller's
    assert _error(KQ, "nu=x", source="--regime").startswith("--regime nu=x: expected a float")


@pytest.mark.parametrize(
    "item, expected, found, example",
    [
        ("augment=1", "expected true or false", "found 1", "augment=true"),
        ("augment=0", "expected true or false", "found 0", "augment=true"),
        ("augment=yes", "expected true or false", "found 'yes'", "augment=true"),  # YAML 1.1
        ("augment=off", "expected true or false", "found 'off'", "augment=true"),
        ("n=2.5", "expected an integer", "found 2.5", "n=16"),
        ("n=true", "expected an integer", "found True", "n=16"),
        ("n=16.0", "expected an integer", "found 16.0", "n=16"),
        ("nu=true", "expected a float", "found True", "nu=0.005"),
        ("factors=4", "expected a list of integers", "found 4", "'factors=[1, 2, 4, 8]'"),
        ("factors=[1, 2.5]", "expected a list of integers", "found [1, 2.5]", "'factors=[1, 2, 4, 8]'"),
        ("spinup_n=many", "expected an integer or null", "found 'many'", "spinup_n=64"),
        ("nu=", "expected a float", "found null", "nu=0.005"),
    ],
)  # fmt: skip
def test_set_rejects_values_of_the_wrong_kind(item, expected, found, example):
    assert _error(KQ, item) == f"--set {item}: {expected}, {found}; e.g. --set {example}"


def test_set_converts_each_annotation_kind_on_kolmogorov():
    s = setup_with(
        KQ,
        [
            "nu=0.02",
            "drag=1",  # float accepts an integer
            "truth_dt=1e-3",  # YAML 1.1 reads 1e-3 as text: a float field takes it
            "forcing_wavenumber=2",
            "augment=false",
            "factors=[1, 2]",  # a YAML list becomes a tuple
            "spinup_n=null",
            "horizon=25",
        ],
    )
    assert s == replace(
        KQ,
        nu=0.02,
        drag=1.0,
        truth_dt=0.001,
        forcing_wavenumber=2,
        augment=False,
        factors=(1, 2),
        spinup_n=None,
        horizon=25.0,
    )
    assert isinstance(s, KolmogorovSetup) and isinstance(s.drag, float) and type(s.factors) is tuple
    assert setup_with(s, ["spinup_n=32", "augment=true"]).spinup_n == 32
    assert setup_with(KQ, ["spinup_n="]).spinup_n is None  # an empty value is YAML's null
    assert setup_with(KQ, ["nu=0.1", "nu=0.2"]).nu == 0.2  # the last one wins
    assert setup_with(KQ) is not None and setup_with(KQ) == KQ


def test_set_converts_strings_and_tuples_on_burgers():
    s = setup_with(burgers.QUICK, ["loss_norm=l2", "classical_factors=[1, 2, 4, 8]", "nu=0.02"])
    assert isinstance(s, BurgersSetup)
    assert (s.loss_norm, s.classical_factors, s.nu) == ("l2", (1, 2, 4, 8), 0.02)
    assert "expected a string, found 2" in _error(burgers.QUICK, "loss_norm=2")
    assert "'loss_norm=l1'" not in _error(burgers.QUICK, "loss_norm=2")  # plain example
    assert _error(burgers.QUICK, "loss_norm=2").endswith("e.g. --set loss_norm=l1")


def test_set_converts_dicts_and_nested_tuples_on_the_ks_setup():
    s = setup_with(
        ks.QUICK,
        [
            "params={nu: 1e-3, c: 2}",
            "length=[32]",
            "fine_shape=[128]",
            "classical_shapes=[[48], [64]]",
            "classical_dt=[1, 0.5]",
            "activation=tanh",
        ],
    )
    assert isinstance(s, ExperimentSetup)
    assert s.params == {"nu": 0.001, "c": 2}
    assert s.length == (32.0,) and isinstance(s.length[0], float) and s.fine_shape == (128,)
    assert s.classical_shapes == ((48,), (64,)) and s.classical_dt == (1.0, 0.5)
    assert s.activation == "tanh"
    msg = _error(ks.QUICK, "classical_shapes=[48]")
    assert "expected a list of lists of integers, found [48]" in msg
    assert "e.g. --set 'classical_shapes=[[48], [64], [96], [128]]'" in msg  # shell-quoted
    assert "expected a mapping, found 3" in _error(ks.QUICK, "params=3")


# ---------------------------------------------------------------------- setup.yaml files


@pytest.mark.parametrize("experiment", sorted(PRESETS))
@pytest.mark.parametrize("which", [0, 1], ids=["QUICK", "FULL"])
def test_written_setup_reads_back_equal(tmp_path, experiment, which):
    preset = PRESETS[experiment][which]
    path = write_setup(tmp_path, experiment=experiment, quick=not which, seed=11, setup=preset)
    assert path == tmp_path / "setup.yaml"
    text = path.read_text()
    first = text.splitlines()[0]
    assert first == f"# re-run: sciml reproduce {experiment} --setup {path} --out NEW_DIR"
    plain = yaml.safe_load(text)  # plain YAML: no Python tags
    assert list(plain) == ["experiment", "quick", "seed", "setup"]
    assert plain["experiment"] == experiment and plain["quick"] is (not which)
    other = PRESETS[experiment][1 - which]  # the file's fields, not the base, decide
    setup, seed, quick = load_setup_file(path, other, experiment=experiment)
    assert setup == preset and type(setup) is type(preset)
    assert (seed, quick) == (11, not which)


def test_setup_file_of_plain_fields(tmp_path):
    path = tmp_path / "kf2.yaml"
    path.write_text("forcing_wavenumber: 2\nnu: 2.0e-2\nfactors: [1, 2]\n")
    setup, seed, quick = load_setup_file(path, KQ, experiment="kolmogorov")
    assert setup == replace(KQ, forcing_wavenumber=2, nu=0.02, factors=(1, 2))
    assert seed is None and quick is None


def _file_error(tmp_path, text, *, experiment="kolmogorov", exc=ValueError):
    path = tmp_path / "s.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(exc) as err:
        load_setup_file(path, KQ, experiment=experiment)
    msg = str(err.value)
    assert len(msg.splitlines()) == 1 and msg.startswith(f"{path}: "), msg
    return msg


def test_setup_file_errors_name_the_file_and_the_fix(tmp_path):
    msg = _file_error(tmp_path, None, exc=FileNotFoundError)
    assert "setup file not found" in msg and "RUN_DIR/setup.yaml" in msg
    msg = _file_error(tmp_path, "- nu: 0.02\n")
    assert "expected a mapping of KolmogorovSetup fields" in msg and "found list" in msg
    assert "e.g. a line 'nu: 0.005' per field" in msg
    assert "found an empty file" in _file_error(tmp_path, "# nothing\n")
    assert "not a readable YAML file" in _file_error(tmp_path, "nu: [1,\n")
    msg = _file_error(tmp_path, "nuu: 0.02\n")
    assert "KolmogorovSetup has no field 'nuu'" in msg and "remove or rename 'nuu'" in msg
    msg = _file_error(tmp_path, "nu: abc\n")
    assert "nu: expected a float, found 'abc'; fix it in the file, e.g. 'nu: 0.005'" in msg
    run = "experiment: burgers\nquick: true\nseed: 0\nsetup: {nu: 0.02}\n"
    msg = _file_error(tmp_path, run)
    assert "the setup of a 'burgers' run, expected one of 'kolmogorov'" in msg
    assert "sciml reproduce burgers --setup" in msg
    msg = _file_error(tmp_path, "experiment: kolmogorov\nsed: 1\nsetup: {nu: 0.02}\n")
    assert "unknown key 'sed'" in msg and "experiment, quick, seed, setup" in msg
    msg = _file_error(tmp_path, "experiment: kolmogorov\nseed: 1.5\nsetup: {}\n")
    assert "seed: expected an integer, found 1.5" in msg
    msg = _file_error(tmp_path, "experiment: kolmogorov\nquick: 1\nsetup: {}\n")
    assert "quick: expected true or false, found 1" in msg
    msg = _file_error(tmp_path, "experiment: kolmogorov\nsetup: [1]\n")
    assert "setup: expected a mapping of KolmogorovSetup fields, found [1]" in msg
    with pytest.raises(ValueError, match="is a directory"):
        load_setup_file(tmp_path, KQ, experiment="kolmogorov")


@pytest.mark.parametrize("experiment", sorted(PRESETS))
def test_each_reproduction_writes_its_setup_right_after_preparing_the_out_dir(
    tmp_path, monkeypatch, experiment
):
    """The real reproduce function, stopped right after it wrote setup.yaml: nothing trains."""
    module_name, _ = registry.EXPERIMENTS[experiment]
    module = __import__(module_name, fromlist=["reproduce"])
    real = module.write_setup

    class Stop(Exception):
        pass

    def write_then_stop(*args, **kwargs):
        real(*args, **kwargs)
        raise Stop

    monkeypatch.setattr(module, "write_setup", write_then_stop)
    preset = PRESETS[experiment][0]
    small = replace(preset, n_test=3)
    out = tmp_path / "run"
    with pytest.raises(Stop):
        registry.get(experiment)(out, quick=True, seed=5, setup=small)
    assert load_setup_file(out / "setup.yaml", preset, experiment=experiment) == (small, 5, True)
    assert "setup.yaml" in finish_out_dir(out)  # in the marker: --overwrite replaces it


# --------------------------------------------------------------------------------- CLI


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Replace every reproduction by a recorder of its arguments."""
    recorded = []

    def recorder(out, **kwargs):
        recorded.append({"out": out, **kwargs})
        return {}

    monkeypatch.setattr("sciml.commands.reproduce.get", lambda name: recorder)
    monkeypatch.chdir(tmp_path)
    return recorded


def test_cli_set_applies_to_the_chosen_preset(calls):
    argv = ["reproduce", "kolmogorov", "--quick", "--set", "forcing_wavenumber=2"]
    assert main([*argv, "--set", "nu=0.02", "--set", "horizon=25", "--out", "kf2"]) == 0
    (call,) = calls
    assert call["setup"] == replace(KQ, forcing_wavenumber=2, nu=0.02, horizon=25.0)
    assert (call["seed"], call["quick"], call["out"]) == (0, True, "kf2")
    assert main(["reproduce", "burgers", "--set", "loss_norm=l2", "--seed", "4"]) == 0
    assert calls[1]["setup"] == replace(burgers.FULL, loss_norm="l2")
    assert (calls[1]["seed"], calls[1]["quick"], calls[1]["out"]) == (4, False, "runs/burgers")


def test_cli_without_set_or_setup_passes_no_setup(calls):
    assert main(["reproduce", "graphs", "--quick"]) == 0
    assert main(["reproduce", "fastmri"]) == 0
    assert calls == [
        {"out": "runs/graphs-quick", "quick": True, "seed": 0, "overwrite": False},
        {"out": "runs/fastmri", "quick": False, "seed": 0, "overwrite": False},
    ]


def test_cli_order_is_preset_then_file_then_set_and_the_seed_rule(calls, tmp_path):
    used = replace(KQ, nu=0.03, horizon=9.0, n_test=4)
    run_file = write_setup(tmp_path, experiment="kolmogorov", quick=True, seed=7, setup=used)
    # the file alone re-runs the run: its setup, seed and quick flag (which names the default out)
    assert main(["reproduce", "kolmogorov", "--setup", str(run_file)]) == 0
    assert calls[-1]["setup"] == used
    assert (calls[-1]["seed"], calls[-1]["quick"]) == (7, True)
    assert calls[-1]["out"] == "runs/kolmogorov-quick"
    # --set wins over the file, an explicit --seed over the file's
    argv = ["reproduce", "kolmogorov", "--setup", str(run_file), "--set", "nu=0.04"]
    assert main([*argv, "--seed", "3"]) == 0
    assert calls[-1]["setup"] == replace(used, nu=0.04) and calls[-1]["seed"] == 3
    # a plain file of fields: no seed (0) and no quick flag (the full preset under its fields)
    plain = tmp_path / "fields.yaml"
    plain.write_text("nu: 0.03\n")
    assert main(["reproduce", "kolmogorov", "--setup", str(plain), "--set", "n_test=5"]) == 0
    assert calls[-1]["setup"] == replace(kolmogorov.FULL, nu=0.03, n_test=5)
    assert (calls[-1]["seed"], calls[-1]["quick"]) == (0, False)
    # --quick picks the quick preset under a file that says quick: false
    full_file = tmp_path / "full" / "setup.yaml"
    full_file.parent.mkdir()
    write_setup(full_file.parent, experiment="kolmogorov", quick=False, seed=2, setup=used)
    full_file.write_text(full_file.read_text().replace("  n_test: 4\n", ""))
    assert main(["reproduce", "kolmogorov", "--quick", "--setup", str(full_file)]) == 0
    assert calls[-1]["setup"] == replace(used, n_test=KQ.n_test) and calls[-1]["quick"] is True
    assert main(["reproduce", "kolmogorov", "--setup", str(full_file)]) == 0
    assert calls[-1]["setup"] == replace(used, n_test=kolmogorov.FULL.n_test)
    assert (calls[-1]["seed"], calls[-1]["quick"]) == (2, False)


def test_cli_errors_are_one_line(calls, capsys, tmp_path):
    assert main(["reproduce", "fastmri", "--set", "volumes=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sciml reproduce: error: --set: ")
    assert "the fastmri reproduction has no setup fields to change" in err
    assert "--set and --setup apply to burgers, graphs, kolmogorov, learned-stepper" in err
    assert main(["reproduce", "lista", "--setup", "x.yaml"]) == 2
    assert "error: --setup: the lista reproduction" in capsys.readouterr().err
    assert main(["reproduce", "kolmogorov", "--quick", "--set", "nu=abc"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "sciml reproduce: error: --set nu=abc: expected a float, found 'abc'; e.g. --set nu=0.005"
    )
    missing = tmp_path / "nope.yaml"
    assert main(["reproduce", "burgers", "--setup", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{missing}: setup file not found" in err
    other = write_setup(tmp_path, experiment="burgers", quick=True, seed=0, setup=burgers.QUICK)
    assert main(["reproduce", "kolmogorov", "--setup", str(other)]) == 2
    assert "the setup of a 'burgers' run" in capsys.readouterr().err
    assert calls == []
